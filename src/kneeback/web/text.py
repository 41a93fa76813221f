"""People's free text as the app stores it.

Trimmed, and without the control characters that PostgreSQL's text columns refuse (NUL) or that
no one types on purpose.
"""

from __future__ import annotations

__all__ = ["clean_text"]

#: Control characters kept in free text: tab and line breaks.
_KEPT = frozenset("\t\n\r")


def clean_text(value: str, /) -> str:
    """Return ``value`` stripped of surrounding white space and of control characters.

    Parameters
    ----------
    value
        Text a person wrote (a comment, an article, a reason).

    Returns
    -------
    str
        The text without C0 control characters (NUL included) other than tab and line breaks,
        and without DEL; stripped at both ends.
    """
    kept = "".join(ch for ch in value if ch in _KEPT or not (ord(ch) < 32 or ord(ch) == 127))
    return kept.strip()
