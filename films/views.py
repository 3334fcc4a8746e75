"""Film pages. Lookups always go through the signed-in owner: another user's film, scene or
file is a 404."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.http import AuthenticatedRequest
from generation.beats import GENRES
from generation.registry import backend_label, offered_backends
from generation.styles import STYLES
from generation.voices import find_voice
from generation.writers import offered_writers
from jobs import budget
from lib.forms import form_status
from lib.money import format_usd

from . import services
from .assembly import film_chapters
from .errors import FilmError
from .forms import FilmForm, SceneForm
from .models import Film, Scene
from .quote import Quote, film_has_changes, quote_film
from .revisions import revision_context
from .script import create_film
from .writing import writer_context


def owned_film(request: AuthenticatedRequest, public_id: UUID) -> Film:
    """The signed-in user's film ``public_id``; 404 for anyone else's or none."""
    return get_object_or_404(Film, public_id=public_id, owner=request.user)


def owned_scene(request: AuthenticatedRequest, public_id: UUID, scene_id: UUID) -> Scene:
    return get_object_or_404(
        Scene.objects.select_related("film"),
        public_id=scene_id,
        film__public_id=public_id,
        owner=request.user,
    )


@login_required
def film_list(request: AuthenticatedRequest) -> HttpResponse:
    """The signed-in user's films, newest first."""
    films = Film.objects.filter(owner=request.user).order_by("-created_at", "-id")
    return render(request, "films/list.html", {"films": films})


@login_required
def film_create(request: AuthenticatedRequest) -> HttpResponse:
    """GET: the new-film form. POST: ``create_film`` (the script written, the storyboard prepared);
    the film's storyboard, or the form again (400) with the service's message."""
    backends = offered_backends()
    # "Make a film with …" on a character's page names them as the cast.
    initial = {"cast": request.GET.getlist("cast")} if request.method == "GET" else {}
    form = FilmForm(
        request.POST or None, owner=request.user, backends=backends, initial=initial,
        writers=offered_writers(),
    )  # fmt: skip
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            film = create_film(
                owner=request.user,
                title=data["title"],
                idea=data["idea"],
                genre=data["genre"],
                theme=data["theme"],
                style=data["style"],
                cast=list(data["cast"]),
                target_seconds=data["target_seconds"],
                scene_count=data["scene_count"],
                voice=data["voice"],
                music_mood=data["music_mood"],
                backend=data["backend"],
                chaining=data["chaining"],
                burn_subtitles=data["burn_subtitles"],
                draw_keyframes=data.get("draw_keyframes", False),
                writer=data.get("writer") or "template",
                submission_key=data["submission"],
            )
        except FilmError as error:
            form.add_error(None, error.message)
        else:
            return redirect("films:detail", public_id=film.public_id)
    # Each style's sample: two fixture photos graded by the same code as the keyframes
    # (manage.py render_style_samples).
    samples = {
        key: {"url": static(f"img/styles/{key}.jpg"), "description": description}
        for key, (_, description) in STYLES.items()
    }
    context = {"form": form, "samples": samples}
    return render(request, "films/form.html", context, status=form_status(form))


def _scene_rows(
    film: Film, quote: Quote, bound: tuple[Scene, SceneForm] | None = None
) -> list[dict[str, Any]]:
    """Each scene's card: the scene, its live event, its share of the quote and its edit form
    (``bound``'s form for ``bound``'s scene: what the user typed, with its errors, open)."""
    rows = []
    scenes = film.scenes.prefetch_related("cast").order_by("position")
    for index, scene in enumerate(scenes):
        rows.append(
            {
                "scene": scene,
                # What a message about this scene carries (``tell``), so its card shows it.
                "tag": str(scene.public_id),
                "event": scene.progress_event(),
                "seconds": quote.scene_seconds[index] if index < len(quote.scene_seconds) else None,
                "cost": format_usd(quote.scene_costs[index])
                if index < len(quote.scene_costs)
                else "",
                "form": SceneForm(
                    initial={
                        "heading": scene.heading,
                        "shot": scene.shot,
                        "narration": scene.narration,
                        "first_frame_text": scene.first_frame_text,
                        "last_frame_text": scene.last_frame_text,
                        "framing": scene.framing,
                        "transition": scene.transition,
                        "cast": [character.public_id for character in scene.cast.all()],
                    },
                    film=film,
                    prefix=f"scene-{scene.public_id}",
                ),
                "open": False,
            }
        )
        if bound is not None and bound[0].pk == scene.pk:
            rows[-1].update(form=bound[1], open=True)
    return rows


@login_required
def film_detail(request: AuthenticatedRequest, public_id: UUID) -> HttpResponse:
    """A film's page: its storyboard with each scene's keyframes, narration and clip, the quote, and
    its video once assembled. 404 for another user's film."""
    return _film_page(request, owned_film(request, public_id))


