"""The offline steps of a film, each a row plus files: a scene's keyframes and narration, the
film's music bed and its assembly. Files go through Django's storage; work happens in a local
work folder. Each step records the key of the inputs it was made from (``films.keys``)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from django.core.files import File
from django.core.files.storage import default_storage
from django.db.models.fields.files import FieldFile

from generation import assembly
from generation.music import MOODS, music_available, render_music, write_midi
from generation.script import GENRES
from generation.speech import Cue, find_voice, synthesise
from generation.subtitles import shifted, to_srt, to_vtt
from generation.video import ClipBackend

from . import keys
from .models import Film, Scene, film_media_path

#: Seconds of picture before the narrator speaks, and after the narration ends.
NARRATION_LEAD, BREATH = 0.3, 0.7
#: Keyframe and film sizes in pixels, by aspect ratio.
FRAME_SIZES = {"16:9": (1280, 720), "9:16": (720, 1280), "1:1": (960, 960)}

Progress = Callable[[str, float], None]


class StepError(RuntimeError):
    """A step failed; ``stage`` names it and ``message`` says why, for the user."""

    def __init__(self, stage: str, message: str) -> None:
        super().__init__(f"{stage}: {message}")
        self.stage, self.message = stage, message


def frame_size(aspect_ratio: str) -> tuple[int, int]:
    """Width and height in pixels of a film's frames."""
    return FRAME_SIZES.get(aspect_ratio, FRAME_SIZES["16:9"])


def fetch(field: FieldFile, path: Path) -> Path:
    """Copy a stored file to ``path`` (local disk or S3 alike); returns ``path``."""
    with field.open("rb") as source, path.open("wb") as target:
        shutil.copyfileobj(source, target)
    return path


def _store(film: Film, name: str, path: Path) -> str:
    with path.open("rb") as data:
        return default_storage.save(film_media_path(film.public_id, name), File(data))


def _replace(scene_or_film: Scene | Film, **names: str) -> None:
    """Point the row's file fields at new files and delete the files they replace."""
    model = type(scene_or_film)
    old = [getattr(scene_or_film, field).name for field in names]
    model._default_manager.filter(pk=scene_or_film.pk).update(**names)
    for field, name in names.items():
        setattr(scene_or_film, field, name)
    for name in old:
        if name and name not in names.values():
            default_storage.delete(name)


def needed_seconds(scene: Scene, *, spoken_seconds: float | None = None) -> float:
    """How long a scene must last, in seconds (audio first, so no clip freezes on its last
    frame): its narration (``spoken_seconds``, default the spoken narration's length) with a
    lead-in and a breath, plus the transition the next scene overlaps it by."""
    spoken = scene.narration_seconds if spoken_seconds is None else spoken_seconds
    overlap = 0.0 if scene.transition == "cut" else assembly.TRANSITION_SECONDS
    return round(NARRATION_LEAD + (spoken or 0.0) + BREATH + overlap, 2)


def scene_length(
    scene: Scene, backend: ClipBackend, *, spoken_seconds: float | None = None
) -> float | None:
    """The clip length, in seconds, a scene gets on ``backend``: its planned length where the
    backend can make it and the narration fits, else the shortest the narration needs; None
    when even that is longer than the backend makes."""
    needed = needed_seconds(scene, spoken_seconds=spoken_seconds)
    return backend.scene_duration(max(needed, scene.planned_seconds)) or backend.scene_duration(
        needed
    )


