"""The podcast's RSS 2.0 feed, with the iTunes tags podcast apps read, and its cover image.

The episodes come from :func:`kneeback.web.podcast.list_episodes`; only those of published
articles go into the feed.
"""

from __future__ import annotations

import datetime as dt
import functools
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Sequence
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote

from kneeback.store.models import utcnow
from kneeback.web.podcast import EpisodeInfo
from kneeback.web.settings import WebSettings

__all__ = ["ITUNES_NS", "PODCAST_DESCRIPTION", "PODCAST_TITLE", "build_feed", "cover_png"]

#: XML namespaces of the feed.
ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
ATOM_NS = "http://www.w3.org/2005/Atom"

#: What the podcast calls itself in the feed and on its page.
PODCAST_TITLE = "kneeback weekly"
PODCAST_DESCRIPTION = (
    "The weekly article of the kneeback back-pain coaching program, read aloud: how to move, "
    "train and recover with a sore back, one issue a week."
)
PODCAST_AUTHOR = "kneeback"
PODCAST_LANGUAGE = "en"
PODCAST_CATEGORY = "Health & Fitness"
#: Side of the square cover image, in pixels (podcast directories ask for 1400 to 3000).
COVER_SIZE_PX = 1400

# ---- the feed ------------------------------------------------------------------------------------


def _sub(
    parent: ET.Element, tag: str, text: str | None = None, attrs: dict[str, str] | None = None
) -> ET.Element:
    el = ET.SubElement(parent, tag, attrs or {})
    if text is not None:
        el.text = text
    return el


def _published_at(day: dt.date) -> dt.datetime:
    """Return the start of an article's publication day on the server's clock, which decides it.

    Midnight UTC would lie hours in the future for a server east of UTC when the article comes
    out, and some podcast apps hold back an episode dated in the future.
    """
    local = dt.datetime.combine(day, dt.time(0, 0))
    return local.astimezone()  # the server's zone, with its offset on that day


def build_feed(
    episodes: Sequence[EpisodeInfo],
    /,
    base_url: str,
    settings: WebSettings,
    *,
    today: dt.date | None = None,
) -> bytes:
    """Return the podcast's RSS 2.0 feed (UTF-8 XML) with the iTunes tags podcast apps read.

    Parameters
    ----------
    episodes
        Episodes to consider; those of articles dated after ``today`` (drafts) are left out,
        the others are listed newest article first.
    base_url
        The site's address as the request reached it (e.g. ``https://host/``); used for the
        absolute links unless ``settings.public_url`` is set.
    settings
        The app's settings.
    today
        The day that decides what is published (default: the server's date).

    Returns
    -------
    bytes
        The feed document. Every text is escaped by the XML writer.
    """
    day = today or dt.date.today()
    base = (settings.public_url or base_url).rstrip("/")
    items = sorted(
        (e for e in episodes if e.article.published_on <= day),
        key=lambda e: (e.article.published_on, e.article.issue),
        reverse=True,
    )
    # Namespaced names are written with their usual prefixes (declared on the root), so that
    # no global prefix registry of ElementTree is touched.
    rss = ET.Element("rss", {"version": "2.0", "xmlns:itunes": ITUNES_NS, "xmlns:atom": ATOM_NS})
    channel = _sub(rss, "channel")
    _sub(channel, "title", PODCAST_TITLE)
    _sub(channel, "link", f"{base}/podcast")
    _sub(channel, "description", PODCAST_DESCRIPTION)
    _sub(channel, "language", PODCAST_LANGUAGE)
    self_link = {"href": f"{base}/podcast.xml", "rel": "self", "type": "application/rss+xml"}
    _sub(channel, "atom:link", attrs=self_link)
    changes = [e.created_at for e in items] + [_published_at(e.article.published_on) for e in items]
    _sub(channel, "lastBuildDate", format_datetime(max(changes, default=utcnow())))
    _sub(channel, "itunes:author", PODCAST_AUTHOR)
    _sub(channel, "itunes:summary", PODCAST_DESCRIPTION)
    _sub(channel, "itunes:type", "episodic")
    _sub(channel, "itunes:category", attrs={"text": PODCAST_CATEGORY})
    _sub(channel, "itunes:explicit", "false")
    if settings.podcast_email:  # an owner without an address is not valid for directories
        owner = _sub(channel, "itunes:owner")
        _sub(owner, "itunes:name", PODCAST_AUTHOR)
        _sub(owner, "itunes:email", settings.podcast_email)
    _sub(channel, "itunes:image", attrs={"href": f"{base}/podcast/cover.png"})
    for e in items:
        item = _sub(channel, "item")
        article_url = f"{base}/articles/{quote(e.article.slug, safe='')}"
        _sub(item, "title", e.title)
        _sub(item, "link", article_url)
        _sub(item, "guid", e.guid, {"isPermaLink": "false"})
        _sub(item, "pubDate", format_datetime(_published_at(e.article.published_on)))
        # Podcast apps show the description as the episode's notes: never leave it empty.
        notes = e.article.summary or (
            f"Issue {e.article.issue} of {PODCAST_TITLE}: {e.article.title}. "
            f"Read the article at {article_url}"
        )
        _sub(item, "description", notes)
        enclosure = {
            "url": f"{base}{e.audio_path}",
            "length": str(e.audio_bytes),
            "type": e.audio_type,
        }
        _sub(item, "enclosure", attrs=enclosure)
        _sub(item, "itunes:title", e.title)
        _sub(item, "itunes:summary", notes)
        _sub(item, "itunes:duration", e.duration_text)
        _sub(item, "itunes:episode", str(e.article.issue))
        _sub(item, "itunes:episodeType", "full")
        _sub(item, "itunes:explicit", "false")
    ET.indent(rss)
    return ET.tostring(rss, encoding="utf-8", xml_declaration=True)


