"""Honest progress over sessions and outcome measures judged against published norms.

:mod:`kneeback.progress.trend` (pure: trends and the smallest detectable change),
:mod:`kneeback.progress.outcomes` (pure: ODI, five-times sit-to-stand, 30-s chair stand) and
:mod:`kneeback.progress.report` (reads the store; JSON, PNG plots, HTML page).
"""

from __future__ import annotations

from kneeback.progress.settings import ProgressSettings
from kneeback.progress.trend import MetricTrend, SDCEstimate, SessionPoint, metric_trend

__all__ = ["MetricTrend", "ProgressSettings", "SDCEstimate", "SessionPoint", "metric_trend"]
