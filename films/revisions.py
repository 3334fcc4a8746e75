"""Step: a language model changes a written storyboard. "Rewrite" one scene or the whole
script with the director's instruction, or "Continue" with a scene that follows the last; the
rest of the storyboard is kept. Asking (``ask_revision``) reserves the most it may cost and
marks the film; the storyboard's preparation writes it (``revise_film``), applies only what
was asked, settles the charge, and makes the changed scenes' keyframes and narration."""

from __future__ import annotations

import dataclasses
import logging
import random
from typing import Any
from uuid import UUID

from django.db import transaction

from generation.script import MAX_SCENES as SCRIPT_MAX_SCENES
from generation.video import visible_text
from generation.writers import offered_writers
from generation.writing import Revision, ScriptBrief, ScriptWriter, WriterError
from jobs.events import publish

from .errors import FilmError
from .models import Film, Scene
from .script_scenes import add_written_scene
from .storyboard import prepare_on_commit
from .writing import brief_of, fail_writing, reserve_script, settle_script

logger = logging.getLogger(__name__)

#: Longest instruction a director gives a rewrite, in characters.
INSTRUCTION_MAX_CHARS = 500
SCOPES = ("scene", "script", "continue")


def revision_writer(film: Film) -> ScriptWriter | None:
    """The language model that revises ``film``'s script: its own writer when that is a model
    offered here, else the first model offered; None where no model is offered."""
    models = [writer for writer in offered_writers() if writer.paid]
    for writer in models:
        if writer.name == film.writer:
            return writer
    return models[0] if models else None


def revision_context(film: Film) -> dict[str, str]:
    """What the film page says about revisions: ``reviser_label`` (the model that would
    rewrite it; "" where none is offered) and ``revision_note`` (what is being rewritten now;
    "" when nothing is)."""
    writer = revision_writer(film)
    label = writer.label if writer else ""
    note = ""
    if film.revision_scope == "scene":
        scene = scene_by_id(film, film.revision_scene)
        note = f"Rewriting scene {scene.number if scene else ''} with {label}…"
    elif film.revision_scope == "script":
        note = f"Rewriting the script with {label}…"
    elif film.revision_scope == "continue":
        note = f"Writing the next scene with {label}…"
    return {"reviser_label": label, "revision_note": note}


def current_script(film: Film) -> dict[str, Any]:
    """The film's storyboard as a script of the schema's shape (its scenes in order)."""
    scenes = film.scenes.prefetch_related("cast").order_by("position")
    return {
        "title": film.title,
        "logline": film.logline or film.title,
        "scenes": [
            {
                "heading": scene.heading,
                "shot": scene.shot,
                "narration": scene.narration,
                "first_frame": scene.first_frame_text,
                "last_frame": scene.last_frame_text,
                "cast": [character.name for character in scene.cast.all()],
                "framing": scene.framing,
                "duration_seconds": scene.planned_seconds,
            }  # fmt: skip
            for scene in scenes
        ],
    }


def ask_revision(
    *, film: Film, scope: str, instruction: str = "", scene: Scene | None = None
) -> Film:
    """Ask a language model to rewrite ``scene`` (scope "scene") or the whole script
    ("script") following ``instruction``, or to add a scene after the last ("continue",
    ``instruction`` optional); the most it may cost is reserved and the storyboard's
    preparation writes it. Raises ``FilmError`` (nothing saved) while the film renders or
    another revision is being written, with no model offered, an empty or over-long
    instruction, a scene not of this film, a film at the script's most scenes, or over the
    budget."""
    instruction = " ".join(visible_text(instruction).split())
    if scope not in SCOPES:
        raise FilmError(f"Unknown revision “{scope}”.")
    if scope != "continue" and not instruction:
        raise FilmError("Say what to change, e.g. “make it funnier” or “end at the lighthouse”.")
    if len(instruction) > INSTRUCTION_MAX_CHARS:
        raise FilmError(
            f"The instruction is {len(instruction)} characters; keep it under "
            f"{INSTRUCTION_MAX_CHARS}."
        )
    writer = revision_writer(film)
    if writer is None:
        raise FilmError("No language model is offered on this site to rewrite the script.")
    with transaction.atomic():
        locked = Film.objects.select_for_update().get(pk=film.pk)
        _check_revisable(locked, scope=scope, scene=scene)
        asked = Revision(current_script(locked), instruction, continuing=scope == "continue")
        brief = revision_brief(locked, asked)
        reserve_script(film=locked, writer=writer, brief=brief)
        Film.objects.filter(pk=locked.pk).update(
            revision_scope=scope, revision_instruction=instruction, error="",
            revision_scene=scene.public_id if scene is not None else None,
        )  # fmt: skip
        prepare_on_commit(locked)
    film.refresh_from_db()
    publish(film)
    return film


