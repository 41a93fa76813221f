"""Podcast episodes of the weekly articles: audio checks, storage and listings.

Each weekly article (:class:`~kneeback.web.models.Article`) can have one episode
(:class:`~kneeback.web.models.Episode`). An admin uploads its audio; what the file is comes from
its content (:func:`check_audio`: FFmpeg, through PyAV, must read an MP3, M4A/AAC, Ogg
Opus/Vorbis or WAV file and decode some of it), and it is stored in the data folder's
``podcast/`` under a random name with the extension of its type (:func:`attach_episode`). Only
episodes of published articles (dated today or earlier) are listed and go into the feed
(:mod:`kneeback.web.podcast_feed`). No web framework here: the routes are in
:mod:`kneeback.web.podcast_pages` and :mod:`kneeback.web.podcast_api`.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session as OrmSession

from kneeback.errors import BadValueError
from kneeback.store.db import Database
from kneeback.store.models import utcnow
from kneeback.web.accounts import Account
from kneeback.web.models import Article, Episode
from kneeback.web.paging import EVERYTHING, Page, Window, select_page
from kneeback.web.review import NotAllowedError
from kneeback.web.text import clean_text
from kneeback.web.uploads import UnsupportedMediaError

__all__ = [
    "AUDIO_TYPES",
    "MAX_TITLE_CHARS",
    "ArticleRef",
    "EpisodeInfo",
    "NoSuchArticleError",
    "NotAllowedError",
    "NotAudioError",
    "attach_episode",
    "check_audio",
    "episode_by_audio",
    "episode_for_article",
    "episodes_page",
    "find_article",
    "format_duration",
    "is_audio_name",
    "list_episodes",
    "podcast_dir",
    "rename_episode",
]

#: Longest episode title, in characters (the column's size).
MAX_TITLE_CHARS = 200

#: Accepted audio by FFmpeg demuxer: MIME type, file extension and the codecs allowed inside.
AUDIO_TYPES: dict[str, tuple[str, str, frozenset[str]]] = {
    "mp3": ("audio/mpeg", ".mp3", frozenset({"mp3"})),
    "mov,mp4,m4a,3gp,3g2,mj2": ("audio/x-m4a", ".m4a", frozenset({"aac"})),
    "ogg": ("audio/ogg", ".ogg", frozenset({"opus", "vorbis"})),
    "wav": ("audio/wav", ".wav", frozenset()),  # any PCM codec, checked by prefix
}
#: A stored audio file's name: 32 hex digits and the extension of its type.
_AUDIO_NAME = re.compile(r"[0-9a-f]{32}\.(?:mp3|m4a|ogg|wav)")
#: How many packets of the audio stream are read, at most, looking for a decodable frame.
_MAX_PROBE_PACKETS = 500
_NOT_AUDIO = (
    "This file is not an audio file the podcast can use; upload an MP3, M4A (AAC), "
    "Ogg (Opus or Vorbis) or WAV file."
)


class NotAudioError(UnsupportedMediaError):
    """The uploaded file is not audio in one of the accepted formats (answered with 415)."""


class NoSuchArticleError(LookupError):
    """No article has this slug."""


@dataclass(frozen=True)
class ArticleRef:
    """The article an episode belongs to, as the episode pages need it.

    Attributes
    ----------
    slug, title, issue, summary
        The article.
    published_on
        The day it appears on (an article dated in the future is a draft).
    """

    slug: str
    title: str
    issue: int
    summary: str
    published_on: dt.date

    def is_published(self, today: dt.date | None = None) -> bool:
        """Whether the article is out on ``today`` (default: the server's date)."""
        return self.published_on <= (today or dt.date.today())


@dataclass(frozen=True)
class EpisodeInfo:
    """A podcast episode with its article.

    Attributes
    ----------
    guid
        The episode's permanent random id in the feed.
    title
        The episode's title.
    audio_name
        The stored file's name inside the podcast folder.
    audio_bytes, audio_type, duration_s
        Its size, MIME type and length.
    created_at
        When this audio was attached (replacing the audio updates it).
    article
        The article it belongs to.
    """

    guid: str
    title: str
    audio_name: str
    audio_bytes: int
    audio_type: str
    duration_s: float
    created_at: dt.datetime
    article: ArticleRef

    @property
    def duration_text(self) -> str:
        """The duration as ``HH:MM:SS``."""
        return format_duration(self.duration_s)

    @property
    def audio_path(self) -> str:
        """The site path the audio is served at."""
        return f"/podcast/audio/{self.audio_name}"

    def to_dict(self) -> dict[str, Any]:
        """Return the episode as JSON-ready values (no server paths)."""
        return {
            "guid": self.guid,
            "title": self.title,
            "article_slug": self.article.slug,
            "article_title": self.article.title,
            "issue": self.article.issue,
            "published_on": self.article.published_on.isoformat(),
            "audio_url": self.audio_path,
            "audio_bytes": self.audio_bytes,
            "audio_type": self.audio_type,
            "duration_s": self.duration_s,
            "created_at": self.created_at.isoformat(),
        }


def podcast_dir(data_dir: Path, /) -> Path:
    """Return the folder of episode audio files inside the web app's data folder."""
    return data_dir / "podcast"


def is_audio_name(name: str, /) -> bool:
    """Whether ``name`` has the form of a stored audio file's name (no path, no other names)."""
    return _AUDIO_NAME.fullmatch(name) is not None


def format_duration(seconds: float, /) -> str:
    """Return a duration as ``HH:MM:SS`` (rounded to the second), as ``itunes:duration`` wants."""
    total = max(0, round(seconds))
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


# ---- the audio check -----------------------------------------------------------------------------


def check_audio(path: Path, /) -> tuple[str, float]:
    """Check from its content that a file is podcast audio; return its type and duration.

    Parameters
    ----------
    path
        The uploaded file (its name is not looked at).

    Returns
    -------
    tuple of (str, float)
        The MIME type (``audio/mpeg``, ``audio/x-m4a``, ``audio/ogg`` or ``audio/wav``) and the
        duration in seconds.

    Raises
    ------
    NotAudioError
        When FFmpeg does not read the file as one of the accepted containers
        (:data:`AUDIO_TYPES`) with an accepted audio codec, when it holds a video stream (a
        cover picture is allowed), or when no audio frame decodes.
    """
    import av

    try:
        with av.open(str(path)) as container:
            fmt = container.format.name
            if fmt not in AUDIO_TYPES:
                raise NotAudioError(_NOT_AUDIO)
            mime, _, codecs = AUDIO_TYPES[fmt]
            attached = av.stream.Disposition.attached_pic
            if any(not (v.disposition & attached) for v in container.streams.video):
                raise NotAudioError(
                    "This is a video file, not an audio file; upload the episode's sound only "
                    "(MP3, M4A, Ogg or WAV)."
                )
            if not container.streams.audio:
                raise NotAudioError(_NOT_AUDIO)
            stream = container.streams.audio[0]
            codec = stream.codec_context.codec.canonical_name
            if not (codec in codecs or (fmt == "wav" and codec.startswith("pcm_"))):
                raise NotAudioError(_NOT_AUDIO)
            if not _decodes(container, stream):
                raise NotAudioError("No sound could be decoded from this file; is it damaged?")
            duration_s = _duration_s(container, stream)
    except NotAudioError:
        raise
    except (av.FFmpegError, OSError, UnicodeDecodeError, ValueError):
        raise NotAudioError(_NOT_AUDIO) from None
    if not duration_s > 0:
        raise NotAudioError("This audio file has no length; is it damaged?")
    return mime, duration_s


def _decodes(container: Any, stream: Any) -> bool:
    for i, packet in enumerate(container.demux(stream)):
        if i >= _MAX_PROBE_PACKETS:
            return False
        if any(frame.samples > 0 for frame in packet.decode()):
            return True
    return False


def _duration_s(container: Any, stream: Any) -> float:
    if container.duration:
        return float(container.duration) / 1_000_000  # AV_TIME_BASE
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    container.seek(0)  # no length in the headers: count the samples
    samples = sum(frame.samples for frame in container.decode(stream))
    rate = stream.codec_context.sample_rate
    return samples / rate if rate else 0.0


# ---- reading -------------------------------------------------------------------------------------


def _article_ref(a: Article) -> ArticleRef:
    return ArticleRef(
        slug=a.slug,
        title=a.title,
        issue=a.issue,
        summary=a.summary or "",
        published_on=a.published_on,
    )


def _info(e: Episode, a: Article) -> EpisodeInfo:
    return EpisodeInfo(
        guid=e.guid,
        title=e.title,
        audio_name=e.audio_name,
        audio_bytes=e.audio_bytes,
        audio_type=e.audio_type,
        duration_s=e.duration_s,
        created_at=e.created_at,
        article=_article_ref(a),
    )


def find_article(db: Database, slug: str, /) -> ArticleRef | None:
    """Return the article with this slug (published or not), or None."""

    def work(s: OrmSession) -> ArticleRef | None:
        a = s.scalar(select(Article).where(Article.slug == slug))
        return None if a is None else _article_ref(a)

    return db.read(work)


def episodes_page(
    db: Database,
    /,
    *,
    today: dt.date | None = None,
    include_drafts: bool = False,
    window: Window = EVERYTHING,
) -> Page[EpisodeInfo]:
    """Return a window of the episodes of published articles, newest article first.

    Ties on the publication date: the higher issue first (one episode per article).

    Parameters
    ----------
    db
        The database.
    today
        The day that decides what is published (default: the server's date).
    include_drafts
        Also list the episodes of articles dated after ``today``.
    window
        The part of the list to return.
    """
    day = today or dt.date.today()

    def work(s: OrmSession) -> Page[EpisodeInfo]:
        q = select(Episode, Article).join(Article, Article.id == Episode.article_id)
        if not include_drafts:
            q = q.where(Article.published_on <= day)
        q = q.order_by(Article.published_on.desc(), Article.issue.desc())
        rows, total = select_page(s, q, window)
        return Page([_info(e, a) for e, a in rows], total)

    return db.read(work)


def list_episodes(
    db: Database, /, *, today: dt.date | None = None, include_drafts: bool = False
) -> list[EpisodeInfo]:
    """Return the episodes of published articles, newest article first.

    Parameters
    ----------
    db
        The database.
    today
        The day that decides what is published (default: the server's date).
    include_drafts
        Also list the episodes of articles dated after ``today``.
    """
    return episodes_page(db, today=today, include_drafts=include_drafts).items


def episode_for_article(db: Database, slug: str, /) -> EpisodeInfo | None:
    """Return the episode of the article with this slug (published or not), or None."""

    def work(s: OrmSession) -> EpisodeInfo | None:
        q = select(Episode, Article).join(Article, Article.id == Episode.article_id)
        hit = s.execute(q.where(Article.slug == slug)).first()
        return None if hit is None else _info(*hit)

    return db.read(work)


def episode_by_audio(db: Database, audio_name: str, /) -> EpisodeInfo | None:
    """Return the episode whose stored audio file has this name, or None."""
    if not is_audio_name(audio_name):
        return None

    def work(s: OrmSession) -> EpisodeInfo | None:
        q = select(Episode, Article).join(Article, Article.id == Episode.article_id)
        hit = s.execute(q.where(Episode.audio_name == audio_name)).first()
        return None if hit is None else _info(*hit)

    return db.read(work)


# ---- writing -------------------------------------------------------------------------------------


def _clean_title(title: str, fallback: str) -> str:
    text = " ".join(clean_text(title).split()) or fallback
    if len(text) > MAX_TITLE_CHARS:
        raise BadValueError(f"The title is longer than {MAX_TITLE_CHARS} characters.")
    return text


def attach_episode(
    db: Database,
    account: Account,
    article_slug: str,
    upload: Path,
    title: str,
    /,
    *,
    folder: Path,
) -> EpisodeInfo:
    """Make an uploaded audio file the episode of an article (replacing any earlier one).

    The file is checked (:func:`check_audio`) and moved to ``folder`` under a new random name
    with the extension of its type. An episode that is replaced keeps its guid (podcast apps
    know it as the same episode); its old audio file is deleted once the new row is committed.

    Parameters
    ----------
    db
        The database.
    account
        Who attaches it: an admin.
    article_slug
        The article's slug.
    upload
        The received file. This function takes it over: on any failure it is deleted.
    title
        The episode's title; blank for the article's title.
    folder
        The podcast folder (:func:`podcast_dir`).

    Returns
    -------
    EpisodeInfo
        The episode as stored.

    Raises
    ------
    NotAllowedError
        When the account is not an admin.
    NoSuchArticleError
        When no article has this slug.
    NotAudioError
        When the file is not accepted audio.
    kneeback.errors.BadValueError
        When the title is too long.
    """
    stored: Path | None = None
    try:
        if account.role != "admin":
            raise NotAllowedError("Only admins attach podcast episodes.")
        article = find_article(db, article_slug)
        if article is None:
            raise NoSuchArticleError(f"No article {article_slug!r}.")
        text = _clean_title(title, article.title)
        mime, duration_s = check_audio(upload)
        ext = next(e for m, e, _ in AUDIO_TYPES.values() if m == mime)
        folder.mkdir(parents=True, exist_ok=True)
        target = stored = folder / f"{secrets.token_hex(16)}{ext}"
        os.replace(upload, target)
        size = target.stat().st_size

        def work(s: OrmSession) -> tuple[EpisodeInfo, str | None]:
            a = s.scalar(select(Article).where(Article.slug == article_slug))
            if a is None:  # deleted since it was looked up
                raise NoSuchArticleError(f"No article {article_slug!r}.")
            e = s.scalar(select(Episode).where(Episode.article_id == a.id))
            old = None
            if e is None:
                e = Episode(guid=str(uuid.uuid4()), article_id=a.id)
                s.add(e)
            else:
                old = e.audio_name
            e.title = text
            e.audio_name = target.name
            e.audio_bytes = size
            e.audio_type = mime
            e.duration_s = duration_s
            e.created_at = utcnow()
            s.flush()
            return _info(e, a), old

        info, old_name = db.write(work)
    except BaseException:
        upload.unlink(missing_ok=True)
        if stored is not None:
            stored.unlink(missing_ok=True)
        raise
    if old_name is not None and old_name != info.audio_name and is_audio_name(old_name):
        (folder / old_name).unlink(missing_ok=True)
    return info


def rename_episode(db: Database, account: Account, article_slug: str, title: str, /) -> EpisodeInfo:
    """Change the title of an article's episode, keeping its audio file, address and guid.

    Parameters
    ----------
    db
        The database.
    account
        Who renames it: an admin.
    article_slug
        The article's slug.
    title
        The new title; blank for the article's title.

    Returns
    -------
    EpisodeInfo
        The episode as stored.

    Raises
    ------
    NotAllowedError
        When the account is not an admin.
    NoSuchArticleError
        When no article has this slug, or it has no episode.
    kneeback.errors.BadValueError
        When the title is too long.
    """
    if account.role != "admin":
        raise NotAllowedError("Only admins rename podcast episodes.")

    def work(s: OrmSession) -> EpisodeInfo:
        q = select(Episode, Article).join(Article, Article.id == Episode.article_id)
        hit = s.execute(q.where(Article.slug == article_slug)).first()
        if hit is None:
            raise NoSuchArticleError(f"No episode for the article {article_slug!r}.")
        e, a = hit
        e.title = _clean_title(title, a.title)
        s.flush()
        return _info(e, a)

    return db.write(work)