def make_keyframes(scene: Scene, *, workdir: Path) -> None:
    """Compose the scene's first and last keyframes from its cast's photos in the film's
    style and store them. Raises ``StepError`` when a character has no photo."""
    from generation.framing import compose_keyframe
    from generation.video import InvalidClipRequest

    film = scene.film
    key = keys.keyframes_key(scene)
    width, height = frame_size(film.aspect_ratio)
    characters = list(scene.cast.all()) or list(film.cast.order_by("pk")[:1])
    names = {}
    for which, offset in (("first", 0), ("last", 1)):
        portraits = []
        for character in characters:
            images = character.ordered_images()
            if not images:
                raise StepError("keyframes", f"“{character.name}” has no reference photos.")
            image = images[(scene.keyframe_seed + offset) % len(images)]
            portraits.append(fetch(image.image, workdir / f"{which}-{character.pk}.jpg"))
        try:
            keyframe = compose_keyframe(
                portraits,
                framing=scene.framing,
                style=film.style,
                width=width,
                height=height,
                seed=scene.keyframe_seed + offset,
            )
        except InvalidClipRequest as error:
            raise StepError("keyframes", error.message) from error
        path = workdir / f"scene-{scene.number}-{which}.jpg"
        keyframe.save(path, "JPEG", quality=92)
        names[f"{which}_keyframe"] = _store(film, path.name, path)
    _replace(scene, **names)
    Scene.objects.filter(pk=scene.pk).update(keyframes_key=key)
    scene.keyframes_key = key


def make_narration(scene: Scene, *, workdir: Path) -> None:
    """Speak the scene's narration with the film's voice and store it with its cues. Raises
    ``StepError`` when the voice is not installed or the engine fails."""
    from generation.speech import SpeechError

    film = scene.film
    key = keys.narration_key(scene)
    voice = find_voice(film.voice)
    if voice is None:
        raise StepError("narration", f"The voice “{film.voice}” is not installed here.")
    path = workdir / f"scene-{scene.number}-narration.wav"
    try:
        spoken = synthesise(scene.narration, voice=voice, path=path, workdir=workdir)
    except SpeechError as error:
        raise StepError("narration", error.message) from error
    cues = [
        {"text": c.text, "start": c.start, "end": c.end, "words": [list(w) for w in c.words]}
        for c in spoken.cues
    ]
    _replace(scene, narration_audio=_store(film, path.name, path))
    Scene.objects.filter(pk=scene.pk).update(
        narration_seconds=round(spoken.seconds, 3), cues=cues, narration_key=key
    )
    scene.narration_seconds, scene.cues, scene.narration_key = spoken.seconds, cues, key


def prepare_scene(scene: Scene, *, workdir: Path) -> bool:
    """Make whichever of the scene's keyframes and narration are stale; returns whether
    anything was made."""
    made = False
    if scene.keyframes_key != keys.keyframes_key(scene) or not scene.first_keyframe:
        make_keyframes(scene, workdir=workdir)
        made = True
    if scene.narration_key != keys.narration_key(scene) or not scene.narration_audio:
        make_narration(scene, workdir=workdir)
        made = True
    return made


def mood_of(film: Film) -> str | None:
    """The music mood a film gets: its own, the genre's, or None for no music."""
    if film.music_mood == "none":
        return None
    if film.music_mood in MOODS:
        return film.music_mood
    genre = GENRES.get(film.genre)
    return genre.music if genre else "calm"


def make_music(film: Film, *, seconds: float, workdir: Path) -> Path | None:
    """The film's music bed as a local WAV of at least ``seconds`` (made and stored when its
    key changed), or None for a film without music or a machine without FluidSynth."""
    mood = mood_of(film)
    if mood is None or not music_available():
        return None
    key = keys.music_key(film, seconds)
    path = workdir / "music.wav"
    if film.music_key == key and film.music:
        return fetch(film.music, path)
    from generation.music import MusicError

    midi = workdir / "music.mid"
    try:
        write_midi(mood=mood, seconds=seconds, path=midi, seed=film.seed)
        render_music(midi_path=midi, path=path)
    except MusicError as error:
        raise StepError("music", error.message) from error
    _replace(film, music=_store(film, "music.wav", path))
    Film.objects.filter(pk=film.pk).update(music_key=key)
    film.music_key = key
    return path


