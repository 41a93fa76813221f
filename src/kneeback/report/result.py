"""The analysis result: a pydantic model that round-trips through JSON.

Bump :data:`RESULT_SCHEMA_VERSION` whenever a field changes meaning or is removed.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "RESULT_SCHEMA_VERSION",
    "AnalysisResult",
    "CaptureInfo",
    "FindingInfo",
    "MetricInfo",
    "MovementInfo",
    "PhaseInfo",
    "RepInfo",
    "TestsInfo",
    "ViewInfo",
]

RESULT_SCHEMA_VERSION = 1

VerdictName = Literal["good", "needs_work", "not_assessed"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MovementInfo(_Model):
    """Which movement was analysed, and whether the stated one matched what was seen."""

    stated: str | None = Field(None, description="What the user said, if anything.")
    recognised: str = Field(description="What the rules recognised.")
    used: str = Field(description="What the analysis used.")
    agreement: bool | None = Field(None, description="Stated vs recognised; None if not stated.")
    confidence: float = Field(ge=0, le=1)
    reasons: list[str] = Field(default_factory=list)
    message: str | None = None
    features: dict[str, float | None] = Field(default_factory=dict)

    def no_repetition_text(self) -> str:
        """Say why a clip has no repetition: why it is no movement kneeback analyses, if so.

        Returns
        -------
        str
            A sentence for the summary, the report and the web page of a clip without reps.
        """
        if self.used == "other" and self.recognised == "other" and self.reasons:
            return f"No whole repetition was found ({self.reasons[0]})."
        return "No whole repetition was found (standing, lowering and rising again)."

    def recognition_note(self, *, how_to_name: str = "--movement") -> str | None:
        """Say that the movement was recognised, not stated, and how to name another.

        For a clip judged "needs work", where a wrong recognition would judge the person by the
        wrong standards (a rise from a chair taken for a squat is told its depth falls short).

        Parameters
        ----------
        how_to_name
            How the user names a movement: ``--movement`` on the command line, or the upload
            form's choice on the web.

        Returns
        -------
        str or None
            The sentence, or None when the user named the movement.
        """
        if self.stated is not None:
            return None
        label = self.used.replace("_", " ")
        return (
            f"The movement was recognised as a {label} from how you moved; if it was another "
            f"(a rise from a chair, say), analyse the clip again naming it with {how_to_name}."
        )


class ViewInfo(_Model):
    """The camera view."""

    stated: str | None = None
    recognised: str
    used: str
    agreement: bool | None = None
    angle_deg: float | None = None
    confidence: float = Field(ge=0, le=1)
    facing: str | None = None


class MetricInfo(_Model):
    """Whether a metric is measurable from this clip."""

    measurable: bool
    uncertainty: float | None = None
    reason: str | None = None
    tip: str | None = None
    judgeable: bool = Field(
        True,
        description=(
            "Whether critique rules judged it; False when the camera view cannot show it and it "
            "is reported from a 3D estimate for information only (REFERENCES.md rule 1)."
        ),
    )


class CaptureInfo(_Model):
    """Capture quality."""

    in_frame: float
    visibility: float | None = None
    body_height_fraction: float | None = None
    fps: float | None = None
    duration_s: float | None = Field(
        None, description="Length of the analysed span, first frame to last plus one frame, s."
    )
    source: str
    measurement: str
    issues: list[str] = Field(default_factory=list)
    tips: list[str] = Field(default_factory=list)
    metrics: dict[str, MetricInfo] = Field(default_factory=dict)
    people_in_view: int | None = Field(
        None, description="Most people seen at once in the video (None: not a video)."
    )
    people_tracked: int | None = Field(
        None, description="People followed over the video, one of whom was analysed."
    )
    person_followed: int | None = Field(
        None,
        description="Which tracked person was analysed (0 = the one seen largest and longest).",
    )


class PhaseInfo(_Model):
    """One phase of a rep."""

    name: str
    start_s: float
    end_s: float


class FindingInfo(_Model):
    """One critique finding, with its evidence."""

    id: str = Field(description="Rule id.")
    severity: Literal["positive", "info", "minor", "major"]
    grade: str
    source: str
    title: str
    text: str
    cue: str = ""
    rep: int | None = None
    time_s: float | None = None
    value: float | None = None
    threshold: float | None = None


class RepInfo(_Model):
    """One repetition."""

    index: int
    start_s: float
    end_s: float
    peak_s: float
    side: str | None = None
    partial: bool = False
    phases: list[PhaseInfo] = Field(default_factory=list)
    metrics: dict[str, float | bool | None] = Field(default_factory=dict)
    verdict: VerdictName
    findings: list[str] = Field(default_factory=list, description="Ids of the rep's findings.")


class TestsInfo(_Model):
    """Sit-to-stand tests, when the movement is sit-to-stand."""

    five_times_sts_s: float | None = None
    chair_stands_30s: int | None = None
    stands: int = 0


class AnalysisResult(_Model):
    """Everything an analysis found, ready for JSON, reports and the store."""

    schema_version: int = RESULT_SCHEMA_VERSION
    movement: MovementInfo
    view: ViewInfo
    capture: CaptureInfo
    reps: list[RepInfo] = Field(default_factory=list)
    findings: list[FindingInfo] = Field(default_factory=list)
    verdict: VerdictName
    tests: TestsInfo | None = None
    settings: dict[str, Any] = Field(default_factory=dict)

    def to_json(self, *, indent: int | None = 2) -> str:
        """Serialise to JSON."""
        return self.model_dump_json(indent=indent)

    @classmethod
    def from_json(cls, text: str, /) -> AnalysisResult:
        """Parse from JSON."""
        return cls.model_validate_json(text)
