import numpy as np

from kneeback.pose.estimator import PersonPose
from kneeback.pose.tracking import track_people


def _person(cx, cy, size):
    rng = np.random.default_rng(0)
    pts = np.column_stack(
        [cx + rng.uniform(-0.2, 0.2, 33) * size, cy + rng.uniform(-0.5, 0.5, 33) * size]
    )
    return PersonPose(pts, np.full(33, 0.9), None)


def test_main_subject_is_largest_and_longest_seen_whatever_the_output_order():
    frames = []
    for t in range(60):
        big = _person(300 + t, 500, 400)  # walks slowly to the right, in every frame
        small = _person(900, 300 + t, 100)  # smaller, only in the first half
        people = [big, small] if t < 30 else [big]
        if t % 2:
            people = people[::-1]  # the detector's order is not stable
        frames.append(people)
    summary = track_people(frames)
    assert summary.people_seen == 2
    assert summary.max_people_in_frame == 2
    main = summary.tracks[0]
    assert main.frames == 60
    xs = [main.poses[t].position_px[:, 0].mean() for t in range(60)]
    assert np.all(np.diff(xs) > 0)  # never switched to the other person


def test_short_spurious_detections_do_not_count_as_people():
    frames = [[_person(300, 500, 400)] for _ in range(30)]
    frames[10] = [*frames[10], _person(50, 50, 30)]
    summary = track_people(frames)
    assert summary.people_seen == 1
    assert summary.max_people_in_frame == 2


def test_gap_in_detection_keeps_one_track():
    frames = [[_person(300, 500, 400)] if not 10 <= t < 15 else [] for t in range(40)]
    summary = track_people(frames)
    assert len(summary.tracks) == 1
    assert summary.tracks[0].frames == 35


def test_nobody_gives_no_tracks():
    assert track_people([[] for _ in range(10)]).tracks == []


def test_person_leaving_and_returning_is_one_track():
    frames = [[_person(300, 500, 400)] if not 10 <= t < 40 else [] for t in range(60)]
    summary = track_people(frames)
    assert summary.people_seen == 1
    assert summary.tracks[0].frames == 30


def test_fragments_far_apart_stay_apart_when_several_people_are_in_view():
    frames = []
    for t in range(60):
        people = [_person(300, 500, 400)]
        if t < 20:
            people.append(_person(1500, 500, 300))
        if t >= 40:
            people.append(_person(3000, 500, 300))  # someone else, far away, later
        frames.append(people)
    summary = track_people(frames)
    assert summary.people_seen == 3
    assert summary.tracks[0].frames == 60
