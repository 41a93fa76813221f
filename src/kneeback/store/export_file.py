"""The person export file (``kneeback export``), validated whole before anything is imported.

:func:`read_export` checks every field of a parsed export (types, required fields, outcome kinds
and ranges, dates, cross-references, the analysis results) and returns it as typed records, or
raises :class:`~kneeback.errors.InputError` with one sentence naming the first problem, so that
an import either writes everything or nothing and never stores what later commands cannot read.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from kneeback.errors import BadValueError, InputError
from kneeback.progress.outcomes import OutcomeKind, check_outcome, odi_score
from kneeback.report.result import AnalysisResult

__all__ = [
    "EXPORT_FORMAT",
    "EXPORT_FORMAT_VERSION",
    "ExportOutcome",
    "ExportProgramEvent",
    "ExportProgramState",
    "ExportSession",
    "PersonExport",
    "export_text",
    "read_export",
]

EXPORT_FORMAT = "kneeback.person"
EXPORT_FORMAT_VERSION = 1


def export_text(data: Mapping[str, Any], /) -> str:
    """Return an export as the text of its file: indented JSON (UTF-8 as is), ending in a newline.

    ``kneeback export`` writes this and the web app's download (``/account/export``) serves it,
    byte for byte the same.
    """
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _iso_time(text: str) -> str:
    try:
        t = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            "should be an ISO date or time such as 2026-03-01T10:00:00+00:00"
        ) from None
    # A day's slack for time zones: nothing in a history happened later than that.
    if t.date() > dt.date.today() + dt.timedelta(days=1):
        raise ValueError("lies in the future; an export records what already happened")
    return text


IsoTime = Annotated[str, AfterValidator(_iso_time)]
Uid = Annotated[str, Field(max_length=32)]
Name60 = Annotated[str, Field(min_length=1, max_length=60)]
Sex = Literal["male", "female"]


class _Record(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")


class ExportPerson(_Record):
    """The person: name, id and the remembered age and sex."""

    uid: Uid | None = None
    name: Annotated[str, Field(min_length=1, max_length=200)]
    created_at: IsoTime | None = None
    sex: Sex | None = None
    age_years: Annotated[int, Field(ge=0, le=150)] | None = None
    age_given_at: IsoTime | None = None


class ExportArtifact(_Record):
    """A file that analyze wrote, by kind."""

    kind: Name60
    path: Annotated[str, Field(min_length=1)]


class ExportSession(_Record):
    """One stored session: when, where from, its files and the whole analysis result."""

    uid: Uid | None = None
    recorded_at: IsoTime
    stored_at: IsoTime | None = None
    source_path: str | None = None
    artifacts: list[ExportArtifact] = Field(default_factory=list)
    result: dict[str, Any]


class ExportOutcome(_Record):
    """One outcome entry; its kind and value are checked as ``kneeback outcome`` checks them."""

    uid: Uid | None = None
    kind: OutcomeKind
    recorded_at: IsoTime
    value: float
    answers: list[Annotated[int, Field(ge=0, le=5)] | None] | None = None
    age_years: Annotated[int, Field(ge=0, le=150)] | None = None
    sex: Sex | None = None
    source: Annotated[str, Field(max_length=20)] = "entered"
    session_uid: str | None = None

    @model_validator(mode="after")
    def _usable(self) -> ExportOutcome:
        try:
            check_outcome(self.kind, self.value)
            if self.answers is not None:
                if self.kind != "odi":
                    raise BadValueError("only ODI entries have answers")
                if abs(odi_score(self.answers) - self.value) > 0.05:
                    raise BadValueError(
                        f"its answers give an ODI score of {odi_score(self.answers):g}, not "
                        f"{self.value:g}"
                    )
        except BadValueError as exc:
            raise ValueError(str(exc).rstrip(".")) from None
        return self


class ExportProgramState(_Record):
    """The current stage of one track."""

    track: Name60
    stage: Name60
    since: IsoTime | None = None
    updated_at: IsoTime | None = None


class ExportProgramEvent(_Record):
    """One stage change and its reason."""

    uid: Uid | None = None
    at: IsoTime
    track: Name60
    from_stage: Name60 | None = None
    to_stage: Name60
    kind: Annotated[str, Field(min_length=1, max_length=20)]
    reason: str = ""
    coach: Annotated[str, Field(max_length=200)] | None = None
    program: Annotated[str, Field(max_length=200)] = ""


class ExportProgram(_Record):
    """Program states and events."""

    states: list[ExportProgramState] = Field(default_factory=list)
    events: list[ExportProgramEvent] = Field(default_factory=list)


class PersonExport(_Record):
    """A whole export file, as :func:`kneeback.store.sessions.export_person` writes it.

    Lists that are left out are empty; lists that are present must be lists (``null`` is
    refused, not taken for empty).
    """

    format: Literal["kneeback.person"]
    format_version: Annotated[int, Field(ge=1, le=EXPORT_FORMAT_VERSION)]
    kneeback_version: str | None = None
    person: ExportPerson
    sessions: list[ExportSession] = Field(default_factory=list)
    outcomes: list[ExportOutcome] = Field(default_factory=list)
    program: ExportProgram = Field(default_factory=ExportProgram)


_PLACES = {
    "sessions": "session",
    "outcomes": "outcome entry",
    "states": "program state",
    "events": "program event",
    "artifacts": "file",
}


def _where(loc: tuple[int | str, ...]) -> str:
    """Name a place in the file: ``("outcomes", 0, "kind")`` -> ``'"kind" of outcome entry 1'``."""
    places: list[str] = []
    fields: list[str] = []
    i = 0
    while i < len(loc):
        part, nxt = loc[i], loc[i + 1] if i + 1 < len(loc) else None
        if isinstance(part, str) and isinstance(nxt, int) and part in _PLACES:
            places.insert(0, f"{_PLACES[part]} {nxt + 1}")
            fields = []
            i += 2
            continue
        if isinstance(part, int) and fields:
            fields[-1] += f"[{part}]"
        else:
            fields.append(str(part))
        i += 1
    field = ".".join(fields)
    if places:
        return f'"{field}" of {" of ".join(places)}' if field else " of ".join(places)
    return f'"{field}"' if field else "the file"


def _shown(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _sentence(exc: ValidationError) -> str:
    """One clause naming the first problem: where it is, what was expected and what was found."""
    first = exc.errors()[0]
    where = _where(tuple(first["loc"]))
    msg = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "missing":
        return f"{where} is missing"
    msg = msg.removeprefix("Input should be ").removeprefix("Value should be ")
    if first["type"] == "value_error" and not msg.startswith("should "):
        return f"{where}: {msg[:1].lower() + msg[1:] if msg[1:2].islower() else msg}"
    return f"{where} should be {msg.removeprefix('should be ')}, not {_shown(first.get('input'))}"


def read_export(data: Any, /) -> tuple[PersonExport, list[AnalysisResult]]:
    """Validate a parsed export file whole.

    Parameters
    ----------
    data
        The parsed JSON.

    Returns
    -------
    export, results
        The typed export and each session's analysis result, in order.

    Raises
    ------
    InputError
        When anything in the file is missing, of the wrong type, out of range or inconsistent;
        the message names the first problem.
    """
    if not isinstance(data, Mapping) or data.get("format") != EXPORT_FORMAT:
        raise InputError(
            f'The file is not a kneeback person export: it has no "format": "{EXPORT_FORMAT}".'
        )
    version = data.get("format_version")
    if (
        isinstance(version, int)
        and not isinstance(version, bool)
        and version > (EXPORT_FORMAT_VERSION)
    ):
        raise InputError(
            f"The export has format version {version}; this kneeback reads up to "
            f"{EXPORT_FORMAT_VERSION}."
        )
    try:
        export = PersonExport.model_validate(data)
    except ValidationError as exc:
        raise InputError(f"The export cannot be imported: {_sentence(exc)}.") from None
    if not " ".join(export.person.name.split()):
        raise InputError("The export cannot be imported: the person's name is blank.")
    _unique([s.uid for s in export.sessions], "session")
    _unique([o.uid for o in export.outcomes], "outcome entry")
    _unique([e.uid for e in export.program.events], "program event")
    _unique([st.track for st in export.program.states], "program state", what="track")
    session_uids = {s.uid for s in export.sessions if s.uid}
    for i, o in enumerate(export.outcomes):
        if o.session_uid is not None and o.session_uid not in session_uids:
            raise InputError(
                f"The export cannot be imported: outcome entry {i + 1} names session "
                f"{o.session_uid!r}, which the file does not hold."
            )
    results = []
    for i, s in enumerate(export.sessions):
        try:
            results.append(AnalysisResult.model_validate(s.result))
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(x) for x in first["loc"])
            raise InputError(
                f"The export cannot be imported: session {i + 1} holds no valid analysis result "
                f"({loc}: {first['msg']})."
            ) from None
    return export, results


def _unique(values: list[str | None], record: str, *, what: str = "id") -> None:
    seen: set[str] = set()
    for i, v in enumerate(values):
        if v is None or v == "":
            continue
        if v in seen:
            raise InputError(
                f"The export cannot be imported: {record} {i + 1} repeats the {what} {v!r} of an "
                "earlier one."
            )
        seen.add(v)
