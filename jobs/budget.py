"""What paid work costs and how much of a user's daily budget is left.

Spending is counted from the ledger's ``Charge`` rows (``jobs.ledger``), which outlive deleted
jobs: a reserved charge counts at its estimate (the provider may still bill it: a queued,
starting, running or abandoned invocation), a settled one at its actual cost, a void one (a
failed or cancelled invocation) at nothing. Days are ``TIME_ZONE`` days.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import Case, DecimalField, Q, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from lib.money import format_usd

from .models import Charge, ChargeStatus

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


#: Per charge: its actual cost once settled, its estimate while it may still bill.
SPEND = Case(
    When(status=ChargeStatus.SETTLED, then=Coalesce("cost_usd", "estimated_cost_usd")),
    When(status=ChargeStatus.RESERVED, then="estimated_cost_usd"),
    default=Value(ZERO),
    output_field=DecimalField(max_digits=10, decimal_places=2),
)


def spent_today_usd(*, owner: AbstractBaseUser, day: date | None = None) -> Decimal:
    """What ``owner``'s paid calls made on ``day`` (default today) cost or may cost, USD."""
    start, end = day_bounds(day or timezone.localdate())
    total = Charge.objects.filter(
        Q(owner=owner), created_at__gte=start, created_at__lt=end
    ).aggregate(total=Sum(SPEND))["total"]
    return (total or ZERO).quantize(Decimal("0.01"))


def remaining_today_usd(*, owner: AbstractBaseUser) -> Decimal:
    """``owner``'s budget left today in USD, never below zero."""
    return max(daily_budget_usd() - spent_today_usd(owner=owner), ZERO)


class BudgetExceeded(Exception):
    """A paid job would go over its owner's daily budget; ``message`` says what is left."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def reserve(*, owner: AbstractBaseUser, estimate_usd: Decimal, what: str, cheaper: str) -> Decimal:
    """Check that ``estimate_usd`` fits ``owner``'s budget left today and return it.

    Must run inside the transaction that creates the paid work: the owner's row is locked,
    so two submissions racing cannot both spend the last of the budget. ``what`` names the
    work ("This dream"), ``cheaper`` suggests what fits. Raises ``BudgetExceeded``.
    """
    if estimate_usd <= 0:
        return estimate_usd
    get_user_model().objects.select_for_update().filter(pk=owner.pk).first()
    remaining = remaining_today_usd(owner=owner)
    if estimate_usd > remaining:
        raise BudgetExceeded(
            f"{what} would cost about {format_usd(estimate_usd)}, but only "
            f"{format_usd(remaining)} of your {format_usd(daily_budget_usd())} daily budget "
            f"is left today. {cheaper}"
        )
    return estimate_usd
