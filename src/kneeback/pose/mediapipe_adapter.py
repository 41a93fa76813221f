"""MediaPipe Tasks ``PoseLandmarker`` as a :class:`~kneeback.pose.estimator.PoseEstimator`.

The only module that imports ``mediapipe``. It runs the landmarker in VIDEO mode, which tracks
people between frames, and converts MediaPipe's normalised image coordinates to pixels of the full
upright frame (x scaled by the width, y by the height) once, here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kneeback.pose.estimator import PersonPose
from kneeback.settings import PoseSettings
from kneeback.skeletons import BLAZEPOSE_KEYPOINTS

__all__ = ["MediaPipePoseEstimator", "landmarks_to_arrays"]


def landmarks_to_arrays(landmarks: object, /) -> tuple[np.ndarray, np.ndarray]:
    """Convert one person's landmark list to arrays.

    Parameters
    ----------
    landmarks
        A sequence of MediaPipe landmarks (objects with ``x``, ``y``, ``z`` and ``visibility``).

    Returns
    -------
    xyz : numpy.ndarray
        Shape (K, 3) of the landmark coordinates as MediaPipe gives them.
    visibility : numpy.ndarray
        Shape (K,) of visibilities in [0, 1].
    """
    items = list(landmarks)  # type: ignore[call-overload]
    xyz = np.array([(lm.x, lm.y, lm.z) for lm in items], dtype=np.float64)
    vis = np.array([lm.visibility if lm.visibility is not None else np.nan for lm in items])
    return xyz, np.clip(vis.astype(np.float64), 0.0, 1.0)


class MediaPipePoseEstimator:
    """BlazePose GHUM 3D through MediaPipe Tasks, running mode VIDEO.

    Looking for several people makes the landmarker run its detector on every frame in which
    fewer than that many are tracked, which costs about half as much again per frame. Most clips
    show one person, so the estimator tracks one person and scans for others: on the first frame
    and every ``scan_interval_s`` an IMAGE-mode landmarker looks for a second person, with
    low confidence thresholds so that small or partly hidden people are not missed (on the VP9
    multi-person clip, a scan at the default thresholds sees them in 7 % of frames, at the scan
    thresholds in 56 %; no false second person on the single-person clips). As soon as a scan
    finds more than one person, it switches to tracking up to ``max_people`` for the rest of
    the stream, at the normal thresholds.

    Parameters
    ----------
    model_path
        The ``.task`` file (see :mod:`kneeback.pose.models`).
    settings
        Confidence thresholds and the number of people to look for.
    scan_model_path
        Model for the scans that only count people (the lite variant is enough and is about
        three times faster); the main model by default.
    """

    keypoints: tuple[str, ...] = BLAZEPOSE_KEYPOINTS

    def __init__(
        self,
        model_path: str | Path,
        /,
        *,
        settings: PoseSettings | None = None,
        scan_model_path: str | Path | None = None,
    ) -> None:
        import mediapipe as mp
        from mediapipe.tasks.python import BaseOptions
        from mediapipe.tasks.python.vision import (
            PoseLandmarker,
            PoseLandmarkerOptions,
            RunningMode,
        )

        settings = settings or PoseSettings()
        self._mp = mp
        self._settings = settings

        def create(
            mode: RunningMode,
            num_poses: int,
            path: str | Path = model_path,
            detection: float = settings.min_detection_confidence,
            presence: float = settings.min_presence_confidence,
        ) -> PoseLandmarker:
            options = PoseLandmarkerOptions(
                base_options=BaseOptions(model_asset_path=str(path)),
                running_mode=mode,
                num_poses=num_poses,
                min_pose_detection_confidence=detection,
                min_pose_presence_confidence=presence,
                min_tracking_confidence=settings.min_tracking_confidence,
                output_segmentation_masks=False,
            )
            return PoseLandmarker.create_from_options(options)

        self._create = create
        self._video_mode = RunningMode.VIDEO
        self._num_poses = 1
        self._landmarker = create(RunningMode.VIDEO, 1)
        self._scanner = (
            create(
                RunningMode.IMAGE,
                2,  # a scan only asks "more than one?"
                scan_model_path or model_path,
                settings.scan_detection_confidence,
                settings.scan_presence_confidence,
            )
            if settings.max_people > 1
            else None
        )
        self._next_scan_s = -np.inf
        self._last_ms = -1
        self.description = f"MediaPipe PoseLandmarker {mp.__version__} ({Path(model_path).name})"

    def estimate(
        self, image: np.ndarray, /, *, time_s: float, full_size: tuple[int, int]
    ) -> list[PersonPose]:
        """Return the people found in one frame (see :class:`PoseEstimator`)."""
        # VIDEO mode needs strictly increasing integer milliseconds.
        ms = max(self._last_ms + 1, round(time_s * 1000.0))
        self._last_ms = ms
        frame = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=image)
        if self._scanner is not None and time_s >= self._next_scan_s:
            self._next_scan_s = time_s + self._settings.scan_interval_s
            if len(self._scanner.detect(frame).pose_landmarks) > 1:
                self._landmarker.close()
                self._num_poses = self._settings.max_people
                self._landmarker = self._create(self._video_mode, self._num_poses)
                self._scanner.close()
                self._scanner = None
        result = self._landmarker.detect_for_video(frame, ms)
        scale = np.asarray(full_size, dtype=np.float64)
        people = []
        for i, landmarks in enumerate(result.pose_landmarks):
            xyz, vis = landmarks_to_arrays(landmarks)
            world = None
            if i < len(result.pose_world_landmarks):
                world, _ = landmarks_to_arrays(result.pose_world_landmarks[i])
            people.append(PersonPose(xyz[:, :2] * scale, vis, world))
        return people

    def close(self) -> None:
        """Release the landmarkers."""
        self._landmarker.close()
        if self._scanner is not None:
            self._scanner.close()

    def __enter__(self) -> MediaPipePoseEstimator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
