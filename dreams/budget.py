"""What dreams cost and how much of a user's daily budget is left.

Spending is counted from ``Invocation`` rows, which outlive deleted dreams: a queued, starting,
running or abandoned invocation counts at its estimate (the provider may bill it), a completed
one at its actual cost, a failed or cancelled one at nothing. Days are ``TIME_ZONE`` days.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Case, DecimalField, Q, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from .models import BUDGETED_STATUSES, Invocation, InvocationStatus

ZERO = Decimal("0.00")


def daily_budget_usd() -> Decimal:
    """Each user's daily limit on paid backends, in USD (``DAILY_BUDGET_USD``)."""
    return Decimal(settings.DAILY_BUDGET_USD).quantize(Decimal("0.01"))


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """Start (inclusive) and end (exclusive) of ``day`` in the site's time zone, as aware
    datetimes."""
    zone = timezone.get_current_timezone()
    start = datetime.combine(day, time.min, tzinfo=zone)
    return start, start + timedelta(days=1)


#: Per invocation: its actual cost once completed, its estimate while it may still bill.
SPEND = Case(
    When(status=InvocationStatus.COMPLETED, then=Coalesce("cost_usd", "estimated_cost_usd")),
    When(status__in=BUDGETED_STATUSES, then="estimated_cost_usd"),
    default=Value(ZERO),
    output_field=DecimalField(max_digits=10, decimal_places=2),
)


def spent_today_usd(*, owner, day: date | None = None) -> Decimal:
    """What ``owner``'s invocations created on ``day`` (default today) cost or may cost, USD."""
    start, end = day_bounds(day or timezone.localdate())
    total = Invocation.objects.filter(
        Q(owner=owner), created_at__gte=start, created_at__lt=end
    ).aggregate(total=Sum(SPEND))["total"]
    return (total or ZERO).quantize(Decimal("0.01"))


def remaining_today_usd(*, owner) -> Decimal:
    """``owner``'s budget left today in USD, never below zero."""
    return max(daily_budget_usd() - spent_today_usd(owner=owner), ZERO)


def format_usd(amount: Decimal | None) -> str:
    """ "$0.48" for display; "—" when unknown."""
    if amount is None:
        return "—"
    return f"${amount:,.2f}"
