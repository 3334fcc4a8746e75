"""The film page's actions on a script a language model writes: ask it again, write it with
the offline template instead, or ask the model to rewrite a scene or the script, or to
continue it."""

from __future__ import annotations

from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.views.decorators.http import require_POST

from accounts.http import AuthenticatedRequest

from .revisions import ask_revision, scene_by_id
from .views import act, owned_film
from .writing import retry_writing, write_with_template


@login_required
@require_POST
def script_retry(request: AuthenticatedRequest, public_id: UUID) -> HttpResponse:
    """POST: ``retry_writing`` (a new charge reserved); the film page says what happened."""
    film = owned_film(request, public_id)
    return act(request, public_id, lambda: retry_writing(film=film), "Writing the script again.")


@login_required
@require_POST
def script_template(request: AuthenticatedRequest, public_id: UUID) -> HttpResponse:
    """POST: ``write_with_template``: the storyboard at once, free."""
    film = owned_film(request, public_id)
    return act(
        request, public_id, lambda: write_with_template(film=film), "The template wrote the script."
    )


@login_required
@require_POST
def script_revise(request: AuthenticatedRequest, public_id: UUID) -> HttpResponse:
    """POST ``scope`` ("scene" with ``scene``, "script" or "continue") and ``instruction``:
    ``ask_revision``; the film page says it is being written, or why not."""
    film = owned_film(request, public_id)
    scope = request.POST.get("scope", "")
    scene = scene_by_id(film, _uuid(request.POST.get("scene", "")))
    done = {
        "scene": f"Scene {scene.number if scene else ''} is being rewritten; it changes here "
        "when it is written.",
        "script": "The script is being rewritten; the storyboard changes when it is written.",
    }
    return act(
        request, public_id,
        lambda: ask_revision(
            film=film, scope=scope, scene=scene, instruction=request.POST.get("instruction", "")
        ),
        done.get(scope, "Writing the next scene."),
        place=scene,
    )  # fmt: skip


def _uuid(text: str) -> UUID | None:
    try:
        return UUID(text)
    except ValueError:
        return None
