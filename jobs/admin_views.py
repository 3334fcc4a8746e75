"""Operator pages in the admin: spend per user and day, and model status (Bedrock and GPU)."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin
from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from generation.availability import model_status
from generation.gpu.backends import gpu_models
from generation.gpu.status import gpu_status
from generation.registry import provider_backends
from generation.writers import writer_models

from .budget import SPEND, daily_budget_usd, day_bounds
from .models import Charge

#: Days of history the spend page shows.
SPEND_DAYS = 30


def spend_view(request: HttpRequest) -> HttpResponse:
    """What each user's paid calls cost or may cost (USD), per day, for the last 30 days,
    from the spend ledger."""
    if not request.user.has_perm("jobs.view_invocation"):
        return redirect("admin:index")
    today = timezone.localdate()
    start, _ = day_bounds(today - timedelta(days=SPEND_DAYS - 1))
    rows = (
        Charge.objects.filter(created_at__gte=start)
        .annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .values("day", "owner__email")
        .annotate(spend=Sum(SPEND), jobs=Count("id"))
        .order_by("-day", "-spend", "owner__email")
    )
    per_user = (
        Charge.objects.filter(created_at__gte=start)
        .values("owner__email")
        .annotate(spend=Sum(SPEND), jobs=Count("id"))
        .order_by("-spend", "owner__email")
    )
    context = {
        **admin.site.each_context(request),
        "title": "Spend per user and day",
        "rows": rows,
        "per_user": per_user,
        "days": SPEND_DAYS,
        "budget": daily_budget_usd(),
    }
    return render(request, "admin/jobs/spend.html", context)


def model_status_view(request: HttpRequest) -> HttpResponse:
    """Each configured Bedrock model (clip backends, and the script writers' models):
    reachable with these credentials, and its lifecycle;
    each local GPU model: ready, or why not. POST checks Bedrock again now instead of
    trusting the cached result."""
    if not request.user.has_perm("jobs.view_invocation"):
        return redirect("admin:index")
    refresh = request.method == "POST"
    statuses = [
        (backend, model_status(backend, refresh=refresh)) for backend in provider_backends()
    ]
    writers = [(model, model_status(model, refresh=refresh)) for model in writer_models()]
    # The local GPU models: what a gpu worker found when it booted, or what this machine finds.
    gpu = [(backend, gpu_status(backend)) for backend in gpu_models()]
    if refresh:
        return redirect("admin:jobs_model_status")
    context = {
        **admin.site.each_context(request),
        "title": "Model status",
        "statuses": statuses,
        "writer_statuses": writers,
        "gpu_statuses": gpu,
    }
    return render(request, "admin/jobs/model_status.html", context)
