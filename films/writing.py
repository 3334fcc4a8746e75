"""Step: the script written by a language model. A film whose brief chose a model writer is
saved with no scenes, in the ``SCRIPT_STAGE``, its most expensive script reserved against the
owner's daily budget; its storyboard's preparation writes the script first (``write_film_
script``), settles the charge at what the calls cost, and adds the scenes. A script that
cannot be written leaves the reason on the film, with "Try again" (``retry_writing``) and
"Write it with the template" (``write_with_template``); nothing is half-saved."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import User
from characters.models import Character
from generation.writers import WRITERS, TemplateWriter, get_writer
from generation.writing import ScriptBrief, ScriptWriter, WriterBusy, WriterError, WrittenScript
from jobs import budget, ledger
from jobs.cloud import busy_delay_seconds
from jobs.dispatch import Step, send
from jobs.events import publish
from jobs.models import Charge, ChargeStatus, ChargeUnit, JobStatus
from lib.heartbeat import beating
from lib.money import format_usd

from .brief import script_brief
from .errors import FilmError
from .models import SCRIPT_STAGE, Film
from .script_scenes import add_scenes
from .storyboard import prepare_on_commit

logger = logging.getLogger(__name__)

#: Times a throttled writer is asked again (after ``BEDROCK_BUSY_RETRY_SECONDS``, doubling:
#: ``jobs.cloud.busy_delay_seconds``) before the film shows that it is busy.
BUSY_TRIES = 3
#: Seconds between a writing film's signs of life (the sweeper sends a silent one again).
HEARTBEAT_SECONDS = 2.0
#: Longest title made from the idea while the script is written.
PROVISIONAL_TITLE_CHARS = 60


def provisional_title(idea: str) -> str:
    """What a film is called until its writer titles it: the idea's first words, with "…"
    when cut (at most ``PROVISIONAL_TITLE_CHARS`` characters)."""
    words = " ".join(idea.split())
    if len(words) <= PROVISIONAL_TITLE_CHARS:
        return words
    return words[: PROVISIONAL_TITLE_CHARS - 1].rsplit(" ", 1)[0] + "…"


def writer_context(film: Film) -> dict[str, str]:
    """What the film page says about its writer: ``writer_label``, and ``script_cost`` (the
    most its script's reserved charge may cost, formatted; "" when none is reserved)."""
    writer = WRITERS.get(film.writer)
    charge = _reserved(film) if film.is_writing else None
    return {
        "writer_label": writer.label if writer else film.writer,
        "script_cost": format_usd(charge.estimated_cost_usd) if charge else "",
    }


def brief_of(film: Film) -> ScriptBrief:
    """What the film's writer is given, from the film's brief. Raises ``FilmError`` when the
    brief no longer makes a film (a cast member lost their photos, the backend went away)."""
    title = "" if film.title == provisional_title(film.idea) else film.title
    return script_brief(
        owner=film.owner, idea=film.idea, genre=film.genre, style=film.style,
        cast=list(film.cast.order_by("name")), voice=film.voice, backend=film.backend,
        target_seconds=film.target_seconds, scene_count=film.scene_count,
        theme=film.theme, title=title, seed=film.seed,
    )  # fmt: skip


def reserve_script(*, film: Film, writer: ScriptWriter, brief: ScriptBrief) -> None:
    """Reserve the most ``writer`` may cost for ``brief`` against the owner's budget, as a
    charge of the film. Run inside the transaction that asks for the script. Raises
    ``FilmError`` when it goes over the budget."""
    if not writer.paid:
        return
    try:
        estimate = budget.reserve(
            owner=film.owner, estimate_usd=writer.estimate_usd(brief), what="This script",
            cheaper="Write it with the template (free).",
        )  # fmt: skip
    except budget.BudgetExceeded as error:
        raise FilmError(error.message) from None
    ledger.reserve(
        owner_id=film.owner_id, job=film, backend=writer.name, unit=ChargeUnit.TOKENS,
        quantity=0, estimate_usd=estimate,
    )  # fmt: skip


def write_film_script(*, film: Film) -> bool:
    """Write the script of a film in the ``SCRIPT_STAGE`` with its writer and add its scenes;
    returns whether the film has them now (False: it failed, and says why on the film; it
    waits for a busy model; or it is gone). Beats while the model writes, so the sweeper
    leaves it alone; a throttled model is asked again ``BUSY_TRIES`` times, later, by a new
    message (a worker never sleeps on a busy provider). What the calls cost settles the
    film's reserved charge, whether or not the script came."""
    if film.error:
        return False  # waits for the person: try again, or the template
    try:
        writer = get_writer(film.writer)
        brief = brief_of(film)
    except (WriterError, FilmError) as error:
        fail_writing(film, error.message, spent=None)
        return False
    try:
        with beating(lambda: _beat(film), every_seconds=HEARTBEAT_SECONDS):
            written = writer.write(brief)
    except WriterBusy as error:
        if film.attempts < BUSY_TRIES and not error.cost_usd:
            Film.objects.filter(pk=film.pk).update(attempts=F("attempts") + 1)
            delay = busy_delay_seconds(film.attempts + 1)
            send(Step("prepare_storyboard", (film.pk,), delay_seconds=delay))
            return False
        fail_writing(film, error.message, spent=error)
        return False
    except WriterError as error:
        fail_writing(film, error.message, spent=error)
        return False
    settle_script(film, written)
    return _add_written_scenes(film, written)


def _beat(film: Film) -> None:
    Film.objects.filter(pk=film.pk, stage=SCRIPT_STAGE).update(updated_at=timezone.now())


def _reserved(film: Film) -> Charge | None:
    return (
        Charge.objects.filter(
            job_type=ContentType.objects.get_for_model(Film),
            job_id=film.pk,
            unit=ChargeUnit.TOKENS,
            status=ChargeStatus.RESERVED,
        )  # fmt: skip
        .order_by("created_at", "id")
        .first()
    )


def settle_script(film: Film, spent: WrittenScript | WriterError | None) -> None:
    """Settle the film's reserved script charge at what ``spent`` used (void when nothing)."""
    charge = _reserved(film)
    if charge is None:
        return
    tokens = (spent.input_tokens + spent.output_tokens) if spent is not None else 0
    cost = spent.cost_usd if spent is not None else Decimal(0)
    ledger.settle_tokens(charge.pk, tokens=tokens, cost_usd=cost)


def fail_writing(film: Film, message: str, *, spent: WriterError | None) -> None:
    """A script (or a revision) could not be written: settle its charge at what ``spent``
    used, and show ``message`` on the film (a revision asked is dropped; the storyboard stays
    as it was)."""
    settle_script(film, spent)
    error = f"script: {message}"
    writing = Film.objects.filter(Q(stage=SCRIPT_STAGE) | ~Q(revision_scope=""), pk=film.pk)
    if writing.update(
        error=error, attempts=0, revision_scope="", revision_instruction="", revision_scene=None
    ):
        film.error = error
        publish(film)


def _add_written_scenes(film: Film, written: WrittenScript) -> bool:
    """Add the script's scenes to the film, once: another worker may have written it."""
    with transaction.atomic():
        locked = Film.objects.select_for_update().filter(pk=film.pk).first()
        if locked is None:
            return False
        if locked.stage != SCRIPT_STAGE:
            return True
        script = written.script
        if locked.title == provisional_title(locked.idea):
            locked.title = script["title"][:120]
        locked.logline = script["logline"][:500]
        locked.stage, locked.error, locked.attempts = "storyboard", "", 0
        locked.save(update_fields=["title", "logline", "stage", "error", "attempts", "updated_at"])
        add_scenes(locked, script, cast=list(locked.cast.all()))
    film.refresh_from_db()
    publish(film)
    logger.info(
        "%s: script written by %s (%d tokens in, %d out, %d repairs)", film.log_id,
        written.writer, written.input_tokens, written.output_tokens, written.repairs,
    )  # fmt: skip
    return True


def retry_writing(*, film: Film) -> Film:
    """Ask the film's writer again after it failed: a new charge reserved, the preparation
    sent. Raises ``FilmError`` when the film is not waiting for its script, the writer is no
    longer offered, or the budget is spent."""
    with transaction.atomic():
        locked = Film.objects.select_for_update().get(pk=film.pk)
        if locked.stage != SCRIPT_STAGE or not locked.error:
            raise FilmError("This film's script is not waiting to be written again.")
        try:
            writer = get_writer(locked.writer)
        except WriterError as error:
            raise FilmError(error.message) from None
        reserve_script(film=locked, writer=writer, brief=brief_of(locked))
        locked.error = ""
        locked.save(update_fields=["error", "updated_at"])
        prepare_on_commit(locked)
    film.refresh_from_db()
    publish(film)
    return film


def write_with_template(*, film: Film) -> Film:
    """Write the script of a film waiting for a model's with the offline template instead,
    now: its scenes are added and its storyboard prepared. Raises ``FilmError`` when the film
    already has its script, or its brief no longer makes one."""
    template = WRITERS["template"]
    assert isinstance(template, TemplateWriter)
    with transaction.atomic():
        locked = Film.objects.select_for_update().get(pk=film.pk)
        if locked.stage != SCRIPT_STAGE:
            raise FilmError("This film's script is already written.")
        try:
            written = template.write(brief_of(locked))
        except WriterError as error:
            raise FilmError(error.message) from None
        locked.writer = template.name
        locked.save(update_fields=["writer", "updated_at"])
    film.refresh_from_db()
    _add_written_scenes(film, written)
    prepare_on_commit(film)
    return film


def film_to_write(
    *, owner: User, cast: Sequence[Character], title: str, submission_key: UUID | None,
    **brief: Any,
) -> Film:  # fmt: skip
    """The draft film whose script a language model writes: no scenes yet, its script's
    charge reserved, its preparation (which writes it) sent once committed."""
    film = Film.objects.create(
        owner=owner, title=title or provisional_title(brief["idea"]), status=JobStatus.DRAFT,
        stage=SCRIPT_STAGE, submission_key=submission_key, **brief,
    )  # fmt: skip
    film.cast.set(cast)
    reserve_script(film=film, writer=get_writer(film.writer), brief=brief_of(film))
    prepare_on_commit(film)
    return film
