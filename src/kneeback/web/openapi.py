"""What the API's OpenAPI schema states beyond what FastAPI derives: refusals and streamed forms.

Every refusal of the API (an :class:`~starlette.exceptions.HTTPException`, a
:class:`~kneeback.web.app.NotLoggedInError`, a refusal of the command modules) answers
``{"detail": "One sentence."}``: :class:`Problem`. A route lists the statuses it can answer with
``responses=`` (as :data:`~kneeback.web.paging.PAGED_RESPONSES` lists a page's headers):
:data:`LOGIN_RESPONSES` where it takes the ``LoggedIn`` dependency, :func:`not_found` where its
path names a row that may not exist or may not be the account's to see. A route that streams a
``multipart/form-data`` upload itself states the form with :func:`multipart_form`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

__all__ = ["LOGIN_RESPONSES", "Problem", "Responses", "multipart_form", "not_found", "problem"]

#: The ``responses=`` of a route or router: status code -> OpenAPI response fields.
Responses = dict[int | str, dict[str, Any]]


class Problem(BaseModel):
    """Why the request was refused, in one sentence."""

    detail: str


def problem(description: str, /) -> dict[str, Any]:
    """Return one refusal of the ``responses=`` of a route: its meaning and the :class:`Problem`.

    Parameters
    ----------
    description
        When the route answers this status, in the schema's words.

    Returns
    -------
    dict
        The response's ``model`` and ``description``.
    """
    return {"model": Problem, "description": description}


#: What a route taking the ``LoggedIn`` dependency answers without a live session.
LOGIN_RESPONSES: Responses = {
    401: problem("Not logged in: no session cookie, or one that ended or expired.")
    | {
        "headers": {
            "WWW-Authenticate": {
                "description": "Cookie: log in with POST /api/login.",
                "schema": {"type": "string"},
            }
        }
    }
}


def not_found(what: str, /) -> Responses:
    """Return the 404 of a route whose path names a ``what`` (a session, a job, a member...).

    Parameters
    ----------
    what
        The row the path names, as the sentence says it ("session", "article").

    Returns
    -------
    dict
        The ``responses=`` entry: 404 when no such ``what`` exists or it is not the account's to
        see (a foreign id answers as a missing one, so that ids reveal nothing).
    """
    return {404: problem(f"No such {what}, or not the account's to see.")}


def multipart_form(
    properties: dict[str, dict[str, Any]], /, *, required: list[str]
) -> dict[str, Any]:
    """Return the ``openapi_extra=`` of a route that reads its ``multipart/form-data`` body itself.

    Such a route streams the form (to refuse a large file early), so FastAPI sees no body
    parameter to describe.

    Parameters
    ----------
    properties
        Each field's JSON schema by name (a file: ``{"type": "string", "format": "binary"}``).
    required
        The fields the form must hold.

    Returns
    -------
    dict
        The operation's ``requestBody``.
    """
    schema = {"type": "object", "required": required, "properties": properties}
    return {
        "requestBody": {
            "required": True,
            "content": {"multipart/form-data": {"schema": schema}},
        }
    }
