"""A film's assembly as stored pieces: each scene's body, each transition (seam) and the sound
are files under ``films/<id>/pieces/`` named by the key of their inputs, so a piece is made once
and reused by every later assembly with the same inputs (a re-rendered scene redoes its own
body and its two seams only).

Pieces are made as early as their inputs are final (``prepare_early``): a body and its seams as
soon as the clips they cut from exist, the sound as soon as every scene's length is known (the
narration decides it). So while the clips render, the film's worker makes the rest, and once the
last clip is in, the assembly (``films.assembly``) makes that scene's body (a copy of the
animatic's) and seam, then joins by stream copy (bench/film_assembly.py measures both). Burnt-in
subtitles are drawn into each piece as it is made, so they add no pass over the whole film after
the last clip; the animatic makes a body with lines alongside its clip (``body_to_make``), so
that one is not left either.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.core.files import File
from django.core.files.storage import default_storage

from generation import assembly, sound_mix
from generation.video import BodyPiece, ClipBackend

from .errors import StepError
from .files import fetch
from .keys import input_key
from .models import Film, Scene
from .music import has_music, make_music, music_key
from .narration import NARRATION_LEAD, scene_length
from .timeline import Layout, film_cues, layout, lines_between

logger = logging.getLogger(__name__)

#: A stored piece: its local path (absent when not fetched) and its storage name.
Piece = tuple[Path, str]


def piece_key(*parts: Any) -> str:
    """The key of one encoded piece of the assembly (a scene's body, a seam, the sound)."""
    return input_key("piece-1", *parts)


def piece_name(film: Film, key: str, suffix: str) -> str:
    """The storage name of ``film``'s piece of ``key``."""
    return f"films/{film.public_id}/pieces/{key}{suffix}"


def _stored(
    film: Film, key: str, workdir: Path, suffix: str, *, fetch_stored: bool = True
) -> Piece | None:
    """The piece stored under ``key``: read in place on local disk, fetched into
    ``workdir`` from S3 (unless not ``fetch_stored``: then the path is where it would go); None when
    there is none, or only an empty file left by a store cut short."""
    name = piece_name(film, key, suffix)
    if not default_storage.exists(name):
        return None
    try:
        local = Path(default_storage.path(name))
    except NotImplementedError:
        local = None
    if local is not None and local.stat().st_size == 0:
        # Cut short by a killed worker before pieces were stored whole (``_store``): made again.
        default_storage.delete(name)
        return None
    if not fetch_stored:
        return workdir / f"{key}{suffix}", name
    if local is not None:
        return local, name
    path = workdir / f"{key}{suffix}"
    with default_storage.open(name, "rb") as source, path.open("wb") as target:
        shutil.copyfileobj(source, target)
    return path, name


def _store(film: Film, key: str, path: Path) -> str:
    """Store ``path`` as the piece of ``key``, whole or not at all: a piece is reused whenever
    its name exists, so a store cut short (a killed worker) must never leave a part of it
    under that name (every later assembly failed "Invalid data found" on a 0-byte piece). On
    local disk the piece is written beside its name and renamed into place, which POSIX makes
    atomic; an object store's upload appears whole or not at all by itself. Returns its
    storage name."""
    name = piece_name(film, key, path.suffix)
    try:
        final = Path(default_storage.path(name))
    except NotImplementedError:
        with path.open("rb") as data:
            return default_storage.save(name, File(data))
    final.parent.mkdir(parents=True, exist_ok=True)
    partial = final.with_name(f"{final.name}.{os.getpid()}-{threading.get_ident()}.partial")
    try:
        shutil.copyfile(path, partial)
        os.replace(partial, final)
    finally:
        partial.unlink(missing_ok=True)
    return name


def _seam_key(clip_key: str, next_clip_key: str, plan: Layout, index: int, subtitles: str) -> str:
    """The key of the seam after scene ``index``: both clips, the transition, where it falls,
    the frame size and the lines drawn into it."""
    return piece_key(
        "seam", clip_key, next_clip_key, plan.seams[index].transition, plan.frames[index],
        plan.width, plan.height, *([subtitles] if subtitles else []),
    )  # fmt: skip


def _body_key(clip_key: str, plan: Layout, index: int, *, copy: bool, subtitles: str) -> str:
    head, tail = plan.edges(index)
    return piece_key(
        "body", clip_key, head, tail, plan.frames[index], plan.width, plan.height, copy,
        *([subtitles] if subtitles else []),
    )  # fmt: skip


def body_to_make(scene: Scene, backend: ClipBackend) -> BodyPiece | None:
    """The body ``scene``'s clip is to be made with (``ClipRequest.body``), so that nothing of
    it is left to encode once the clip is in: with burnt-in subtitles, on a backend that
    encodes for the assembly (the animatic), for a body with lines (one without is copied
    from the clip). None otherwise, or when a scene's length is not known. Its key is the one
    ``make_pieces`` looks for, from the clip's key (``pending_clip_key``) and the lines drawn,
    so a body made for lines that have changed since is never used."""
    film = scene.film
    size = (backend.capabilities.width, backend.capabilities.height)
    if not (film.burn_subtitles and backend.makes_assembly_pieces and scene.pending_clip_key):
        return None
    scenes = list(film.scenes.order_by("position"))
    lengths = [
        (scene.clip_seconds or None) if other.pk == scene.pk else scene_length(other, backend)
        for other in scenes
    ]
    if any(length is None for length in lengths):
        return None
    plan = layout(film, scenes, [length or 0.0 for length in lengths])
    if (plan.width, plan.height) != size:
        return None
    index = next(i for i, other in enumerate(scenes) if other.pk == scene.pk)
    first, end, subtitles = plan.body(film_cues(scenes, plan.starts_seconds), index)
    if not subtitles:
        return None
    key = _body_key(scene.pending_clip_key, plan, index, copy=False, subtitles=subtitles)
    return BodyPiece(first=first, end=end, subtitles=subtitles, key=key)


def store_body(film: Film, body: BodyPiece, path: Path) -> str:
    """Store ``path``, the body ``body`` made with a clip, where the assembly looks for it;
    returns its storage name, or "" when a body of that key is stored already."""
    if default_storage.exists(piece_name(film, body.key, ".mp4")):
        return ""
    return _store(film, body.key, path)


def make_pieces(
    film: Film,
    scenes: Sequence[Scene],
    *,
    plan: Layout,
    ready: Sequence[bool],
    workdir: Path,
    fetch_stored: bool = True,
) -> dict[tuple[str, int], Piece]:
    """Make (or find stored) the body of every scene whose clip is ``ready`` and the seam
    between every two ready neighbours. Returns {("body" | "seam", scene index): (local
    path, storage name)}; without ``fetch_stored``, a piece already stored is not fetched from S3
    and its path is not there. Raises ``assembly.AssemblyError``."""
    clips: dict[int, Path] = {}

    def clip_of(index: int) -> Path:
        if index not in clips:
            clips[index] = fetch(scenes[index].clip, workdir / f"clip-{index}.mp4")
        return clips[index]

    found: dict[tuple[str, int], Piece] = {}
    bodies: list[tuple[str, assembly.BodyJob]] = []
    seams: list[tuple[str, assembly.SeamJob]] = []

    def missing(place: tuple[str, int], key: str) -> Path | None:
        # Notes where the piece is; the path to make it at when it is not stored yet.
        stored = _stored(film, key, workdir, ".mp4", fetch_stored=fetch_stored)
        found[place] = stored or (workdir / f"{key}.mp4", "")
        return None if stored else found[place][0]

    frames, size, starts = plan.frames, (plan.width, plan.height), plan.starts
    # Burnt-in subtitles are drawn into each piece as it is made: a piece's key holds the
    # cues it shows, so a piece is redone only when its own lines change.
    cues = film_cues(scenes, plan.starts_seconds) if film.burn_subtitles else []
    for index, scene in enumerate(scenes):
        if not ready[index]:
            continue
        first, end, subtitles = plan.body(cues, index)
        # The animatic's scenes are encoded for the assembly: their bodies are copied, unless
        # lines are drawn into them (then the animatic made it with the clip, under this key).
        copy = scene.clip_copyable and size == (1280, 720) and not subtitles
        key = _body_key(scene.clip_key, plan, index, copy=copy, subtitles=subtitles)
        if out := missing(("body", index), key):
            bodies.append((key, assembly.BodyJob(clip_of(index), first, end, out, copy, subtitles)))
        if index + 1 >= len(scenes) or not ready[index + 1] or not plan.seams[index].frames:
            continue
        subtitles = lines_between(cues, starts[index + 1], starts[index] + frames[index])
        key = _seam_key(scene.clip_key, scenes[index + 1].clip_key, plan, index, subtitles)
        if out := missing(("seam", index), key):
            seam = plan.seams[index]
            after = clip_of(index + 1)
            seams.append(
                (key, assembly.SeamJob(clip_of(index), frames[index], after, seam, out, subtitles))
            )
    names = _encode_and_store(film, bodies, seams, plan=plan)
    return {place: (path, name or names[path]) for place, (path, name) in found.items()}


def _encode_and_store(
    film: Film,
    bodies: Sequence[tuple[str, assembly.BodyJob]],
    seams: Sequence[tuple[str, assembly.SeamJob]],
    *,
    plan: Layout,
) -> dict[Path, str]:
    """Encode the missing pieces, each (key, job), and store them; returns {local path:
    storage name}."""
    assembly.encode_pieces(
        [job for _, job in bodies], [job for _, job in seams], width=plan.width,
        height=plan.height,
    )  # fmt: skip
    made: list[tuple[str, assembly.BodyJob | assembly.SeamJob]] = [*bodies, *seams]
    return {job.out: _store(film, key, job.out) for key, job in made}


def make_sound(
    film: Film, scenes: Sequence[Scene], *, plan: Layout, workdir: Path, fetch_stored: bool = True
) -> Piece:
    """The film's sound (narrations where they fall, the music ducked under them, at the
    target loudness) as an AAC piece: stored, or made now. It depends on the narrations,
    where they fall and the music only, so a new take of a scene with the same narration and
    length reuses it; without ``fetch_stored``, a stored one is not fetched from S3 (its path is
    not there). Raises ``assembly.AssemblyError`` and ``StepError``."""
    key = piece_key(
        "sound",
        # The recording itself (its stored name is new for every recording), not only its
        # words: a sound is never mixed from one recording and shown with another's cues.
        [
            (s.narration_key, s.narration_audio.name, f)
            for s, f in zip(scenes, plan.frames, strict=True)
        ],
        [seam.transition for seam in plan.seams],
        music_key(film, plan.seconds) if has_music(film) else "",
        sound_mix.TARGET_LUFS,
    )
    stored = _stored(film, key, workdir, ".m4a", fetch_stored=fetch_stored)
    if stored is not None:
        return stored
    # Only a sound to be made needs the music (fetched, or made now).
    music = make_music(film, seconds=plan.seconds, workdir=workdir)
    starts = plan.starts_seconds
    spoken = [
        (fetch(s.narration_audio, workdir / f"narration-{i}.wav"), starts[i] + NARRATION_LEAD)
        for i, s in enumerate(scenes)
        if s.narration_audio
    ]
    narration, out = workdir / "narration.wav", workdir / f"{key}.m4a"
    sound_mix.narration_track(spoken, seconds=plan.seconds, out=narration)
    sound_mix.mix_audio(narration=narration, music=music, seconds=plan.seconds, out=out)
    return out, _store(film, key, out)


def prepare_early(
    film: Film,
    scenes: Sequence[Scene],
    *,
    ready: Sequence[bool],
    lengths: Sequence[float | None],
    workdir: Path,
) -> None:
    """While clips render: make the pieces whose inputs are final (see the module's
    docstring). ``ready`` says which scenes' clips are fresh, ``lengths`` each scene's clip
    length in seconds (None where not known yet). Never fails the film: a piece that cannot
    be made now is made, or its error reported, by the assembly."""
    if any(length is None for length in lengths):
        return
    plan = layout(film, scenes, [length or 0.0 for length in lengths])
    try:
        make_sound(film, scenes, plan=plan, workdir=workdir, fetch_stored=False)
        if any(ready):
            # Each pass only asks whether the pieces made earlier are stored: fetching them
            # from S3 on every pass would cost a download per piece per finished clip.
            make_pieces(film, scenes, plan=plan, ready=ready, workdir=workdir, fetch_stored=False)
    except (assembly.AssemblyError, StepError) as error:
        logger.warning("%s: a piece made early failed: %s", film.log_id, error)


def remove_old_pieces(film: Film, kept: set[str]) -> None:
    """Delete the film's stored pieces other than ``kept`` (storage names)."""
    folder = f"films/{film.public_id}/pieces"
    try:
        _, names = default_storage.listdir(folder)
    except (FileNotFoundError, NotImplementedError):
        return
    for name in names:
        if f"{folder}/{name}" not in kept:
            default_storage.delete(f"{folder}/{name}")
