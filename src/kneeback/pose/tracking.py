"""Follow people across frames and choose the main subject.

The landmarker reports the people of each frame in no stable order. Tracks are built by matching
each frame's people to the tracks seen in the last few frames (Hungarian assignment on the distance
between bounding-box centres, relative to the person's size). The main subject is the track with the
highest :attr:`Track.score`, typical size times time in view: the person who is both largest and in
view longest.

A person who leaves the view, or is missed for a while, comes back as a new track. Fragments that
never overlap in time are joined again: all of them when nobody else was ever in view, and
otherwise those whose ends lie within ``max_rejoin`` body sizes of each other.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from kneeback.pose.estimator import PersonPose

__all__ = ["Track", "TrackingSummary", "track_people"]


@dataclass
class Track:
    """One person followed over frames: frame index -> pose."""

    track_id: int
    poses: dict[int, PersonPose] = field(default_factory=dict)

    @property
    def frames(self) -> int:
        """Number of frames in which the person was seen."""
        return len(self.poses)

    @property
    def score(self) -> float:
        """Typical size times time in view: large and long-seen people score high.

        The median bounding-box area, times the frames from the first sighting to the last.
        Gaps count as in view up to as many frames as the person was seen: the detector misses
        a small or partly hidden person now and then, and how often depends on its history (it
        differs when a video is split between workers), not on whether the person was there.
        """
        areas = []
        for pose in self.poses.values():
            x0, y0, x1, y1 = pose.bbox()
            if np.isfinite(x0):
                areas.append((x1 - x0) * (y1 - y0))
        if not areas:
            return 0.0
        frames = sorted(self.poses)
        span = frames[-1] - frames[0] + 1
        return float(np.median(areas)) * min(span, 2 * len(frames))


@dataclass(frozen=True)
class TrackingSummary:
    """Tracks sorted from the main subject down, and how many people were seen."""

    tracks: list[Track]
    max_people_in_frame: int
    people_seen: int


def _centre_and_size(pose: PersonPose) -> tuple[np.ndarray, float]:
    x0, y0, x1, y1 = pose.bbox()
    return np.array([(x0 + x1) / 2, (y0 + y1) / 2]), float(np.hypot(x1 - x0, y1 - y0))


def track_people(
    frames: Sequence[Sequence[PersonPose]],
    /,
    *,
    max_jump: float = 0.5,
    max_age_frames: int = 15,
    min_track_frames: int = 5,
    max_rejoin: float = 1.0,
) -> TrackingSummary:
    """Link each frame's people into tracks.

    Parameters
    ----------
    frames
        For each frame in time order, the people found in it.
    max_jump
        Largest centre displacement between matched detections, as a fraction of the person's
        bounding-box diagonal.
    max_age_frames
        A track not seen for this many frames is closed.
    min_track_frames
        Tracks shorter than this count neither as subjects nor as people seen (spurious
        detections), unless no track is this long: then every track counts.
    max_rejoin
        Largest jump, in body sizes, across which two fragments of one person are joined when
        several people were in view.

    Returns
    -------
    TrackingSummary
        Tracks sorted by :attr:`Track.score`, highest (the main subject) first.
    """
    tracks: list[Track] = []
    last_seen: dict[int, int] = {}
    max_in_frame = 0
    for t, people in enumerate(frames):
        valid = [p for p in people if np.isfinite(p.bbox()[0])]
        max_in_frame = max(max_in_frame, len(valid))
        active = [tr for tr in tracks if t - last_seen[tr.track_id] <= max_age_frames]
        matched: set[int] = set()
        if active and valid:
            cost = np.full((len(active), len(valid)), np.inf)
            for i, tr in enumerate(active):
                c0, s0 = _centre_and_size(tr.poses[last_seen[tr.track_id]])
                for j, p in enumerate(valid):
                    c1, s1 = _centre_and_size(p)
                    cost[i, j] = np.linalg.norm(c1 - c0) / max(s0, s1, 1e-6)
            finite_cost = np.where(np.isfinite(cost), cost, 1e6)
            rows, cols = linear_sum_assignment(finite_cost)
            for i, j in zip(rows, cols, strict=True):
                if cost[i, j] <= max_jump:
                    active[i].poses[t] = valid[j]
                    last_seen[active[i].track_id] = t
                    matched.add(j)
        for j, p in enumerate(valid):
            if j not in matched:
                tr = Track(len(tracks), {t: p})
                tracks.append(tr)
                last_seen[tr.track_id] = t
    # In a clip too short for any track to reach min_track_frames, every sighting counts: the
    # person followed is then also a person seen.
    real = [tr for tr in tracks if tr.frames >= min_track_frames] or tracks
    merged = _rejoin(real, max_rejoin=math.inf if max_in_frame <= 1 else max_rejoin)
    merged.sort(key=lambda tr: tr.score, reverse=True)
    return TrackingSummary(merged, max_in_frame, len(merged))


def _rejoin(tracks: list[Track], *, max_rejoin: float) -> list[Track]:
    """Join track fragments that do not overlap in time and meet in space.

    The two fragments that meet most closely (smallest jump from one's end to the other's
    start) are joined first, and so on while a jump is within ``max_rejoin``: a person who is
    lost for a moment rejoins their own track even when someone else passed nearby meanwhile.
    """
    kept = list(tracks)
    while True:
        best: tuple[float, int, int] | None = None
        for i, a in enumerate(kept):
            for j in range(i + 1, len(kept)):
                jump = _gap_jump(a, kept[j])
                if jump <= max_rejoin and (best is None or jump < best[0]):
                    best = (jump, i, j)
        if best is None:
            return kept
        _, i, j = best
        kept[i].poses = dict(sorted({**kept[i].poses, **kept[j].poses}.items()))
        del kept[j]


def _gap_jump(a: Track, b: Track) -> float:
    """Centre distance across the gap between two tracks, relative to the larger body size.

    Infinite if the tracks interleave in time.
    """
    a_frames, b_frames = sorted(a.poses), sorted(b.poses)
    if a_frames[-1] < b_frames[0]:
        p, q = a.poses[a_frames[-1]], b.poses[b_frames[0]]
    elif b_frames[-1] < a_frames[0]:
        p, q = b.poses[b_frames[-1]], a.poses[a_frames[0]]
    else:
        return math.inf
    (c0, s0), (c1, s1) = _centre_and_size(p), _centre_and_size(q)
    return float(np.linalg.norm(c1 - c0) / max(s0, s1, 1e-6))
