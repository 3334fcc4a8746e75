from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from lib.files import file_response

from .models import Character, ReferenceImage


def _thumbnail_tag(image: ReferenceImage) -> str:
    if not image.pk:
        return "—"
    url = reverse("admin:characters_referenceimage_thumbnail", args=[image.pk])
    return format_html('<img src="{}" alt="" style="max-height:80px">', url)


class ReferenceImageInline(admin.TabularInline[ReferenceImage, Character]):
    """A character's photos in the admin, as thumbnails served through the admin's permission check;
    none added here."""

    model = ReferenceImage
    extra = 0
    fields = ["preview", "position", "width", "height", "original_name", "created_at"]
    readonly_fields = ["preview", "width", "height", "original_name", "created_at"]
    can_delete = False

    @admin.display(description="Image")
    def preview(self, image: ReferenceImage) -> str:
        """The photo's thumbnail."""
        return _thumbnail_tag(image)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Never: new photos go through the upload checks in ``characters.services``."""
        # New images go through the upload checks in characters.services.
        return False


@admin.register(Character)
class CharacterAdmin(admin.ModelAdmin[Character]):
    """Characters for operators, with their photos' thumbnails."""

    list_display = ["name", "owner", "image_count", "created_at"]
    list_select_related = ["owner"]
    search_fields = ["name", "description", "owner__email"]
    list_filter = ["created_at"]
    readonly_fields = ["public_id", "created_at", "updated_at"]
    inlines = [ReferenceImageInline]

    @admin.display(description="images")
    def image_count(self, character: Character) -> int:
        """How many photos the character has."""
        return character.images.count()

    def get_urls(self) -> list[URLPattern]:
        """The admin's URLs plus the thumbnail view (staff only)."""
        # Staff see thumbnails through the admin's own permission check, not a public URL.
        return [
            path(
                "image/<int:image_id>/thumbnail/",
                self.admin_site.admin_view(self.thumbnail_view),
                name="characters_referenceimage_thumbnail",
            ),
            *super().get_urls(),
        ]

    def thumbnail_view(self, request: HttpRequest, image_id: int) -> HttpResponseBase:
        """A photo's thumbnail to staff who may view characters; 403 for others."""
        if not self.has_view_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        return file_response(request, get_object_or_404(ReferenceImage, pk=image_id).thumbnail)
