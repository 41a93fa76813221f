"""Pose estimation: the MediaPipe pose model, its provisioning and per-frame landmarks."""
