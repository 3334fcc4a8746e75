"""A film's files: each under the film's folder (``films/<public_id>/``) in Django's storage,
on local disk or S3 alike; work happens in a local work folder."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models.fields.files import FieldFile

from .errors import FilmGone
from .models import Film, Scene, film_media_path


def fetch(field: FieldFile, path: Path) -> Path:
    """Copy a stored file to ``path`` (local disk or S3 alike); returns ``path``."""
    with field.open("rb") as source, path.open("wb") as target:
        shutil.copyfileobj(source, target)
    return path


def store(film: Film, name: str, path: Path) -> str:
    """Store the local file ``path`` in ``film``'s folder as ``name`` (storage adds a suffix
    where the name is taken); returns its storage name."""
    with path.open("rb") as data:
        return default_storage.save(film_media_path(film.public_id, name), File(data))


def delete_files(names: Iterable[str]) -> None:
    """Delete the stored files ``names`` (empty names skipped)."""
    for name in names:
        if name:
            default_storage.delete(name)


def delete_film_files(public_id: uuid.UUID) -> None:
    """Delete every file stored under the film's folder (``films/<public_id>/``, its pieces
    included), on local disk or S3 alike: what a worker stored while the film was being
    deleted goes too."""

    def remove(folder: str) -> None:
        try:
            folders, files = default_storage.listdir(folder)
        except (FileNotFoundError, NotImplementedError):
            return
        for name in files:
            default_storage.delete(f"{folder}/{name}")
        for child in folders:
            remove(f"{folder}/{child}")

    remove(f"films/{public_id}")


#: A scene's fields that hold files: keyframes, narration, clip and its frames.
SCENE_FILE_FIELDS = (
    "first_keyframe", "last_keyframe", "narration_audio", "clip", "clip_last_frame", "thumbnail",
)  # fmt: skip


def scene_file_names(scene: Scene) -> list[str]:
    """The storage names of every file a scene holds (``SCENE_FILE_FIELDS``)."""
    return [getattr(scene, f).name for f in SCENE_FILE_FIELDS if getattr(scene, f)]


def save_result(
    row: Scene | Film, *, files: dict[str, str], key_field: str, key: str, **values: Any
) -> bool:
    """Point the row's file fields at the new ``files`` and set ``key_field`` to ``key`` and
    ``values`` in one update, under a row lock, then delete the files they replace: a file
    and what was measured from it are never seen apart, and no earlier file is left behind.

    When another worker stored a result for the same ``key`` meanwhile, that one is kept and
    ours deleted (the row is refreshed from it); returns False. Raises ``FilmGone`` (after
    deleting the new files) when the row was deleted meanwhile."""
    model = type(row)
    fields = [*files, key_field]
    with transaction.atomic():
        current = (
            model._default_manager.select_for_update().filter(pk=row.pk).values(*fields).first()
        )
        if current is not None and not (
            current[key_field] == key and all(current[field] for field in files)
        ):
            model._default_manager.filter(pk=row.pk).update(**files, **values, **{key_field: key})
    if current is None:
        delete_files(files.values())
        raise FilmGone()
    if current[key_field] == key and all(current[field] for field in files):
        delete_files(files.values())
        row.refresh_from_db(fields=[*fields, *values])
        return False
    delete_files(name for name in (current[f] for f in files) if name not in files.values())
    for field, value in {**files, **values, key_field: key}.items():
        setattr(row, field, value)
    return True


def clean_up_if_deleted(film: Film) -> None:
    """A film deleted while a worker made its files: delete whatever it stored since."""
    if not Film.objects.filter(pk=film.pk).exists():
        delete_film_files(film.public_id)


#: The film's fields that hold files (its scenes': ``scene_file_names``).
FILM_FILE_FIELDS = ("video", "poster", "subtitles_vtt", "subtitles_srt", "music")


def remove_unnamed_files(film: Film) -> None:
    """Delete the files in the film's folder (its pieces apart) that neither the film nor any
    of its scenes names: those a step stored and a kill kept it from naming (a cut, a take, a
    keyframe, a narration, the music), which would otherwise stay until the film is deleted.
    Called by the film's own pass while it holds the film, with every scene's clip made, when
    no other step of the film stores anything (a late duplicate finds its work done and
    deletes its own files)."""
    folder = f"films/{film.public_id}"
    try:
        _, names = default_storage.listdir(folder)
    except (FileNotFoundError, NotImplementedError):
        return
    row = Film.objects.filter(pk=film.pk).values(*FILM_FILE_FIELDS).first() or {}
    named = {name for name in row.values() if name}
    for scene in Scene.objects.filter(film_id=film.pk):
        named.update(scene_file_names(scene))
    for name in names:
        if f"{folder}/{name}" not in named:
            default_storage.delete(f"{folder}/{name}")
