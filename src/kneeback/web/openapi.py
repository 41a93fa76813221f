"""What the API's OpenAPI schema states beyond what FastAPI derives: refusals and streamed forms.

Every refusal of the API (an :class:`~starlette.exceptions.HTTPException`, a
:class:`~kneeback.web.app.NotLoggedInError`, a refusal of the command modules) answers
``{"detail": "One sentence."}``: :class:`Problem`; a request whose body or query the route's types
refuse answers 422 with the fields' errors instead: :class:`ValidationProblem`. A route lists the
statuses it can answer with ``responses=``, each with a line saying when: :data:`LOGIN_RESPONSES`
where it takes the ``LoggedIn`` dependency, :func:`not_found` where its path names a row that may
not exist or may not be the account's to see, :data:`CSRF_RESPONSES` or :func:`forbidden` where
it refuses a request without the CSRF header or an account of the wrong role,
:data:`BODY_RESPONSES` where it takes a JSON body, :data:`LIST_RESPONSES` where it is a paged list
(its headers and its 422), :func:`refusal` for the rest (400, 409, 413, 415; 429 with
:func:`rate_limited`). Every router of the API lists :data:`SERVER_RESPONSES`, the ``default``
response: a server that cannot answer (503). A route that streams a ``multipart/form-data``
upload itself states the form with :func:`multipart_form`.

FastAPI lists a 422 of its own on every operation with a parameter, unless the operation lists a
422 or a ``default`` response: as every operation lists the default, a 422 appears only where a
route lists it, where its JSON body or its query can fail validation. An invalid path parameter
answers 404 (:data:`~kneeback.web.app.RowId`), never 422.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from kneeback.web.app import CSRF_HEADER
from kneeback.web.paging import PAGED_RESPONSES

__all__ = [
    "BODY_RESPONSES",
    "CSRF_RESPONSES",
    "LIST_RESPONSES",
    "LOGIN_RESPONSES",
    "SERVER_RESPONSES",
    "FieldProblem",
    "Problem",
    "Responses",
    "ValidationProblem",
    "forbidden",
    "invalid",
    "multipart_form",
    "not_found",
    "problem",
    "rate_limited",
    "refusal",
]

#: The ``responses=`` of a route or router: status code -> OpenAPI response fields.
Responses = dict[int | str, dict[str, Any]]


class Problem(BaseModel):
    """Why the request was refused, in one sentence."""

    detail: str


class FieldProblem(BaseModel):
    """One value of the request that its route's types refuse (never the value itself)."""

    type: str
    loc: list[str | int]
    msg: str


class ValidationProblem(BaseModel):
    """The values of the request's body or query that its route's types refuse."""

    detail: list[FieldProblem]


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


def refusal(status: int, description: str, /) -> Responses:
    """Return the ``responses=`` entry of one refusal: ``status`` with a :class:`Problem`.

    Parameters
    ----------
    status
        The status code (400, 409...).
    description
        When the route answers it, in one line.

    Returns
    -------
    dict
        ``{status: ...}``, to join to the route's other responses with ``|``.
    """
    return {status: problem(description)}


def _retry_after(description: str, /) -> dict[str, Any]:
    return {"Retry-After": {"description": description, "schema": {"type": "integer"}}}


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

#: Why a changing route refuses a request without the CSRF token of the session.
_NO_CSRF = f"missing or wrong {CSRF_HEADER} header"
#: What a changing route (POST, PUT, DELETE behind a login) answers without the CSRF header.
CSRF_RESPONSES: Responses = refusal(403, f"A {_NO_CSRF} (GET /api/me returns the token).")

#: What every operation of the API may answer, however it is asked: the ``default`` response.
SERVER_RESPONSES: Responses = {
    "default": problem(
        "The server cannot answer now: 503 when it cannot reach its database (Retry-After: "
        "seconds to wait) or its disk refuses a write (full, read-only)."
    )
    | {"headers": _retry_after("When the database cannot be reached: seconds to wait.")}
}


def invalid(description: str, /) -> Responses:
    """Return the 422 of a route whose query (or body) its types may refuse.

    Parameters
    ----------
    description
        Which values, in one line (``detail`` lists each value's error).

    Returns
    -------
    dict
        The ``responses=`` entry with the :class:`ValidationProblem` the app sends.
    """
    return {422: {"model": ValidationProblem, "description": description}}


#: What a route taking a JSON body answers when the body is not what its schema says.
BODY_RESPONSES: Responses = invalid(
    "The JSON body does not match its schema (not JSON, a field missing, of the wrong type or "
    "out of its bounds)."
)

#: What a paged list answers (:data:`~kneeback.web.paging.PAGED_RESPONSES`), and its 422.
LIST_RESPONSES: Responses = PAGED_RESPONSES | invalid(
    "limit or offset is not a whole number in its range (see the parameters)."
)


def forbidden(who: str, /, *, csrf: bool = True) -> Responses:
    """Return the 403 of a route that refuses some accounts, and (``csrf``) a missing CSRF header.

    Parameters
    ----------
    who
        The accounts refused and why, as a sentence begins ("A member's account (coaches and
        admins review)").
    csrf
        Whether the route changes something, and so also refuses a request without the
        ``X-CSRF-Token`` header (as :data:`CSRF_RESPONSES`).

    Returns
    -------
    dict
        The ``responses=`` entry.
    """
    return refusal(403, f"{who}, or a {_NO_CSRF}." if csrf else f"{who}.")


def rate_limited(description: str, /) -> Responses:
    """Return the 429 of a route under a rate limit, with its ``Retry-After`` header.

    Parameters
    ----------
    description
        What was tried too often lately.

    Returns
    -------
    dict
        The ``responses=`` entry.
    """
    return {
        429: problem(description)
        | {"headers": _retry_after("Seconds to wait before trying again.")}
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
    return refusal(404, f"No such {what}, or not the account's to see.")


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
