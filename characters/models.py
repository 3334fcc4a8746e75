"""Characters: a person's named subject with one to three reference images."""

import uuid

from django.conf import settings
from django.db import models

#: A character has at least this many reference images, and at most ``MAX_REFERENCE_IMAGES``.
MIN_REFERENCE_IMAGES = 1
MAX_REFERENCE_IMAGES = 3


def reference_image_path(instance: "ReferenceImage", filename: str) -> str:
    """Where a reference photo lives in storage: a fresh name under the character's folder."""
    # A fresh random name per upload, so two uploads never overwrite each other.
    return f"characters/{instance.character.public_id}/{uuid.uuid4().hex}.jpg"


def reference_thumbnail_path(instance: "ReferenceImage", filename: str) -> str:
    """Where a reference photo's thumbnail lives in storage, beside the photo."""
    return f"characters/{instance.character.public_id}/{uuid.uuid4().hex}-thumb.jpg"


class Character(models.Model):
    """A subject the user keeps in their library and casts in dreams."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="characters"
    )
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=80)
    description = models.TextField(max_length=1000, blank=True)
    # The character sheet's other parts (written by the user, or by a vision model from the
    # photos: ``characters.sheets``).
    appearance = models.TextField(max_length=1000, blank=True)
    personality = models.TextField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="unique_character_name")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def sheet(self) -> str:
        """The character sheet a script writer is given: the description, appearance and
        personality that are written, in one line ("" when none is)."""
        parts = [
            " ".join(self.description.split()),
            f"Appearance: {' '.join(self.appearance.split())}" if self.appearance.strip() else "",
            f"Personality: {' '.join(self.personality.split())}"
            if self.personality.strip()
            else "",
        ]
        return " ".join(part for part in parts if part)

    def ordered_images(self) -> list["ReferenceImage"]:
        """The character's photos in the owner's order (``position``), the first the cover."""
        return sorted(self.images.all(), key=lambda image: (image.position, image.id))


class ReferenceImage(models.Model):
    """One reference photo, stored as an 8-bit sRGB JPEG without metadata, plus a thumbnail."""

    character = models.ForeignKey(Character, on_delete=models.CASCADE, related_name="images")
    image = models.FileField(upload_to=reference_image_path, max_length=255)
    thumbnail = models.FileField(upload_to=reference_thumbnail_path, max_length=255)
    width = models.PositiveIntegerField(help_text="pixels")
    height = models.PositiveIntegerField(help_text="pixels")
    original_name = models.CharField(max_length=255, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.character} #{self.position + 1}"
