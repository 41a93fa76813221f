"""kneeback: markerless movement analysis and coaching from a phone video."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
