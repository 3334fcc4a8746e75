"""Serving stored media to the one user allowed to see it.

Media never has a public URL: each view finds the object through its owner first. On local disk
the file is then streamed through Django's storage API; in a private S3 bucket the view answers
with a redirect to a presigned URL that expires after ``MEDIA_URL_EXPIRE_SECONDS``, so video
bytes go straight from S3 to the browser (which handles ranges itself).

Responses stream from an async iterator. Django's ASGI handler would read a ``FileResponse``
over an ordinary file into memory whole before sending its first byte. A single byte range
(``Range: bytes=…``, RFC 9110 section 14) is answered with 206, which Safari needs to play
video at all and every browser needs to seek. The header is parsed by werkzeug.
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import AsyncIterator

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage
from django.db.models.fields.files import FieldFile
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.utils.http import content_disposition_header
from werkzeug.http import parse_range_header

#: Bytes read from storage per chunk sent.
CHUNK_BYTES = 256 * 1024


async def _stream(storage: Storage, name: str, start: int, length: int) -> AsyncIterator[bytes]:
    handle = await sync_to_async(storage.open)(name, "rb")
    try:
        if start:
            await sync_to_async(handle.seek)(start)
        remaining = length
        while remaining > 0:
            chunk = await sync_to_async(handle.read)(min(CHUNK_BYTES, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        await sync_to_async(handle.close)()


def _attachment(download_name: str) -> str:
    """A ``Content-Disposition`` that saves the file as ``download_name``."""
    return content_disposition_header(True, download_name) or "attachment"


def _presigned_redirect(storage: Storage, name: str, download_name: str | None) -> HttpResponse:
    parameters: dict[str, str] = {"ResponseCacheControl": "private, max-age=300"}
    if download_name:
        parameters["ResponseContentDisposition"] = _attachment(download_name)
    # django-storages' S3 storage takes these; Django's base Storage.url does not.
    url = storage.url(  # type: ignore[call-arg]
        name, parameters=parameters, expire=settings.MEDIA_URL_EXPIRE_SECONDS
    )
    response = HttpResponseRedirect(url)
    # The signed URL is this user's alone and short-lived: nothing may cache the redirect.
    response["Cache-Control"] = "private, no-store"
    return response


def file_response(
    request: HttpRequest, field_file: FieldFile, *, download_name: str | None = None
) -> HttpResponseBase:
    """Stream ``field_file`` privately, honouring a single byte range in ``request``.

    Returns 200 with the whole file, 206 with the requested bytes, or 416 when the range
    starts past the end (several ranges at once get the whole file, as RFC 9110 allows). With
    ``download_name`` the browser saves the file under that name. Raises ``Http404`` when the
    field is empty or the file is missing from storage.
    """
    if not field_file or not field_file.name:
        raise Http404("No such file.")
    storage, name = field_file.storage, field_file.name
    if not isinstance(storage, FileSystemStorage):
        return _presigned_redirect(storage, name, download_name)
    try:
        size = storage.size(name)
    except (FileNotFoundError, OSError):
        raise Http404("No such file.") from None

    start, length, status = 0, size, 200
    requested = parse_range_header(request.headers.get("Range"))
    if requested is not None and len(requested.ranges) == 1:
        span = requested.range_for_length(size)
        if span is None:
            refused = HttpResponse(status=416)
            refused["Content-Range"] = f"bytes */{size}"
            return refused
        start, length, status = span[0], span[1] - span[0], 206

    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    response = StreamingHttpResponse(
        _stream(storage, name, start, length), status=status, content_type=content_type
    )
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    if status == 206:
        response["Content-Range"] = f"bytes {start}-{start + length - 1}/{size}"
    if download_name:
        response["Content-Disposition"] = _attachment(download_name)
    # Private to this signed-in user: no shared cache may keep a copy.
    response["Cache-Control"] = "private, max-age=3600"
    return response


def versioned_url(url: str, name: str) -> str:
    """``url`` of a view serving the stored file ``name``, made unique to that file: each new
    file of a job has a new stored name, so a page shows it at a new address rather than the
    copy its browser cached (files are cached privately for an hour) of the one it replaced."""
    return f"{url}?v={hashlib.sha256(name.encode()).hexdigest()[:12]}"