# ---- the cover -----------------------------------------------------------------------------------


def _png(rgb: Any) -> bytes:
    """Encode an (H, W, 3) uint8 array as a PNG (no filter, zlib level 9)."""
    import struct

    import numpy as np

    height, width, _ = rgb.shape
    raw = np.concatenate([np.zeros((height, 1), np.uint8), rgb.reshape(height, -1)], axis=1)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw.tobytes(), 9))
        + chunk(b"IEND", b"")
    )


@functools.cache
def cover_png() -> bytes:
    """Return the podcast's cover: a 1400 x 1400 PNG of a bent leg, drawn on first use.

    A white hip-knee-ankle line with round joints on the site's blue, and two sound arcs.
    """
    import numpy as np

    n = COVER_SIZE_PX
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32) + 0.5
    ink = np.zeros((n, n), np.float32)

    def stroke(dist: Any, width: float) -> None:
        np.maximum(ink, np.clip(width / 2 - dist + 0.5, 0.0, 1.0), out=ink)

    def segment(a: tuple[float, float], b: tuple[float, float]) -> Any:
        ax, ay = a
        dx, dy = b[0] - ax, b[1] - ay
        t = np.clip(((xx - ax) * dx + (yy - ay) * dy) / (dx * dx + dy * dy), 0.0, 1.0)
        return np.hypot(xx - ax - t * dx, yy - ay - t * dy)

    hip, knee, ankle, toe = (430.0, 330.0), (860.0, 700.0), (520.0, 1060.0), (760.0, 1080.0)
    for a, b in ((hip, knee), (knee, ankle), (ankle, toe)):
        stroke(segment(a, b), 90.0)
    for x, y in (hip, knee, ankle):
        stroke(np.hypot(xx - x, yy - y) - 55.0, 0.0)
    stroke(segment((220.0, 1150.0), (1180.0, 1150.0)), 26.0)  # the floor
    cx, cy, half = 1040.0, 330.0, 0.8  # sound arcs: centre and half their angle (radians)
    r = np.hypot(xx - cx, yy - cy)
    inside = np.abs(np.arctan2(yy - cy, xx - cx)) <= half
    for radius in (110.0, 200.0):
        ends = [
            np.hypot(xx - cx - radius * np.cos(t), yy - cy - radius * np.sin(t))
            for t in (-half, half)
        ]
        stroke(np.where(inside, np.abs(r - radius), np.minimum(*ends)), 34.0)
    background = np.array([11, 107, 203], np.float32)  # the site's accent colour
    rgb = background + (255.0 - background) * ink[..., None]
    return _png(np.round(rgb).astype(np.uint8))
