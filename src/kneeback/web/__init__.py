"""The web app for members and coaches (FastAPI; the ``web`` extra).

:func:`create_app` builds the app from one :class:`WebSettings`; ``kneeback serve`` runs it and
``kneeback users add`` adds accounts (:mod:`kneeback.web.cli`). Both names are imported on first
use, so that :mod:`kneeback.web.models` (which the store's migrations read) needs no web library.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kneeback.web.app import create_app
    from kneeback.web.settings import WebSettings

__all__ = ["WebSettings", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from kneeback.web.app import create_app

        return create_app
    if name == "WebSettings":
        from kneeback.web.settings import WebSettings

        return WebSettings
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
