"""Dream pages. Lookups always go through the signed-in owner: another user's dream is a 404."""

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.http import AuthenticatedRequest
from generation.registry import backend_label, offered_backends
from jobs import budget
from jobs.invocations import invocations_of
from lib.files import file_response
from lib.forms import form_status
from lib.money import format_usd

from . import services
from .forms import DreamForm
from .models import Dream


def _owned_dream(request: AuthenticatedRequest, public_id: UUID) -> Dream:
    return get_object_or_404(Dream, public_id=public_id, owner=request.user)


def _initial_from(request: AuthenticatedRequest) -> dict[str, Any]:
    """Form values copied from one of the user's dreams (``?from=<id>``), to edit and resend."""
    source = request.GET.get("from")
    if not source:
        return {}
    try:
        dream = Dream.objects.get(public_id=source, owner=request.user)
    except (Dream.DoesNotExist, ValidationError):
        return {}
    return {
        "character": dream.character.public_id if dream.character else None,
        "prompt": dream.prompt,
        "backend": dream.backend,
        "duration": f"{dream.requested_seconds:g}",
        "aspect_ratio": dream.aspect_ratio,
        "first_frame": dream.first_frame,
        "draw_first_frame": dream.draw_first_frame,
    }


@login_required
def dream_create(request: AuthenticatedRequest) -> HttpResponse:
    """GET: the new-dream form (prefilled from one of the user's dreams with ``?from=<id>``). POST:
    ``create_dream``; the dream's page on success, else the form again (400) with the service's
    message."""
    backends = offered_backends()
    form = DreamForm(
        request.POST or None, owner=request.user, backends=backends, initial=_initial_from(request)
    )
    if request.method == "POST" and form.is_valid():
        try:
            dream = services.create_dream(
                owner=request.user,
                character=form.cleaned_data["character"],
                prompt=form.cleaned_data["prompt"],
                backend=form.cleaned_data["backend"],
                seed=form.cleaned_data["seed"],
                duration_seconds=form.cleaned_data["duration"],
                aspect_ratio=form.cleaned_data["aspect_ratio"],
                first_frame=form.cleaned_data["first_frame"],
                draw_first_frame=form.cleaned_data.get("draw_first_frame", False),
                submission_key=form.cleaned_data["submission"],
            )
        except services.DreamError as error:
            form.add_error(None, error.message)
        else:
            return redirect("dreams:detail", public_id=dream.public_id)
    context = {
        "form": form,
        "budget_left": format_usd(budget.remaining_today_usd(owner=request.user)),
        "daily_budget": format_usd(budget.daily_budget_usd()),
        "any_paid": any(offer["is_paid"] for offer in form.offers.values()),
    }
    return render(request, "dreams/form.html", context, status=form_status(form))


@login_required
def dream_detail(request: AuthenticatedRequest, public_id: UUID) -> HttpResponse:
    """A dream's page: its live progress (the websocket's first state), video and poster. 404 for
    another user's dream."""
    dream = _owned_dream(request, public_id)
    context = {
        "dream": dream,
        "backend_label": backend_label(dream.backend),
        "event": dream.progress_event(),
        "is_cloud": invocations_of(dream).exists(),
    }
    return render(request, "dreams/detail.html", context)


@login_required
@require_POST
def dream_cancel(request: AuthenticatedRequest, public_id: UUID) -> HttpResponse:
    """POST: ``cancel_dream``, then back to the dream's page with the service's message."""
    try:
        services.cancel_dream(dream=_owned_dream(request, public_id))
    except services.DreamError as error:
        messages.error(request, error.message)
    else:
        messages.info(request, "Dream cancelled.")
    return redirect("dreams:detail", public_id=public_id)


@login_required
@require_POST
def dream_retry(request: AuthenticatedRequest, public_id: UUID) -> HttpResponse:
    """POST: ``retry_dream``, then back to the dream's page with the service's message."""
    try:
        services.retry_dream(dream=_owned_dream(request, public_id))
    except services.DreamError as error:
        messages.error(request, error.message)
    return redirect("dreams:detail", public_id=public_id)


@login_required
def dream_delete(request: AuthenticatedRequest, public_id: UUID) -> HttpResponse:
    """GET: confirm. POST: ``delete_dream`` (its files too), then the history."""
    dream = _owned_dream(request, public_id)
    if request.method == "POST":
        services.delete_dream(dream=dream)
        messages.success(request, "Dream deleted.")
        return redirect("history:list")
    return render(request, "dreams/delete.html", {"dream": dream})


@login_required
def dream_video(request: AuthenticatedRequest, public_id: UUID) -> HttpResponseBase:
    """The dream's MP4 to its owner (``?download=1``: as an attachment), through
    ``lib.files.file_response`` (a presigned link on S3). 404 for anyone else."""
    dream = _owned_dream(request, public_id)
    download = f"dream-{dream.public_id}.mp4" if request.GET.get("download") else None
    return file_response(request, dream.video, download_name=download)


@login_required
def dream_poster(request: AuthenticatedRequest, public_id: UUID) -> HttpResponseBase:
    """The dream's poster JPEG to its owner; 404 for anyone else."""
    return file_response(request, _owned_dream(request, public_id).poster)