def _check_revisable(film: Film, *, scope: str, scene: Scene | None) -> None:
    if not film.can_edit:
        raise FilmError("The film is rendering; cancel it or wait until it ends to rewrite it.")
    if film.is_writing or film.revision_scope:
        raise FilmError("The script is being written; wait until it is done.")
    count = film.scenes.count()
    if scope == "scene" and (scene is None or scene.film_id != film.pk):
        raise FilmError("Choose one of this film's scenes to rewrite.")
    if count > SCRIPT_MAX_SCENES or (scope == "continue" and count >= SCRIPT_MAX_SCENES):
        raise FilmError(
            f"A language model revises films of up to {SCRIPT_MAX_SCENES} scenes; edit this "
            "one by hand."
        )


def revision_brief(film: Film, revision: Revision) -> ScriptBrief:
    """The film's brief carrying ``revision``, asking for the revised script's scene count."""
    count = len(revision.script["scenes"]) + (1 if revision.continuing else 0)
    return dataclasses.replace(brief_of(film), revision=revision, scene_count=count)


def revise_film(*, film: Film) -> None:
    """Write the revision the film asks for and apply it: the scene asked for, every scene, or
    the new last scene takes the model's text (its keyframes and narration become stale and
    are made again). A failure leaves its reason on the film and the storyboard as it was."""
    writer = revision_writer(film)
    scene_number = None
    if film.revision_scope == "scene":
        target = scene_by_id(film, film.revision_scene)
        if target is None:
            fail_writing(film, "The scene to rewrite was deleted.", spent=None)
            return
        scene_number = target.number
    revision = Revision(
        current_script(film), film.revision_instruction, scene=scene_number,
        continuing=film.revision_scope == "continue",
    )  # fmt: skip
    if writer is None:
        fail_writing(film, "No language model is offered on this site any more.", spent=None)
        return
    try:
        written = writer.write(revision_brief(film, revision))
    except (WriterError, FilmError) as error:
        fail_writing(film, error.message, spent=error if isinstance(error, WriterError) else None)
        return
    settle_script(film, written)
    _apply(film, written.script, scene_number=scene_number)


def _apply(film: Film, script: dict[str, Any], *, scene_number: int | None) -> None:
    with transaction.atomic():
        locked = Film.objects.select_for_update().filter(pk=film.pk).first()
        if locked is None or not locked.revision_scope:
            return
        scenes = list(locked.scenes.order_by("position"))
        by_name = {character.name: character for character in locked.cast.all()}
        written = script["scenes"]
        if locked.revision_scope == "continue":
            add_written_scene(
                locked, written[-1], position=len(scenes), cast=list(by_name.values()),
                rng=random.Random(),
            )  # fmt: skip
        else:
            for index, scene in enumerate(scenes):
                if index < len(written) and scene_number in (None, index + 1):
                    _rewrite(scene, written[index], by_name)
            if locked.revision_scope == "script":
                locked.logline = script["logline"][:500]
        locked.revision_scope, locked.revision_instruction, locked.revision_scene = "", "", None
        locked.save(
            update_fields=["logline", "revision_scope", "revision_instruction", "revision_scene",
                           "updated_at"]
        )  # fmt: skip
    film.refresh_from_db()
    publish(film)


def _rewrite(scene: Scene, written: dict[str, Any], by_name: dict[str, Any]) -> None:
    Scene.objects.filter(pk=scene.pk).update(
        heading=written["heading"], shot=written["shot"], narration=written["narration"],
        first_frame_text=written["first_frame"], last_frame_text=written["last_frame"],
        framing=written["framing"], planned_seconds=written["duration_seconds"], error="",
    )  # fmt: skip
    scene.cast.set([by_name[name] for name in written["cast"] if name in by_name])


def scene_by_id(film: Film, scene_id: UUID | None) -> Scene | None:
    """The film's scene ``scene_id`` (None when it has none by that id)."""
    return film.scenes.filter(public_id=scene_id).first() if scene_id else None
