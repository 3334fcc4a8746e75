"""Stored files in the Django admin. Media has no public address (DESIGN.md: owner-checked
views or short-lived presigned URLs), so the admin's stock "Currently: <a href=MEDIA_URL…>"
link is a 404; staff open a file through the admin's own permission check instead."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from .files import file_response


class StoredFileLinksAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """A model admin whose ``file_fields`` (field names) open at
    ``<object id>/file/<field>/`` for staff who may view the model; ``file_link`` makes the
    link a read-only field shows."""

    file_fields: tuple[str, ...] = ()

    def _url_name(self) -> str:
        meta = self.model._meta
        return f"{meta.app_label}_{meta.model_name}_file"

    def file_link(self, obj: Any, field: str, label: str) -> str:
        """An HTML link to ``obj``'s ``field`` labelled ``label``, or "—" without a file."""
        if not getattr(obj, field):
            return "—"
        url = reverse(f"admin:{self._url_name()}", args=[obj.pk, field])
        return format_html('<a href="{}">{}</a>', url, label)

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<int:object_id>/file/<str:field>/",
                self.admin_site.admin_view(self.file_view),
                name=self._url_name(),
            ),
            *super().get_urls(),
        ]

    def file_view(self, request: HttpRequest, object_id: int, field: str) -> HttpResponseBase:
        """The file in ``field`` of object ``object_id``. Raises ``PermissionDenied`` for
        staff who may not view the model, ``Http404`` for another field or no file."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        if field not in self.file_fields:
            raise Http404("No such file.")
        obj = get_object_or_404(self.model, pk=object_id)
        return file_response(request, getattr(obj, field))
