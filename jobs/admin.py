"""Admin for what every job shares: provider invocations (the spending record) and the
operations pages hung off them (spend, model status)."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.contenttypes.admin import GenericTabularInline
from django.http import HttpRequest
from django.urls import URLPattern, path
from django_dramatiq.models import Task

from .admin_views import model_status_view, spend_view

# django_dramatiq's task list fills only when its own broker middleware records every message,
# which we do not run: it showed "0 tasks" after any number of jobs. The jobs themselves
# (dreams, invocations) are the record operators use.
if admin.site.is_registered(Task):
    admin.site.unregister(Task)
from .models import Charge, Invocation


class InvocationInline(GenericTabularInline):
    """A job's invocations, for its own admin page (read-only)."""

    model = Invocation
    ct_field = "job_type"
    ct_fk_field = "job_id"
    extra = 0
    can_delete = False
    fields = ("client_token", "arn", "status", "polls", "estimated_cost_usd", "cost_usd")
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Charge)
class ChargeAdmin(admin.ModelAdmin[Charge]):
    """The spend ledger: one row per paid call. Read-only; the budget sums it."""

    list_display = [
        "created_at",
        "owner",
        "backend",
        "unit",
        "quantity",
        "status",
        "estimated_cost_usd",
        "cost_usd",
    ]
    list_filter = ["status", "unit", "backend", "created_at"]
    list_select_related = ["owner"]
    search_fields = ["owner__email", "backend"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Charge | None = None) -> bool:
        return False


@admin.register(Invocation)
class InvocationAdmin(admin.ModelAdmin[Invocation]):
    """Cloud invocations: the spending record. Read-only; spend and model status pages hang
    off it."""

    list_display = [
        "client_token",
        "owner",
        "backend",
        "status",
        "polls",
        "estimated_cost_usd",
        "cost_usd",
        "created_at",
    ]
    list_filter = ["status", "backend", "created_at"]
    list_select_related = ["owner"]
    search_fields = ["client_token", "arn", "owner__email"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Invocation | None = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        return [
            path("spend/", self.admin_site.admin_view(spend_view), name="jobs_spend"),
            path(
                "model-status/",
                self.admin_site.admin_view(model_status_view),
                name="jobs_model_status",
            ),
        ] + super().get_urls()
