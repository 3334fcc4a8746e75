"""The storyboard's scene actions: move, delete, add, new keyframes and a new take; each
reports on the film page beside its scene."""

from __future__ import annotations

from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.views.decorators.http import require_POST

from accounts.http import AuthenticatedRequest

from . import services
from .errors import FilmError
from .views import act, owned_film, owned_scene, tell, to_film


@login_required
@require_POST
def scene_move(request: AuthenticatedRequest, public_id: UUID, scene_id: UUID) -> HttpResponse:
    """POST: move a scene one place earlier or later (``offset``=-1|1)."""
    scene = owned_scene(request, public_id, scene_id)
    offset = {"up": -1, "down": 1}.get(request.POST.get("direction", ""))
    if offset is None:
        tell(request, "Move a scene “up” or “down”.", place=scene, error=True)
        return to_film(public_id, place=scene)
    return act(
        request, public_id, lambda: services.move_scene(scene=scene, offset=offset), place=scene
    )


@login_required
@require_POST
def scene_delete(request: AuthenticatedRequest, public_id: UUID, scene_id: UUID) -> HttpResponse:
    """POST: ``delete_scene`` (its files too); a film keeps at least one scene."""
    scene = owned_scene(request, public_id, scene_id)
    # The page opens where the scene was: at the one before it (or after, for the first).
    neighbours = scene.film.scenes.exclude(pk=scene.pk)
    near = (
        neighbours.filter(position__lt=scene.position).order_by("-position").first()
        or neighbours.order_by("position").first()
    )
    try:
        services.delete_scene(scene=scene)
    except FilmError as error:
        tell(request, error.message, place=scene, error=True)
        return to_film(public_id, place=scene)
    tell(request, f"Scene {scene.number} deleted.", place=near)
    return to_film(public_id, place=near)


@login_required
@require_POST
def scene_add(request: AuthenticatedRequest, public_id: UUID) -> HttpResponse:
    """POST: ``add_scene`` after the scene named by ``after`` (or at the end)."""
    film = owned_film(request, public_id)
    after = None
    if request.POST.get("after"):
        after = owned_scene(request, public_id, _uuid_or_404(request.POST["after"]))
    done = f"Scene added after scene {after.number}." if after else "Scene added at the end."
    return act(
        request, public_id, lambda: services.add_scene(film=film, after=after), done, place=after
    )


def _uuid_or_404(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise Http404() from None


@login_required
@require_POST
def scene_reroll(request: AuthenticatedRequest, public_id: UUID, scene_id: UUID) -> HttpResponse:
    """POST: ``reroll_keyframes``: new keyframes from a new seed (free)."""
    scene = owned_scene(request, public_id, scene_id)
    return act(request, public_id, lambda: services.reroll_keyframes(scene=scene), place=scene)


@login_required
@require_POST
def scene_rerender(request: AuthenticatedRequest, public_id: UUID, scene_id: UUID) -> HttpResponse:
    """POST: ``rerender_scene``: a new take of the scene's clip, then what depends on it."""
    scene = owned_scene(request, public_id, scene_id)
    return act(
        request,
        public_id,
        lambda: services.rerender_scene(scene=scene),
        f"Scene {scene.number} is being rendered again.",
        place=scene,
    )
