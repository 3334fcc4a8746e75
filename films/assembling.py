"""A film's assembly as stored pieces: each scene's body, each transition (seam) and the sound
are files under ``films/<id>/pieces/`` named by the key of their inputs, so a piece is made once
and reused by every later assembly with the same inputs (a re-rendered scene redoes its own
body and its two seams only).

Pieces are made as early as their inputs are final: a body and its seams as soon as the clips
they cut from exist, the sound as soon as every scene's length is known (the narration decides
it). So while the clips render, the film's worker makes the rest, and once the last clip is in,
the assembly makes that scene's body (a copy of the animatic's) and seam, then joins by stream
copy (bench/film_assembly.py measures both). Burnt-in subtitles are drawn into each piece as it
is made, so they add no pass over the whole film after the last clip; the animatic makes a
body with lines alongside its clip (``body_to_make``), so that one is not left either.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from django.core.files import File
from django.core.files.storage import default_storage

from generation import assembly
from generation.speech import Cue, find_voice
from generation.subtitles import readable, shifted, to_srt, to_vtt, within
from generation.video import BodyPiece, ClipBackend

from . import keys
from .models import Film, Scene
from .steps import (
    NARRATION_LEAD,
    Progress,
    StepError,
    fetch,
    frame_size,
    has_music,
    make_music,
    scene_length,
    store,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Layout:
    """Where a film's scenes fall: each scene's length in ``frames`` (at ``assembly.FPS``),
    the ``seams`` between them, each scene's first frame in ``starts`` (plus the film's
    length as the last entry), and the picture's ``width`` × ``height`` in pixels."""

    frames: list[int]
    seams: list[assembly.Seam]
    starts: list[int]
    width: int
    height: int

    @property
    def seconds(self) -> float:
        """The film's length in seconds."""
        return self.starts[-1] / assembly.FPS

    @property
    def starts_seconds(self) -> list[float]:
        """Each scene's start in seconds, and the film's length last."""
        return [frame / assembly.FPS for frame in self.starts]


def layout(film: Film, scenes: Sequence[Scene], lengths: Sequence[float]) -> Layout:
    """The layout of ``scenes`` lasting ``lengths`` seconds each."""
    frames = [assembly.scene_frames(seconds) for seconds in lengths]
    seams = [assembly.Seam(scene.transition) for scene in scenes[:-1]]
    width, height = frame_size(film.aspect_ratio)
    return Layout(frames, seams, assembly.scene_starts(frames, seams), width, height)


def _name(film: Film, key: str, suffix: str) -> str:
    return f"films/{film.public_id}/pieces/{key}{suffix}"


def _stored(
    film: Film, key: str, workdir: Path, suffix: str, *, fetch_stored: bool = True
) -> tuple[Path, str] | None:
    """The piece stored under ``key``: read in place on local disk, fetched into
    ``workdir`` from S3 (unless not ``fetch_stored``: then the path is where it would go); None when
    there is none, or only an empty file left by a store cut short."""
    name = _name(film, key, suffix)
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
    name = _name(film, key, path.suffix)
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


def _edges(plan: Layout, index: int) -> tuple[int, int]:
    """The frames of scene ``index`` that its transitions take, at its head and its tail."""
    head = plan.seams[index - 1].frames if index > 0 else 0
    tail = plan.seams[index].frames if index < len(plan.seams) else 0
    return head, tail


def _body(plan: Layout, cues: Sequence[Cue], index: int) -> tuple[int, int, str]:
    """Scene ``index``'s body in ``plan``: its first and end frame on its clip's clock (the
    transitions' frames left out), and its burnt-in lines from ``cues`` (SubRip on the body's
    clock, "" when none)."""
    head, tail = _edges(plan, index)
    start, end = plan.starts[index] + head, plan.starts[index] + plan.frames[index] - tail
    shown = within(cues, start=start / assembly.FPS, end=end / assembly.FPS)
    return head, plan.frames[index] - tail, to_srt(shown) if shown else ""


