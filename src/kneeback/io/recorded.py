"""When a clip was recorded, from the metadata phones and cameras write into the file.

The order of trust: Apple's ``com.apple.quicktime.creationdate`` (the capture time with its UTC
offset), then the container's ``creation_time``, then the video stream's (both UTC, written by
Android phones and most cameras). A value before 2000 is an unset field (MP4 counts from 1904,
some tools write 1970), and one more than a day in the future a wrong clock: both are ignored.
Files re-encoded by editing tools often lose the date; the caller then has none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

__all__ = ["EARLIEST_PLAUSIBLE", "recorded_at"]

#: Earlier dates are unset fields, not recordings.
EARLIEST_PLAUSIBLE = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_KEYS = ("com.apple.quicktime.creationdate", "creation_time")


def _parse(value: str) -> dt.datetime | None:
    try:
        when = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


def recorded_at(*metadata: Mapping[str, str], now: dt.datetime | None = None) -> dt.datetime | None:
    """Return the recording time (UTC) stated by a file's metadata, or None.

    Parameters
    ----------
    *metadata
        Metadata dictionaries in order of trust (the container's, then the video stream's).
    now
        The present, for the plausibility check (default: the clock).

    Returns
    -------
    datetime.datetime or None
        Timezone-aware UTC time, or None when no key holds a plausible date.
    """
    latest = (now or dt.datetime.now(dt.UTC)) + dt.timedelta(days=1)
    for key in _KEYS:
        for tags in metadata:
            value = tags.get(key)
            when = _parse(value) if isinstance(value, str) else None
            if when is not None and EARLIEST_PLAUSIBLE <= when <= latest:
                return when
    return None