def _piece_name(film: Film, key: str, suffix: str) -> str:
    return f"films/{film.public_id}/pieces/{key}{suffix}"


def _stored_piece(
    film: Film, key: str, workdir: Path, suffix: str = ".mp4"
) -> tuple[Path, str] | None:
    """The piece stored under ``key``, fetched into ``workdir``; None when there is none."""
    name = _piece_name(film, key, suffix)
    if not default_storage.exists(name):
        return None
    path = workdir / f"{key}{suffix}"
    with default_storage.open(name, "rb") as source, path.open("wb") as target:
        shutil.copyfileobj(source, target)
    return path, name


def _store_piece(film: Film, key: str, path: Path) -> str:
    with path.open("rb") as data:
        return default_storage.save(_piece_name(film, key, path.suffix), File(data))


def _piece(
    film: Film, key: str, workdir: Path, make: Callable[[Path], None], suffix: str = ".mp4"
) -> tuple[Path, str]:
    """An encoded piece of the assembly: fetched when stored under its key, else made and
    stored. Returns its local path and storage name."""
    stored = _stored_piece(film, key, workdir, suffix)
    if stored is not None:
        return stored
    path = workdir / f"{key}{suffix}"
    make(path)
    return path, _store_piece(film, key, path)


def film_cues(scenes: list[Scene], starts_seconds: list[float]) -> list[Cue]:
    """Every scene's cues on the film's clock."""
    cues = []
    for scene, start in zip(scenes, starts_seconds, strict=False):
        own = [
            Cue(c["text"], c["start"], c["end"], tuple((w[0], w[1], w[2]) for w in c["words"]))
            for c in scene.cues
        ]
        cues.extend(shifted(own, start + NARRATION_LEAD))
    return cues


