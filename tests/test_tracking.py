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


def test_a_person_the_detector_misses_now_and_then_is_still_in_view():
    # A is in view throughout but detected only in every third frame of the second half (the
    # detector's history differs when a video is split between workers); B, as large, is in
    # view for 140 frames and always detected. A was in view longer: A is the subject.
    frames = []
    for t in range(200):
        people = []
        if t < 100 or t % 3 == 0:
            people.append(_person(300, 500, 300))
        if 40 <= t < 180:
            people.append(_person(1200, 500, 300))
        frames.append(people)
    summary = track_people(frames, max_age_frames=15)
    main = summary.tracks[0]
    assert min(main.poses) == 0 and max(main.poses) >= 198
    assert summary.tracks[1].frames == 140


def test_a_fragment_rejoins_the_track_it_continues():
    # The left person is lost for 30 frames and comes back where they were; meanwhile a larger
    # person passes close by and leaves. The returning fragment joins the left person's track,
    # whose end it meets exactly, not the passer-by's (which scores higher and is also near).
    frames = []
    for t in range(100):
        people = [_person(1500, 500, 400)]  # someone else in view all along
        if not 40 <= t < 70:
            people.append(_person(400, 500, 300))
        if 45 <= t < 66:
            people.append(_person(950, 500, 600))
        frames.append(people)
    summary = track_people(frames)
    left = next(tr for tr in summary.tracks if 0 in tr.poses and tr.poses[0].bbox()[2] < 1000)
    assert sorted(left.poses) == [t for t in range(100) if not 40 <= t < 70]
