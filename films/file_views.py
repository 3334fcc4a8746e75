"""A film's files to its owner: the MP4, poster, subtitles and each scene's keyframes,
narration, clip and thumbnail. Lookups go through the signed-in owner: another user's film,
scene or file is a 404."""

from __future__ import annotations

from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.utils.http import content_disposition_header
from django.utils.text import slugify

from accounts.http import AuthenticatedRequest
from lib.files import file_response

from .models import Film, Scene

#: Files of a scene a page may link to, by field name.
SCENE_FILES = ("first_keyframe", "last_keyframe", "thumbnail", "clip", "narration_audio")


def _owned_film(request: AuthenticatedRequest, public_id: UUID) -> Film:
    return get_object_or_404(Film, public_id=public_id, owner=request.user)


def _owned_scene(request: AuthenticatedRequest, public_id: UUID, scene_id: UUID) -> Scene:
    return get_object_or_404(
        Scene, public_id=scene_id, film__public_id=public_id, owner=request.user
    )


def download_stem(film: Film) -> str:
    """A downloaded file's name without its extension: the film's title as a slug (letters of
    any script kept), or "film" when nothing of it is left."""
    return slugify(film.title, allow_unicode=True)[:80].strip("-") or "film"


@login_required
def film_video(request: AuthenticatedRequest, public_id: UUID) -> HttpResponseBase:
    """The film's MP4 to its owner (``?download=1``: as an attachment named after its title); 404
    for anyone else."""
    film = _owned_film(request, public_id)
    download = f"{download_stem(film)}.mp4" if request.GET.get("download") else None
    return file_response(request, film.video, download_name=download)


@login_required
def film_poster(request: AuthenticatedRequest, public_id: UUID) -> HttpResponseBase:
    """The film's poster JPEG to its owner; 404 for anyone else."""
    return file_response(request, _owned_film(request, public_id).poster)


@login_required
def film_subtitles(request: AuthenticatedRequest, public_id: UUID, format: str) -> HttpResponseBase:
    """The film's subtitles (``vtt`` or ``srt``, UTF-8) to its owner, served by the portal even when
    media is on S3 (a ``<track>`` must be same-origin); 404 for anyone else or none yet."""
    film = _owned_film(request, public_id)
    field = {"vtt": film.subtitles_vtt, "srt": film.subtitles_srt}.get(format)
    if field is None or not field:
        raise Http404()
    # Served by the portal even when media is on S3: a <track> from another origin would
    # need CORS on the bucket, and subtitles are a few kilobytes.
    try:
        with field.open("rb") as source:
            text = source.read()
    except FileNotFoundError:
        raise Http404() from None
    content_type = "text/vtt" if format == "vtt" else "application/x-subrip"
    response = HttpResponse(text, content_type=f"{content_type}; charset=utf-8")
    response["Cache-Control"] = "private, max-age=3600"
    if request.GET.get("download"):
        disposition = content_disposition_header(
            as_attachment=True, filename=f"{download_stem(film)}.{format}"
        )
        response["Content-Disposition"] = disposition or "attachment"
    return response


@login_required
def scene_file(
    request: AuthenticatedRequest, public_id: UUID, scene_id: UUID, field: str
) -> HttpResponseBase:
    """A scene's keyframe, narration, clip or thumbnail to its owner, through
    ``lib.files.file_response``; 404 for anyone else or an unknown field."""
    if field not in SCENE_FILES:
        raise Http404()
    return file_response(request, getattr(_owned_scene(request, public_id, scene_id), field))
