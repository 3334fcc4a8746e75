"""Step: the finished film, joined from its pieces (``films.pieces``) with its sound, subtitles,
chapters and poster. Fresh while ``assembly_key`` holds: every scene's clip, narration,
transition and heading, the music, the title and the subtitle options."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from generation import assembly
from generation.poster import sharpness, title_card
from generation.subtitles import to_srt, to_vtt
from generation.voices import find_voice

from .errors import StepError
from .files import fetch, remove_unnamed_files, store
from .keys import input_key
from .models import Film, Scene
from .pieces import make_pieces, make_sound, remove_old_pieces
from .timeline import film_cues, layout

#: ``progress(stage, fraction)``: the assembly's stage and how far it is, in [0, 1].
Progress = Callable[[str, float], None]


def assembly_key(film: Film, scenes: Sequence[Scene]) -> str:
    """Inputs of the finished film: every scene's clip, narration and transition, the music,
    the title and the subtitle options."""
    return input_key(
        "assembly-1",
        [(s.clip_key, s.narration_key, s.transition, s.heading) for s in scenes],
        film.music_key,
        film.title,
        film.burn_subtitles,
    )


def assemble(
    film: Film, scenes: list[Scene], *, workdir: Path, progress: Progress
) -> dict[str, object]:
    """Assemble the film from its scenes' clips and narrations: the pieces (reusing every
    one already stored for the same inputs), subtitles, chapters, poster. Stores the files
    and returns the fields for ``jobs.lifecycle.finish``. Raises ``StepError``."""
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
    remove_old_pieces(film, {name for _, name in pieces} | {sound_name})
    remove_unnamed_files(film)
    return {
        "video": store(film, "film.mp4", video),
        "poster": store(film, "poster.jpg", poster) if keyframes else "",
        "subtitles_vtt": store(film, "subtitles.vtt", vtt),
        "subtitles_srt": store(film, "subtitles.srt", srt),
        "duration_seconds": round(plan.seconds, 3),
    }


def film_chapters(*, film: Film) -> list[tuple[str, float]]:
    """The chapters of the film's current cut, as the MP4 carries them: (title, start in
    seconds) per scene; none while there is no cut, or while a scene has no clip yet."""
    scenes = list(film.scenes.order_by("position"))
    if not film.video or not scenes or any(not s.clip_seconds for s in scenes):
        return []
    plan = layout(film, scenes, [s.clip_seconds or 0.0 for s in scenes])
    return [
        (f"{s.number}. {s.heading}", round(start, 2))
        for s, start in zip(scenes, plan.starts_seconds, strict=False)
    ]
