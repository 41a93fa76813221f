"""The pose loop most tutorials show, run as a program: `python naive_loop.py VIDEO MODEL OUT.npy`.

OpenCV reads each frame, converts BGR to RGB and hands it to ``PoseLandmarker.detect_for_video``
in one thread; the first person's landmarks (pixels) are saved for comparison, NaN where none.
"""

import sys

import cv2
import mediapipe as mp
import numpy as np
from mediapipe.tasks.python import BaseOptions
from mediapipe.tasks.python.vision import PoseLandmarker, PoseLandmarkerOptions, RunningMode


def main() -> None:
    video, model, out = sys.argv[1:4]
    options = PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=model), running_mode=RunningMode.VIDEO
    )
    landmarks = []
    with PoseLandmarker.create_from_options(options) as landmarker:
        cap = cv2.VideoCapture(video)
        fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
        i = 0
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
            result = landmarker.detect_for_video(image, int(i * 1000 / fps))
            h, w = rgb.shape[:2]
            if result.pose_landmarks:
                landmarks.append([(p.x * w, p.y * h) for p in result.pose_landmarks[0]])
            else:
                landmarks.append(np.full((33, 2), np.nan))
            i += 1
        cap.release()
    np.save(out, np.asarray(landmarks, dtype=np.float64))


if __name__ == "__main__":
    main()
