"""The web app for members and coaches (FastAPI; the ``web`` extra).

:func:`create_app` builds the app from one :class:`WebSettings`; ``kneeback serve`` runs it and
``kneeback users add`` adds accounts (:mod:`kneeback.web.cli`).
"""

from __future__ import annotations

from kneeback.web.app import create_app
from kneeback.web.settings import WebSettings

__all__ = ["WebSettings", "create_app"]
