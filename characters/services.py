"""Creating, editing and deleting characters and their reference images.

Every function validates everything before it writes, and a failure leaves no row and no file
behind: files written inside a transaction that then fails are deleted again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import IO, Protocol

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from accounts.models import User
from lib.errors import UserError

from .images import ImageRejected, ProcessedImage, process_reference_image
from .models import MAX_REFERENCE_IMAGES, MIN_REFERENCE_IMAGES, Character, ReferenceImage


class CharacterError(UserError):
    """A request about a character cannot be carried out; ``message`` says why."""


class Upload(Protocol):
    """What the services need of an uploaded file (Django's ``UploadedFile`` fits)."""

    name: str
    size: int

    def open(self, mode: str = ...) -> IO[bytes]:
        """Reopen the upload for reading from its start."""
        ...


def _process_all(uploads: Sequence[Upload]) -> list[tuple[str, ProcessedImage]]:
    processed = []
    for upload in uploads:
        try:
            with upload.open("rb") as stream:
                processed.append(
                    (
                        upload.name,
                        process_reference_image(stream, name=upload.name, size=upload.size),
                    )
                )
        except ImageRejected as error:
            raise CharacterError(error.message) from None
    return processed


@contextlib.contextmanager
def _files_removed_on_error() -> Iterator[list[str]]:
    """Collects names of stored files; deletes them if the block (or its commit) fails."""
    written: list[str] = []
    try:
        yield written
    except BaseException:
        for name in written:
            default_storage.delete(name)
        raise


def _store_images(
    character: Character,
    processed: list[tuple[str, ProcessedImage]],
    first_position: int,
    written: list[str],
) -> list[ReferenceImage]:
    images = []
    for offset, (original_name, result) in enumerate(processed):
        image = ReferenceImage(
            character=character,
            width=result.width,
            height=result.height,
            original_name=original_name[:255],
            position=first_position + offset,
        )
        image.image.save("image.jpg", ContentFile(result.jpeg), save=False)
        written.append(image.image.name)
        image.thumbnail.save("thumb.jpg", ContentFile(result.thumbnail_jpeg), save=False)
        written.append(image.thumbnail.name)
        image.save()
        images.append(image)
    return images


def _check_name(*, owner: User, name: str, exclude_id: int | None = None) -> str:
    name = name.strip()
    if not name:
        raise CharacterError("Give the character a name.")
    taken = Character.objects.filter(owner=owner, name__iexact=name)
    if exclude_id is not None:
        taken = taken.exclude(id=exclude_id)
    if taken.exists():
        raise CharacterError(f"You already have a character called “{name}”.")
    return name


def create_character(
    *, owner: User, name: str, description: str, uploads: Sequence[Upload]
) -> Character:
    """Create a character with 1 to 3 reference images, in the order given.

    Raises ``CharacterError`` (nothing saved) for an empty or duplicate name, a wrong number of
    images, or any image that ``process_reference_image`` refuses.
    """
    name = _check_name(owner=owner, name=name)
    if not MIN_REFERENCE_IMAGES <= len(uploads) <= MAX_REFERENCE_IMAGES:
        raise CharacterError(
            f"Upload between {MIN_REFERENCE_IMAGES} and {MAX_REFERENCE_IMAGES} reference images; "
            f"you chose {len(uploads)}."
        )
    processed = _process_all(uploads)
    try:
        with _files_removed_on_error() as written, transaction.atomic():
            character = Character.objects.create(owner=owner, name=name, description=description)
            _store_images(character, processed, 0, written)
    except IntegrityError:
        # Another request created the same name between the check and the insert.
        raise CharacterError(f"You already have a character called “{name}”.") from None
    return character


def update_character(
    *, character: Character, name: str, description: str, appearance: str | None = None,
    personality: str | None = None,
) -> Character:  # fmt: skip
    """Rename or re-describe a character (``appearance`` and ``personality``: None keeps
    them). Raises ``CharacterError`` for a bad name."""
    character.name = _check_name(owner=character.owner, name=name, exclude_id=character.id)
    character.description = description
    if appearance is not None:
        character.appearance = appearance
    if personality is not None:
        character.personality = personality
    try:
        with transaction.atomic():
            character.save(
                update_fields=["name", "description", "appearance", "personality", "updated_at"]
            )
    except IntegrityError:
        raise CharacterError(f"You already have a character called “{character.name}”.") from None
    return character


def add_reference_images(
    *, character: Character, uploads: Sequence[Upload]
) -> list[ReferenceImage]:
    """Add images after the existing ones.

    The count is checked under a lock on the character, so two uploads racing for the last
    free slot cannot both win. Raises ``CharacterError`` (nothing saved) when the character
    would exceed 3 images, when no file was chosen, or when an image is refused.
    """
    if not uploads:
        raise CharacterError("Choose at least one image to add.")
    processed = _process_all(uploads)
    with _files_removed_on_error() as written, transaction.atomic():
        # Row lock on PostgreSQL; on SQLite the IMMEDIATE transaction already serialises.
        Character.objects.select_for_update().get(pk=character.pk)
        existing = list(character.images.order_by("position", "id"))
        if len(existing) + len(processed) > MAX_REFERENCE_IMAGES:
            free = MAX_REFERENCE_IMAGES - len(existing)
            raise CharacterError(
                f"A character has at most {MAX_REFERENCE_IMAGES} reference images; "
                f"“{character.name}” has {len(existing)}, so "
                + (f"you can add {free} more." if free else "remove one before adding another.")
            )
        next_position = existing[-1].position + 1 if existing else 0
        return _store_images(character, processed, next_position, written)


def _delete_files_on_commit(names: list[str]) -> None:
    def delete() -> None:
        for name in names:
            default_storage.delete(name)

    transaction.on_commit(delete)


def remove_reference_image(*, image: ReferenceImage) -> None:
    """Delete one image and its files. Raises ``CharacterError`` if it is the last one."""
    with transaction.atomic():
        character = Character.objects.select_for_update().get(pk=image.character_id)
        if character.images.count() <= MIN_REFERENCE_IMAGES:
            raise CharacterError(
                "A character needs at least one reference image: add another before removing "
                "this one, or delete the character."
            )
        names = [image.image.name, image.thumbnail.name]
        image.delete()
        for position, remaining in enumerate(character.images.order_by("position", "id")):
            if remaining.position != position:
                ReferenceImage.objects.filter(pk=remaining.pk).update(position=position)
        _delete_files_on_commit(names)


def move_reference_image(*, image: ReferenceImage, offset: int) -> None:
    """Move an image ``offset`` places earlier (negative) or later (positive) in the order."""
    with transaction.atomic():
        character = Character.objects.select_for_update().get(pk=image.character_id)
        ordered = list(character.images.order_by("position", "id"))
        index = next(i for i, candidate in enumerate(ordered) if candidate.pk == image.pk)
        target = min(max(index + offset, 0), len(ordered) - 1)
        ordered.insert(target, ordered.pop(index))
        for position, candidate in enumerate(ordered):
            if candidate.position != position:
                ReferenceImage.objects.filter(pk=candidate.pk).update(position=position)


def delete_character(*, character: Character) -> None:
    """Delete a character, its images and their files.

    Dreams made with it keep their videos; they show the character as deleted.
    """
    with transaction.atomic():
        names = [
            name
            for image in character.images.all()
            for name in (image.image.name, image.thumbnail.name)
        ]
        character.delete()
        _delete_files_on_commit(names)