def _body_key(clip_key: str, plan: Layout, index: int, *, copy: bool, subtitles: str) -> str:
    head, tail = _edges(plan, index)
    return keys.piece_key(
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
    first, end, subtitles = _body(plan, film_cues(scenes, plan.starts_seconds), index)
    if not subtitles:
        return None
    key = _body_key(scene.pending_clip_key, plan, index, copy=False, subtitles=subtitles)
    return BodyPiece(first=first, end=end, subtitles=subtitles, key=key)


def store_body(film: Film, body: BodyPiece, path: Path) -> str:
    """Store ``path``, the body ``body`` made with a clip, where the assembly looks for it;
    returns its storage name, or "" when a body of that key is stored already."""
    if default_storage.exists(_name(film, body.key, ".mp4")):
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
) -> dict[tuple[str, int], tuple[Path, str]]:
    """Make (or find stored) the body of every scene whose clip is ``ready`` and the seam
    between every two ready neighbours. Returns {("body" | "seam", scene index): (local
    path, storage name)}; without ``fetch_stored``, a piece already stored is not fetched from S3
    and its path is not there. Raises ``assembly.AssemblyError``."""
    clips: dict[int, Path] = {}

    def clip_of(index: int) -> Path:
        if index not in clips:
            clips[index] = fetch(scenes[index].clip, workdir / f"clip-{index}.mp4")
        return clips[index]

    found: dict[tuple[str, int], tuple[Path, str]] = {}
    bodies: list[tuple[str, assembly.BodyJob]] = []
    seams: list[tuple[str, assembly.SeamJob]] = []
    frames, size, starts = plan.frames, (plan.width, plan.height), plan.starts
    # Burnt-in subtitles are drawn into each piece as it is made: a piece's key holds the
    # cues it shows, so a piece is redone only when its own lines change.
    cues = film_cues(scenes, plan.starts_seconds) if film.burn_subtitles else []

    def burnt(first: int, end: int) -> str:
        shown = within(cues, start=first / assembly.FPS, end=end / assembly.FPS)
        return to_srt(shown) if shown else ""

    for index, scene in enumerate(scenes):
        if not ready[index]:
            continue
        first, end, subtitles = _body(plan, cues, index)
        # The animatic's scenes are encoded for the assembly: their bodies are copied, unless
        # lines are drawn into them (then the animatic made it with the clip, under this key).
        copy = scene.clip_copyable and size == (1280, 720) and not subtitles
        key = _body_key(scene.clip_key, plan, index, copy=copy, subtitles=subtitles)
        stored = _stored(film, key, workdir, ".mp4", fetch_stored=fetch_stored)
        if stored is None:
            out = workdir / f"{key}.mp4"
            body = assembly.BodyJob(clip_of(index), first, end, out, copy, subtitles)
            bodies.append((key, body))
            stored = (out, "")
        found[("body", index)] = stored
        if index + 1 >= len(scenes) or not ready[index + 1] or not plan.seams[index].frames:
            continue
        following = scenes[index + 1]
        subtitles = burnt(starts[index + 1], starts[index] + frames[index])
        key = keys.piece_key(
            "seam", scene.clip_key, following.clip_key, plan.seams[index].transition,
            frames[index], *size, *([subtitles] if subtitles else []),
        )  # fmt: skip
        stored = _stored(film, key, workdir, ".mp4", fetch_stored=fetch_stored)
        if stored is None:
            out = workdir / f"{key}.mp4"
            job = assembly.SeamJob(
                clip_of(index),
                frames[index],
                clip_of(index + 1),
                plan.seams[index],
                out,
                subtitles,
            )
            seams.append((key, job))
            stored = (out, "")
        found[("seam", index)] = stored
    assembly.encode_pieces(
        [job for _, job in bodies], [job for _, job in seams], width=plan.width,
        height=plan.height,
    )  # fmt: skip
    names = {job.out: _store(film, key, job.out) for key, job in bodies}
    names.update({job.out: _store(film, key, job.out) for key, job in seams})
    return {place: (path, name or names[path]) for place, (path, name) in found.items()}