def _film_page(
    request: AuthenticatedRequest,
    film: Film,
    *,
    bound: tuple[Scene, SceneForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    quote = quote_film(film=film)
    context = {
        "film": film,
        "event": film.progress_event(),
        "scenes": _scene_rows(film, quote, bound),
        "quote": quote,
        "quote_cost": format_usd(quote.cost_usd),
        "budget_left": format_usd(budget.remaining_today_usd(owner=request.user)),
        "backend_label": backend_label(film.backend),
        "style_label": STYLES.get(film.style, (film.style, ""))[0],
        "voice": find_voice(film.voice),
        "genre_label": GENRES[film.genre].label if film.genre in GENRES else film.genre,
        # A failed or cancelled film offers Retry; a finished one, Render changes only when
        # something changed since.
        "chapters": [
            {"title": title, "start": start, "clock": f"{int(start // 60)}:{int(start % 60):02d}"}
            for title, start in film_chapters(film=film)
        ],
        **writer_context(film),
        **revision_context(film),
        "can_render": film.can_edit
        and not film.is_writing
        and not film.can_retry
        and (film.status != "succeeded" or film_has_changes(film=film)),
    }
    return render(request, "films/detail.html", context, status=status)


def act(
    request: AuthenticatedRequest,
    public_id: UUID,
    action: Any,
    done: str = "",
    *,
    place: Scene | None = None,
) -> HttpResponse:
    """Run a storyboard action; its error (or ``done``) is shown on the film page, beside
    ``place`` (a scene) when given, where the page opens: an edit keeps the user's place in a
    long storyboard. ``action`` may return the scene to show instead (one just added)."""
    try:
        shown = action()
    except FilmError as error:
        tell(request, error.message, place=place, error=True)
    else:
        place = shown if isinstance(shown, Scene) else place
        if done:
            tell(request, done, place=place)
    return to_film(public_id, place=place)


def tell(
    request: AuthenticatedRequest, text: str, *, place: Scene | None, error: bool = False
) -> None:
    # A message about one scene is shown in that scene's card (the page opens there), not at
    # the top of the page, out of sight.
    tags = f"for-scene {place.public_id}" if place is not None else ""
    (messages.error if error else messages.info)(request, text, extra_tags=tags)


def to_film(public_id: UUID, *, place: Scene | None = None) -> HttpResponse:
    url = reverse("films:detail", kwargs={"public_id": public_id})
    return redirect(f"{url}#scene-{place.public_id}" if place is not None else url)


@login_required
@require_POST
def scene_update(request: AuthenticatedRequest, public_id: UUID, scene_id: UUID) -> HttpResponse:
    """POST: ``update_scene`` from the scene's form; the storyboard again (400) with what was
    wrong."""
    scene = owned_scene(request, public_id, scene_id)
    form = SceneForm(request.POST, film=scene.film, prefix=f"scene-{scene.public_id}")
    if form.is_valid():
        try:
            services.update_scene(
                scene=scene, **{**form.cleaned_data, "cast": list(form.cleaned_data["cast"])}
            )
        except FilmError as error:
            form.add_error(None, error.message)
        else:
            tell(request, f"Scene {scene.number} saved.", place=scene)
            return to_film(public_id, place=scene)
    # The page again, the scene's form open with what was typed and each error by its field
    # (the form's address ends #scene-…, so the page opens there).
    errors = " ".join(str(error) for error in form.non_field_errors())
    tell(request, f"Scene {scene.number} was not saved. {errors}".strip(), place=scene, error=True)
    return _film_page(request, scene.film, bound=(scene, form), status=400)


@login_required
@require_POST
def film_render(request: AuthenticatedRequest, public_id: UUID) -> HttpResponse:
    """POST: ``render_film``: reserve the quote against the daily budget and queue the film."""
    film = owned_film(request, public_id)
    return act(request, public_id, lambda: services.render_film(film=film))


@login_required
@require_POST
def film_cancel(request: AuthenticatedRequest, public_id: UUID) -> HttpResponse:
    """POST: ``cancel_film``: stop the film and its scenes still queued or rendering."""
    film = owned_film(request, public_id)
    return act(request, public_id, lambda: services.cancel_film(film=film), "Film cancelled.")


@login_required
@require_POST
def film_retry(request: AuthenticatedRequest, public_id: UUID) -> HttpResponse:
    """POST: ``retry_film``: render a failed or cancelled film again from what failed."""
    film = owned_film(request, public_id)
    return act(request, public_id, lambda: services.retry_film(film=film))


@login_required
def film_delete(request: AuthenticatedRequest, public_id: UUID) -> HttpResponse:
    """GET: confirm. POST: ``delete_film`` (every file too), then the list of films."""
    film = owned_film(request, public_id)
    if request.method == "POST":
        services.delete_film(film=film)
        messages.success(request, "Film deleted.")
        return redirect("films:list")
    return render(request, "films/delete.html", {"film": film})
