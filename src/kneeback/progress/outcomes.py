"""Outcome measures judged against published norms (REFERENCES.md, "Reference values").

- Oswestry Disability Index (ODI): ten sections scored 0-5; score = 100 x sum / (5 x answered),
  one section may be skipped (Fairbank & Pynsent 2000). Bands 0-20 minimal, 21-40 moderate,
  41-60 severe, 61-80 crippled, 81-100 bed-bound; a change is meaningful at >= 10 points or
  >= 30 % of the earlier score (Ostelo et al. 2008).
- Five-times sit-to-stand (5xSTS): worse than average above 11.4 s (60-69 y), 12.6 s (70-79 y),
  14.8 s (80-89 y) (Bohannon 2006); functional impairment bands measured in patients with lumbar
  degenerative disease: none <= 10.4 s, mild 10.5-15.2, moderate 15.3-22, severe > 22 s
  (Klukowska et al. 2020; Staartjes 2018).
- 30-second chair stand: below average under the CDC STEADI cut-offs by age band and sex
  (Rikli & Jones 1999).

Pure functions: values in, :class:`Judgement` out. Nothing here promises relief or predicts harm.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from kneeback.assess.critique import CHAIR_STAND_30S_NORMS, FIVE_TIMES_STS_NORMS_S
from kneeback.errors import BadValueError

__all__ = [
    "CHAIR_STAND_BELOW_AVERAGE",
    "FIVE_STS_AGE_NORMS",
    "FIVE_STS_IMPAIRMENT",
    "ODI_BANDS",
    "OUTCOME_KINDS",
    "OUTCOME_LABELS",
    "Judgement",
    "OutcomeKind",
    "check_outcome",
    "judge",
    "judge_chair_stand",
    "judge_five_sts",
    "judge_odi",
    "odi_change",
    "odi_score",
    "parse_odi",
]

OutcomeKind = Literal["odi", "five_sts", "chair_stand_30s"]
OUTCOME_KINDS: tuple[str, ...] = ("odi", "five_sts", "chair_stand_30s")
#: Outcome kinds' names for people and the unit their values are shown with.
OUTCOME_LABELS: dict[str, tuple[str, str]] = {
    "odi": ("ODI", " %"),
    "five_sts": ("Five-times sit-to-stand", " s"),
    "chair_stand_30s": ("30-second chair stand", " stands"),
}

#: ODI bands: (upper bound inclusive, label). Fairbank & Pynsent, Spine 2000.
ODI_BANDS: tuple[tuple[float, str], ...] = (
    (20.0, "minimal disability"),
    (40.0, "moderate disability"),
    (60.0, "severe disability"),
    (80.0, "crippled"),
    (100.0, "bed-bound"),
)
ODI_SOURCE = "Fairbank & Pynsent 2000 (bands); Ostelo et al. 2008 (meaningful change)"


def _age_band(key: str) -> tuple[int, int]:
    lo, hi = key.split("-")
    return int(lo), int(hi)


#: 5xSTS "worse than average" above these times, by age band (Bohannon 2006); the critique's table.
FIVE_STS_AGE_NORMS: tuple[tuple[int, int, float], ...] = tuple(
    (*_age_band(k), v) for k, v in FIVE_TIMES_STS_NORMS_S.items()
)
FIVE_STS_AGE_SOURCE = "Bohannon 2006, community-dwelling adults"
#: 5xSTS impairment bands: (upper bound inclusive, label).
FIVE_STS_IMPAIRMENT: tuple[tuple[float, str], ...] = (
    (10.4, "no functional impairment"),
    (15.2, "mild functional impairment"),
    (22.0, "moderate functional impairment"),
    (math.inf, "severe functional impairment"),
)
FIVE_STS_IMPAIRMENT_SOURCE = (
    "Klukowska et al. 2020; Staartjes 2018, patients with lumbar degenerative disease"
)

#: 30-s chair stand: below average when fewer than (men, women) stands, by age band (CDC STEADI);
#: the critique's table.
CHAIR_STAND_BELOW_AVERAGE: tuple[tuple[int, int, int, int], ...] = tuple(
    (*_age_band(k), men, women) for k, (men, women) in CHAIR_STAND_30S_NORMS.items()
)
CHAIR_STAND_SOURCE = "CDC STEADI; Rikli & Jones 1999, older adults"


@dataclass(frozen=True)
class Judgement:
    """An outcome value against its norms.

    Attributes
    ----------
    kind
        ``"odi"``, ``"five_sts"`` or ``"chair_stand_30s"``.
    value
        The score, seconds or count.
    band
        The band or comparison, e.g. ``"moderate disability"`` or ``"below average for age"``;
        None when no norm applies.
    text
        One sentence for the user.
    sources
        Where the norms come from.
    """

    kind: str
    value: float
    band: str | None
    text: str
    sources: tuple[str, ...] = field(default_factory=tuple)


def parse_odi(text: str, /) -> tuple[float, list[int | None] | None]:
    """Parse ``--odi``: either a 0-100 score or ten section answers 0-5 (``-`` for one skipped).

    Parameters
    ----------
    text
        ``"34"`` or ``"2,1,3,0,2,1,-,2,1,0"``.

    Returns
    -------
    tuple
        The score and the answers (None when a score was given).

    Raises
    ------
    BadValueError
        When the text is neither.
    """
    parts = [p.strip() for p in text.replace(";", ",").split(",")]
    if len(parts) == 1:
        try:
            score = float(parts[0])
        except ValueError:
            raise BadValueError(
                f"--odi takes a score from 0 to 100 or ten answers 0-5 separated by commas, "
                f"not {text!r}."
            ) from None
        if not 0 <= score <= 100 or not math.isfinite(score):
            raise BadValueError(f"An ODI score runs from 0 to 100, not {parts[0]}.")
        return score, None
    if len(parts) != 10:
        raise BadValueError(f"The ODI has ten sections; {len(parts)} answers were given.")
    answers: list[int | None] = []
    for p in parts:
        if p in ("-", "", "x", "skip"):
            answers.append(None)
            continue
        if not p.isdigit() or not 0 <= int(p) <= 5:
            raise BadValueError(f"Each ODI answer is a whole number from 0 to 5, not {p!r}.")
        answers.append(int(p))
    return odi_score(answers), answers


def odi_score(answers: Sequence[int | None], /) -> float:
    """ODI score from the ten section answers (0-5 each, None for a skipped section).

    Parameters
    ----------
    answers
        Ten answers; at most one may be None (Fairbank & Pynsent 2000).

    Returns
    -------
    float
        Score 0-100: ``100 * sum / (5 * answered)``.

    Raises
    ------
    BadValueError
        With a wrong number of answers, out-of-range answers or more than one skipped.
    """
    if len(answers) != 10:
        raise BadValueError(f"The ODI has ten sections; {len(answers)} answers were given.")
    given = [a for a in answers if a is not None]
    if len(given) < 9:
        raise BadValueError(
            "At most one ODI section may be skipped; "
            f"{10 - len(given)} were skipped, so no score can be given."
        )
    if any(not 0 <= a <= 5 for a in given):
        raise BadValueError("Each ODI answer is a whole number from 0 to 5.")
    return round(100.0 * sum(given) / (5 * len(given)), 1)


def judge_odi(score: float, /) -> Judgement:
    """Place an ODI score in its Fairbank band."""
    band = next(label for upper, label in ODI_BANDS if score <= upper)
    return Judgement(
        kind="odi",
        value=score,
        band=band,
        text=f"ODI {score:g} %: {band} (0-20 minimal ... 81-100 bed-bound).",
        sources=(ODI_SOURCE,),
    )


def odi_change(
    before: float,
    after: float,
    /,
    *,
    meaningful_points: float = 10.0,
    meaningful_fraction: float = 0.30,
) -> tuple[bool, str]:
    """Whether an ODI change is meaningful (>= 10 points or >= 30 % of the earlier score).

    Parameters
    ----------
    before, after
        Earlier and later scores.
    meaningful_points, meaningful_fraction
        Thresholds (Ostelo et al. 2008); see :class:`~kneeback.progress.settings.ProgressSettings`.

    Returns
    -------
    tuple
        Meaningful or not, and one sentence.
    """
    diff = after - before
    frac = abs(diff) / before if before > 0 else (math.inf if diff else 0.0)
    meaningful = abs(diff) >= meaningful_points or (diff != 0 and frac >= meaningful_fraction)
    word = "lower (less disability)" if diff < 0 else "higher (more disability)"
    if diff == 0:
        return False, f"ODI unchanged at {after:.0f}."
    if meaningful:
        return True, (
            f"ODI {abs(diff):g} points {word} than the earlier {before:g}: a meaningful "
            f"change (>= {meaningful_points:.0f} points or >= {meaningful_fraction:.0%})."
        )
    return False, (
        f"ODI {abs(diff):g} points {word} than the earlier {before:g}: below the meaningful "
        f"change of {meaningful_points:.0f} points or {meaningful_fraction:.0%}, so no real "
        "change yet."
    )


def judge_five_sts(seconds: float, /, *, age: int | None = None) -> Judgement:
    """Judge a five-times sit-to-stand time by age band and impairment band.

    Parameters
    ----------
    seconds
        Time for five stands, from the start to the fifth standing.
    age
        Age in years; the age norms cover 60-89.

    Returns
    -------
    Judgement
        The band and one sentence.
    """
    if not math.isfinite(seconds) or seconds <= 0:
        raise BadValueError(f"A five-times sit-to-stand time must be positive, not {seconds}.")
    impairment = next(label for upper, label in FIVE_STS_IMPAIRMENT if seconds <= upper)
    parts = [f"Five-times sit-to-stand {seconds:.1f} s."]
    band: str = impairment
    sources = [FIVE_STS_IMPAIRMENT_SOURCE]
    norm = None
    if age is not None:
        norm = next((n for lo, hi, n in FIVE_STS_AGE_NORMS if lo <= age <= hi), None)
    if norm is not None:
        sources.insert(0, FIVE_STS_AGE_SOURCE)
        if seconds > norm:
            band = "slower than average for age"
            parts.append(f"Slower than average for age {age} (average or better <= {norm} s).")
        else:
            band = "average or better for age"
            parts.append(f"Average or better for age {age} (<= {norm} s).")
    elif age is not None:
        parts.append(f"No age norm for {age} (norms cover 60-89).")
    else:
        parts.append("Give --age for the age norm (60-89).")
    parts.append(f"Against patient bands: {impairment}.")
    return Judgement(
        kind="five_sts", value=seconds, band=band, text=" ".join(parts), sources=tuple(sources)
    )


def judge_chair_stand(
    count: int, /, *, age: int | None = None, sex: str | None = None
) -> Judgement:
    """Judge a 30-second chair-stand count against the STEADI cut-offs.

    Parameters
    ----------
    count
        Full stands in 30 s.
    age
        Age in years; the norms cover 60-94.
    sex
        ``"male"`` or ``"female"``.

    Returns
    -------
    Judgement
        ``"below average for age and sex"``, ``"average or better for age and sex"`` or no band.
    """
    if count < 0:
        raise BadValueError(f"A chair-stand count cannot be negative ({count}).")
    head = f"30-second chair stand: {count} stands."
    if age is None or sex not in ("male", "female"):
        return Judgement(
            kind="chair_stand_30s",
            value=float(count),
            band=None,
            text=f"{head} Give --age and --sex for the norms (60-94 years).",
            sources=(CHAIR_STAND_SOURCE,),
        )
    row = next((r for r in CHAIR_STAND_BELOW_AVERAGE if r[0] <= age <= r[1]), None)
    if row is None:
        return Judgement(
            kind="chair_stand_30s",
            value=float(count),
            band=None,
            text=f"{head} No norm for age {age} (norms cover 60-94).",
            sources=(CHAIR_STAND_SOURCE,),
        )
    cut = row[2] if sex == "male" else row[3]
    who = "men" if sex == "male" else "women"
    if count < cut:
        band = "below average for age and sex"
        text = f"{head} Below average for {who} aged {row[0]}-{row[1]} (average: {cut} or more)."
    else:
        band = "average or better for age and sex"
        text = f"{head} Average or better for {who} aged {row[0]}-{row[1]} ({cut} or more)."
    return Judgement(
        kind="chair_stand_30s",
        value=float(count),
        band=band,
        text=text,
        sources=(CHAIR_STAND_SOURCE,),
    )


def check_outcome(kind: str, value: float, /) -> None:
    """Refuse an outcome entry that cannot be judged: an unknown kind or a value out of range.

    Parameters
    ----------
    kind
        One of :data:`OUTCOME_KINDS`.
    value
        ODI score 0-100, five-times sit-to-stand seconds (over 0, under 600) or 30-second
        chair-stand count (a whole number 0-60).

    Raises
    ------
    BadValueError
        One sentence saying what is wrong.
    """
    if kind not in OUTCOME_KINDS:
        raise BadValueError(
            f"{kind!r} is not an outcome kneeback knows (it knows {', '.join(OUTCOME_KINDS)})."
        )
    if not math.isfinite(value):
        raise BadValueError(f"An outcome value must be a number, not {value}.")
    if kind == "odi" and not 0 <= value <= 100:
        raise BadValueError(f"An ODI score runs from 0 to 100, not {value:g}.")
    if kind == "five_sts" and not 0 < value < 600:
        raise BadValueError(f"A five-times sit-to-stand time of {value:g} s is out of range.")
    if kind == "chair_stand_30s" and not 0 <= value <= 60:
        raise BadValueError(f"A 30-second chair-stand count of {value:g} is out of range.")
    if kind == "chair_stand_30s" and value != int(value):
        raise BadValueError(f"A 30-second chair-stand count is a whole number, not {value:g}.")


def judge(kind: str, value: float, /, *, age: int | None, sex: str | None) -> Judgement:
    """Judge any outcome kind (see :data:`OUTCOME_KINDS`)."""
    if kind == "odi":
        return judge_odi(value)
    if kind == "five_sts":
        return judge_five_sts(value, age=age)
    if kind == "chair_stand_30s":
        return judge_chair_stand(int(value), age=age, sex=sex)
    raise ValueError(f"Unknown outcome kind {kind!r}.")