def assemble(
    film: Film, scenes: list[Scene], *, workdir: Path, progress: Progress
) -> dict[str, object]:
    """Assemble the film from its scenes' clips and narrations: bodies and seams (reusing any
    already encoded for the same inputs), sound, subtitles, chapters, poster. Stores the files
    and returns the fields for ``jobs.lifecycle.finish``. Raises ``StepError``."""
    from generation.poster import sharpness, title_card

    width, height = frame_size(film.aspect_ratio)
    frames = [assembly.scene_frames(scene.clip_seconds or 0) for scene in scenes]
    seams = [assembly.Seam(scene.transition) for scene in scenes[:-1]]
    starts = assembly.scene_starts(frames, seams)
    clips: dict[int, Path] = {}

    def clip_of(index: int) -> Path:
        if index not in clips:
            clips[index] = fetch(scenes[index].clip, workdir / f"clip-{index}.mp4")
        return clips[index]

    pieces: list[Path] = []
    kept: set[str] = set()
    seam_jobs: list[assembly.SeamJob] = []
    missing: list[tuple[str, Path]] = []
    total = len(scenes) * 2
    try:
        for index, scene in enumerate(scenes):
            head = seams[index - 1].frames if index > 0 else 0
            tail = seams[index].frames if index < len(seams) else 0
            # The animatic's scenes are encoded for the assembly: their bodies are copied.
            copy = scene.clip_copyable and (width, height) == (1280, 720)
            key = keys.piece_key(
                "body", scene.clip_key, head, tail, frames[index], width, height, copy
            )

            def body(
                out: Path, i: int = index, h: int = head, t: int = tail, c: bool = copy
            ) -> None:
                if c:
                    assembly.copy_body(clip=clip_of(i), first=h, end=frames[i] - t, out=out)
                else:
                    assembly.encode_body(
                        clip=clip_of(i), first=h, end=frames[i] - t, out=out, width=width,
                        height=height,
                    )  # fmt: skip

            path, name = _piece(film, key, workdir, body)
            pieces.append(path)
            kept.add(name)
            progress("assembling", (2 * index + 1) / total * 0.6)
            if index < len(seams) and seams[index].frames:
                nxt = scenes[index + 1]
                key = keys.piece_key(
                    "seam", scene.clip_key, nxt.clip_key, seams[index].transition,
                    frames[index], width, height,
                )  # fmt: skip
                stored = _stored_piece(film, key, workdir)
                if stored is None:
                    out = workdir / f"{key}.mp4"
                    missing.append((key, out))
                    seam_jobs.append(
                        assembly.SeamJob(clip_of(index), frames[index], clip_of(index + 1),
                                         seams[index], out)
                    )  # fmt: skip
                    stored = (out, _piece_name(film, key, ".mp4"))
                pieces.append(stored[0])
                kept.add(stored[1])
            progress("assembling", (2 * index + 2) / total * 0.6)
        # Every missing transition at once: a few ffmpeg processes instead of one each.
        progress("encoding the transitions", 0.6)
        assembly.encode_seams(seam_jobs, width=width, height=height)
        for key, out in missing:
            _store_piece(film, key, out)
        seconds = starts[-1] / assembly.FPS
        starts_seconds = [frame / assembly.FPS for frame in starts]
        progress("mixing the sound", 0.82)
        music = make_music(film, seconds=seconds, workdir=workdir)
        # The sound depends on the narrations, where they fall and the music only: a new
        # take of a scene with the same narration and length reuses it.
        sound_key = keys.piece_key(
            "sound",
            [(s.narration_key, f) for s, f in zip(scenes, frames, strict=True)],
            [seam.transition for seam in seams],
            film.music_key if music is not None else "",
            assembly.TARGET_LUFS,
        )

        def sound(out: Path) -> None:
            narration = workdir / "narration.wav"
            spoken = [
                (fetch(s.narration_audio, workdir / f"narration-{i}.wav"), starts_seconds[i])
                for i, s in enumerate(scenes)
                if s.narration_audio
            ]
            assembly.narration_track(
                [(path, start + NARRATION_LEAD) for path, start in spoken],
                seconds=seconds,
                out=narration,
            )
            assembly.mix_audio(narration=narration, music=music, seconds=seconds, out=out)

        audio, name = _piece(film, sound_key, workdir, sound, suffix=".m4a")
        kept.add(name)
        cues = film_cues(scenes, starts_seconds)
        srt, vtt = workdir / "subtitles.srt", workdir / "subtitles.vtt"
        srt.write_text(to_srt(cues), encoding="utf-8")
        vtt.write_text(to_vtt(cues), encoding="utf-8")
        chapters = workdir / "chapters.txt"
        titles = [f"{s.number}. {s.heading}" for s in scenes]
        chapters.write_text(assembly.chapters_metadata(titles, starts_seconds), encoding="utf-8")
        progress("joining the scenes", 0.9)
        video = workdir / "film.mp4"
        assembly.join_and_mux(
            pieces=pieces, audio=audio, subtitles_srt=srt, chapters=chapters, out=video,
            workdir=workdir, burn_subtitles=film.burn_subtitles, width=width, height=height,
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
        title_card(best, title=film.title, width=width, height=height).save(
            poster, "JPEG", quality=88
        )
    _remove_old_pieces(film, kept)
    return {
        "video": _store(film, "film.mp4", video),
        "poster": _store(film, "poster.jpg", poster) if keyframes else "",
        "subtitles_vtt": _store(film, "subtitles.vtt", vtt),
        "subtitles_srt": _store(film, "subtitles.srt", srt),
        "duration_seconds": round(seconds, 3),
    }


def _remove_old_pieces(film: Film, kept: set[str]) -> None:
    folder = f"films/{film.public_id}/pieces"
    try:
        _, names = default_storage.listdir(folder)
    except (FileNotFoundError, NotImplementedError):
        return
    for name in names:
        if f"{folder}/{name}" not in kept:
            default_storage.delete(f"{folder}/{name}")
