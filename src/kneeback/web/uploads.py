"""Receiving an uploaded clip: streamed to disk in chunks, size-limited, type checked by content.

The request body (``multipart/form-data``) is parsed as it arrives; the file part is written in
chunks to a random name inside the upload folder (the client's file name is never used for the
path), counting bytes: past the limit the partial file is deleted and
:class:`UploadTooLargeError` is raised. What the file is comes from its content: FFmpeg (PyAV)
must recognise a video container and decode a frame of it (:func:`check_video`).
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from python_multipart.multipart import MultipartParser, parse_options_header

from kneeback.errors import InputError

__all__ = [
    "ACCEPTED_CONTAINERS",
    "BadUploadError",
    "ReceivedUpload",
    "UnsupportedMediaError",
    "UploadTooLargeError",
    "check_video",
    "receive_upload",
    "size_text",
]

#: FFmpeg demuxers of the containers phones and cameras record in (MP4/MOV, WebM/MKV, AVI, MPEG).
ACCEPTED_CONTAINERS = frozenset(
    {"mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "avi", "mpegts", "mpeg"}
)
#: Largest text field accepted next to the file, and how many text fields are accepted.
MAX_FIELD_BYTES = 4096
MAX_FIELDS = 16


class BadUploadError(ValueError):
    """The request is not a well-formed upload form."""


class UploadTooLargeError(ValueError):
    """The upload is over the size limit."""


class UnsupportedMediaError(ValueError):
    """The uploaded file is not a video that can be analysed."""


@dataclass
class ReceivedUpload:
    """An upload saved to disk.

    Attributes
    ----------
    path
        Where the file was saved (a random name inside the upload folder).
    size
        Its size in bytes.
    fields
        The form's text fields.
    sha256
        The SHA-256 of the file, in hex.
    """

    path: Path
    size: int
    fields: dict[str, str] = field(default_factory=dict)
    sha256: str = ""


def size_text(n_bytes: int, /) -> str:
    """Return a size for people: ``"200 MB"``, ``"2 kB"``."""
    if n_bytes >= 1024 * 1024:
        return f"{n_bytes / (1024 * 1024):.0f} MB"
    return f"{max(1, round(n_bytes / 1024))} kB"


class _FormSink:
    """Callbacks of the multipart parser: text fields to memory, the file part to ``partial``."""

    def __init__(
        self,
        partial: Path,
        /,
        *,
        file_field: str,
        max_bytes: int,
        before_file: Callable[[dict[str, str]], None] | None,
        noun: str = "clip",
    ) -> None:
        self.partial = partial
        self.file_field = file_field
        self.noun = noun
        self.max_bytes = max_bytes
        self.before_file = before_file
        self.fields: dict[str, str] = {}
        self.fh: BinaryIO | None = None
        self.size = 0
        self.digest = hashlib.sha256()
        self.seen_file = False
        self.refused: Exception | None = None
        self._name = ""
        self._in_file = False
        self._header = b""
        self._value = b""
        self._headers: dict[bytes, bytes] = {}
        self._buf = bytearray()

    def on_part_begin(self) -> None:
        self._headers = {}
        self._buf.clear()
        self._name = ""
        self._in_file = False

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._header.lower()] = self._value
        self._header, self._value = b"", b""

    def on_headers_finished(self) -> None:
        _, opts = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = opts.get(b"name", b"").decode("utf-8", "replace")
        if self._name != self.file_field or b"filename" not in opts:
            if len(self.fields) >= MAX_FIELDS:
                raise BadUploadError("The form has too many fields.")
            return
        if self.seen_file:
            raise BadUploadError(f"Send one {self.noun} at a time.")
        self.seen_file = True
        if self.before_file is not None:
            try:
                self.before_file(dict(self.fields))
            except Exception as exc:
                self.refused = exc
                raise
        self.fh = open(self.partial, "wb")  # noqa: SIM115 - closed at the part's end or on failure
        self._in_file = True

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file and self.fh is not None:
            self.size += end - start
            if self.size > self.max_bytes:
                size = size_text(self.max_bytes)
                raise UploadTooLargeError(f"The {self.noun} is larger than {size}.")
            self.fh.write(data[start:end])
            self.digest.update(data[start:end])
            return
        self._buf.extend(data[start:end])
        if len(self._buf) > MAX_FIELD_BYTES:
            raise BadUploadError("A form field is too long.")

    def on_part_end(self) -> None:
        if self._in_file and self.fh is not None:
            self.fh.close()
            self.fh = None
        elif self._name:
            self.fields[self._name] = self._buf.decode("utf-8", "replace")


async def receive_upload(
    content_type: str,
    body: AsyncIterator[bytes],
    /,
    *,
    upload_dir: Path,
    max_bytes: int,
    file_field: str = "file",
    before_file: Callable[[dict[str, str]], None] | None = None,
    noun: str = "clip",
) -> ReceivedUpload:
    """Stream a ``multipart/form-data`` body to a new file in ``upload_dir``.

    Parameters
    ----------
    content_type
        The request's Content-Type header.
    body
        The request body as it arrives (``request.stream()``).
    upload_dir
        Folder to save into (created if missing).
    max_bytes
        Largest file accepted.
    file_field
        Name of the form field holding the file.
    before_file
        Called with the text fields read so far when the file part begins, before any of it is
        written (e.g. to check a CSRF token); what it raises ends the upload.
    noun
        What the file is called in error messages (``"clip"``, ``"audio file"``).

    Returns
    -------
    ReceivedUpload
        The saved file and the text fields.

    Raises
    ------
    BadUploadError
        When the body is not multipart form data or holds no file.
    UploadTooLargeError
        When the file is bigger than ``max_bytes`` (nothing is left on disk).
    """
    ctype, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise BadUploadError("Send the clip as multipart/form-data.")
    upload_dir.mkdir(parents=True, exist_ok=True)
    final = upload_dir / secrets.token_hex(16)
    sink = _FormSink(
        upload_dir / f".{final.name}.part",
        file_field=file_field,
        max_bytes=max_bytes,
        before_file=before_file,
        noun=noun,
    )
    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": sink.on_part_begin,
            "on_part_data": sink.on_part_data,
            "on_part_end": sink.on_part_end,
            "on_header_field": sink.on_header_field,
            "on_header_value": sink.on_header_value,
            "on_header_end": sink.on_header_end,
            "on_headers_finished": sink.on_headers_finished,
        },
    )
    try:
        async for chunk in body:
            parser.write(chunk)
        parser.finalize()
        if sink.fh is not None:
            raise BadUploadError(f"The upload ended before the {noun} was complete.")
        if not sink.seen_file:
            raise BadUploadError(f"The form holds no {noun}: choose a file to send.")
        os.replace(sink.partial, final)
    except BaseException as exc:
        if sink.fh is not None:
            sink.fh.close()
        sink.partial.unlink(missing_ok=True)
        if sink.refused is not None:
            raise sink.refused from None
        if isinstance(exc, UploadTooLargeError | BadUploadError):
            raise
        if isinstance(exc, Exception) and not isinstance(exc, OSError):
            raise BadUploadError("The upload is not well-formed form data.") from exc
        raise
    return ReceivedUpload(
        path=final, size=sink.size, fields=sink.fields, sha256=sink.digest.hexdigest()
    )


def check_video(path: Path, /) -> None:
    """Check from the content that a file is a video kneeback can analyse.

    Parameters
    ----------
    path
        The saved upload.

    Raises
    ------
    UnsupportedMediaError
        With one sentence, when the file is empty (on a phone, usually a picker or a cloud
        download that failed), when FFmpeg does not read it as a video container
        (:data:`ACCEPTED_CONTAINERS`; still images and audio are refused) or no frame decodes.
    """
    import av

    from kneeback.io.video import probe_video

    if path.stat().st_size == 0:
        raise UnsupportedMediaError("The file arrived empty: choose it again.")

    sentence = "This file is not a video kneeback can read; upload an MP4, MOV or WebM clip."
    try:
        with av.open(str(path)) as container:
            fmt = container.format.name
    except (av.FFmpegError, OSError, UnicodeDecodeError, ValueError):
        raise UnsupportedMediaError(sentence) from None
    if fmt not in ACCEPTED_CONTAINERS:
        raise UnsupportedMediaError(sentence)
    try:
        info = probe_video(path)
    except InputError:
        raise UnsupportedMediaError(sentence) from None
    if info.frame_count is not None and info.frame_count < 2:
        raise UnsupportedMediaError("This file holds a single picture, not a clip; upload a video.")