def make_sound(
    film: Film, scenes: Sequence[Scene], *, plan: Layout, workdir: Path, fetch_stored: bool = True
) -> tuple[Path, str]:
    """The film's sound (narrations where they fall, the music ducked under them, at the
    target loudness) as an AAC piece: stored, or made now. It depends on the narrations,
    where they fall and the music only, so a new take of a scene with the same narration and
    length reuses it; without ``fetch_stored``, a stored one is not fetched from S3 (its path is
    not there). Raises ``assembly.AssemblyError`` and ``StepError``."""
    key = keys.piece_key(
        "sound",
        # The recording itself (its stored name is new for every recording), not only its
        # words: a sound is never mixed from one recording and shown with another's cues.
        [
            (s.narration_key, s.narration_audio.name, f)
            for s, f in zip(scenes, plan.frames, strict=True)
        ],
        [seam.transition for seam in plan.seams],
        keys.music_key(film, plan.seconds) if has_music(film) else "",
        assembly.TARGET_LUFS,
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
    assembly.narration_track(spoken, seconds=plan.seconds, out=narration)
    assembly.mix_audio(narration=narration, music=music, seconds=plan.seconds, out=out)
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


def film_cues(scenes: Sequence[Scene], starts_seconds: Sequence[float]) -> list[Cue]:
    """Every scene's cues on the film's clock, made comfortable to read (``readable``: at least
    a second up, at most 17 characters a second, where the speech allows); ``starts_seconds``
    has the film's end as its last entry."""
    cues = []
    for scene, start in zip(scenes, starts_seconds, strict=False):
        own = [
            Cue(c["text"], c["start"], c["end"], tuple((w[0], w[1], w[2]) for w in c["words"]))
            for c in scene.cues
        ]
        cues.extend(shifted(own, start + NARRATION_LEAD))
    return readable(cues, end=starts_seconds[-1] if starts_seconds else None)


def assemble(
    film: Film, scenes: list[Scene], *, workdir: Path, progress: Progress
) -> dict[str, object]:
    """Assemble the film from its scenes' clips and narrations: the pieces (reusing every
    one already stored for the same inputs), subtitles, chapters, poster. Stores the files
    and returns the fields for ``jobs.lifecycle.finish``. Raises ``StepError``."""
    from generation.poster import sharpness, title_card

    plan = layout(film, scenes, [scene.clip_seconds or 0.0 for scene in scenes])
    try:
        progress("encoding the scenes and transitions", 0.1)
        found = make_pieces(film, scenes, plan=plan, ready=[True] * len(scenes), workdir=workdir)
        # Body, seam, body, seam, ...: a cut has no seam piece.
        order = [(part, i) for i in range(len(scenes)) for part in ("body", "seam")]
        pieces = [found[place] for place in order if place in found]
        progress("mixing the sound", 0.6)
        audio, sound_name = make_sound(film, scenes, plan=plan, workdir=workdir)
        cues = film_cues(scenes, plan.starts_seconds)
        srt, vtt = workdir / "subtitles.srt", workdir / "subtitles.vtt"
        srt.write_text(to_srt(cues), encoding="utf-8")
        vtt.write_text(to_vtt(cues), encoding="utf-8")
        chapters = workdir / "chapters.txt"
        titles = [f"{s.number}. {s.heading}" for s in scenes]
        chapters.write_text(
            assembly.chapters_metadata(titles, plan.starts_seconds), encoding="utf-8"
        )
        progress("joining the scenes", 0.8)
        voice = find_voice(film.voice)
        video = workdir / "film.mp4"
        assembly.join_and_mux(
            pieces=[path for path, _ in pieces], audio=audio, subtitles_srt=srt,
            chapters=chapters, out=video, workdir=workdir,
            language=voice.language if voice else "eng",
        )  # fmt: skip
    except assembly.AssemblyError as error:
        raise StepError("assembling", error.message) from error
    keyframes = [
        fetch(s.first_keyframe, workdir / f"key-{i}.jpg")
        for i, s in enumerate(scenes)
        if s.first_keyframe
    ]
    poster = workdir / "poster.jpg"
    if keyframes:
        best = max(keyframes, key=sharpness)
        title_card(best, title=film.title, width=plan.width, height=plan.height).save(
            poster, "JPEG", quality=88
        )
    _remove_old_pieces(film, {name for _, name in pieces} | {sound_name})
    _remove_unfinished_cuts(film)
    return {
        "video": store(film, "film.mp4", video),
        "poster": store(film, "poster.jpg", poster) if keyframes else "",
        "subtitles_vtt": store(film, "subtitles.vtt", vtt),
        "subtitles_srt": store(film, "subtitles.srt", srt),
        "duration_seconds": round(plan.seconds, 3),
    }


#: The files of a finished cut (``store``'s names): only the film's own pass makes them.
_CUT_FILE = re.compile(r"(film|poster|subtitles)-[0-9a-f]{12}\.(mp4|jpg|vtt|srt)")


def _remove_unfinished_cuts(film: Film) -> None:
    """Delete the film's cut files that its row does not name: those of a pass killed between
    storing them and marking the film finished, which would otherwise stay until the film is
    deleted. Only the film's own pass, which holds the film, makes such files."""
    folder = f"films/{film.public_id}"
    try:
        _, names = default_storage.listdir(folder)
    except (FileNotFoundError, NotImplementedError):
        return
    current = {f.name for f in (film.video, film.poster, film.subtitles_vtt, film.subtitles_srt)}
    for name in names:
        if _CUT_FILE.fullmatch(name) and f"{folder}/{name}" not in current:
            default_storage.delete(f"{folder}/{name}")


def _remove_old_pieces(film: Film, kept: set[str]) -> None:
    folder = f"films/{film.public_id}/pieces"
    try:
        _, names = default_storage.listdir(folder)
    except (FileNotFoundError, NotImplementedError):
        return
    for name in names:
        if f"{folder}/{name}" not in kept:
            default_storage.delete(f"{folder}/{name}")
