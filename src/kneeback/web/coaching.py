"""A coach's decisions about a member's program: overriding the stage, with a reason.

Like :mod:`kneeback.web.queries`, a member the asking account may not see is treated as one that
does not exist (None, so 404); a member may see their own program but not change it
(:class:`~kneeback.web.review.NotAllowedError`, so 403).
"""

from __future__ import annotations

from typing import Any

from kneeback.errors import BadValueError
from kneeback.program import load_program
from kneeback.store.db import Database
from kneeback.web.accounts import Account
from kneeback.web.queries import member_person
from kneeback.web.review import NotAllowedError
from kneeback.web.text import clean_text

__all__ = ["MAX_REASON_CHARS", "override_member_stage", "stage_choices"]

#: Longest reason accepted for an override, in characters.
MAX_REASON_CHARS = 500


def stage_choices() -> list[dict[str, Any]]:
    """Return the program's tracks with their stages, for the override form.

    Returns
    -------
    list of dict
        Per track ``track``, ``track_title`` and ``stages`` (``id``, ``number``, ``title``).
    """
    program = load_program()
    return [
        {
            "track": t.id,
            "track_title": t.title,
            "stages": [
                {"id": s.id, "number": i + 1, "title": s.title} for i, s in enumerate(t.stages)
            ],
        }
        for t in program.tracks
    ]


def override_member_stage(
    db: Database, account: Account, username: str, stage: str, reason: str, /
) -> dict[str, Any] | None:
    """Put a member on a program stage by a coach's decision, recording who and why.

    Parameters
    ----------
    db
        The database.
    account
        The asking account: a coach of the member, or an admin.
    username
        The member.
    stage
        A stage id of the program.
    reason
        Why, in the coach's words (required, at most :data:`MAX_REASON_CHARS`).

    Returns
    -------
    dict or None
        The override recorded (``track``, ``from``, ``to``, ``reason``, ``coach``...), or None
        when the account cannot see this member.

    Raises
    ------
    NotAllowedError
        When a member asks (they read their program; their coach changes it).
    kneeback.errors.BadValueError
        For an unknown stage, or a missing or too long reason.
    """
    from kneeback.store import override_stage

    person = member_person(db, account, username)
    if person is None:
        return None
    if account.role not in ("coach", "admin"):
        raise NotAllowedError("Only a coach changes a member's program stage.")
    reason = clean_text(reason)
    if not reason:
        raise BadValueError("Give a reason for moving the stage; the member will read it.")
    if len(reason) > MAX_REASON_CHARS:
        raise BadValueError(f"Keep the reason under {MAX_REASON_CHARS} characters.")
    if stage not in {st["id"] for c in stage_choices() for st in c["stages"]}:
        raise BadValueError("Choose one of the program's stages from the list.")
    return override_stage(db, person, stage, reason=reason, coach=account.username)
