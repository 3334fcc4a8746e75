"""A draft film's preparation, as its ``prepare_storyboard`` message runs it: the script a
language model writes (``films.writing``) or a rewrite it was asked for (``films.revisions``)
first, then the storyboard's stale keyframes and narrations (``films.storyboard``)."""

from __future__ import annotations

from .models import Film
from .revisions import revise_film
from .storyboard import prepare_storyboard
from .writing import write_film_script


def prepare_film(*, film_id: int) -> None:
    """Prepare film ``film_id``'s storyboard, writing its script or a rewrite first; a script
    that could not be written yet (it failed, saying why, or waits for a busy model) leaves
    nothing to prepare. Nothing for a film that renders or is gone."""
    film = Film.objects.filter(pk=film_id).first()
    if film is None or film.is_active:
        return
    if film.is_writing and not write_film_script(film=film):
        return
    if film.revision_scope and not film.error:
        revise_film(film=film)
    prepare_storyboard(film_id=film_id)
