"""Migrations that move data keep it: invocations moved from dreams to jobs."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("dreams", "0002_cloud_invocations"), ("jobs", None)]


@pytest.mark.django_db(transaction=True)
def test_invocations_move_to_the_jobs_app_with_their_dream_and_times():
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate(BEFORE)
    try:
        old = executor.loader.project_state([BEFORE[0]]).apps
        owner = old.get_model("accounts", "User").objects.create(
            email="spender@example.com", password="!"
        )
        dream = old.get_model("dreams", "Dream").objects.create(
            owner=owner, character_name="Eileen", prompt="waves", backend="nova-reel", seed=1
        )
        common = {
            "owner": owner,
            "backend": "nova-reel",
            "model_id": "amazon.nova-reel-v1:1",
            "region": "us-east-1",
            "video_seconds": 6.0,
            "estimated_cost_usd": Decimal("0.48"),
        }
        Invocations = old.get_model("dreams", "Invocation")
        kept = Invocations.objects.create(
            dream=dream, client_token="kept", status="in_progress", arn="arn:1", polls=3, **common
        )
        orphan = Invocations.objects.create(
            dream=None,
            client_token="orphan",
            status="completed",
            cost_usd=Decimal("0.48"),
            **common,
        )
        long_ago = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
        Invocations.objects.filter(pk=kept.pk).update(created_at=long_ago)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(latest)

    from dreams.models import Dream
    from jobs.invocations import current_invocation
    from jobs.models import Invocation

    moved = Invocation.objects.get(client_token="kept")
    assert moved.pk == kept.pk
    assert moved.job == Dream.objects.get(pk=dream.pk)
    assert (moved.status, moved.arn, moved.polls, moved.created_at) == (
        "in_progress",
        "arn:1",
        3,
        long_ago,
    )
    assert current_invocation(Dream.objects.get(pk=dream.pk)) == moved
    spent = Invocation.objects.get(client_token="orphan")
    assert (spent.pk, spent.job_id, spent.cost_usd) == (orphan.pk, None, Decimal("0.48"))
    # Each gets its line in the spend ledger, at its own time, as the budget counted it.
    reserved, settled = moved.charge, spent.charge
    assert (reserved.status, reserved.estimated_cost_usd, reserved.created_at) == (
        "reserved",
        Decimal("0.48"),
        long_ago,
    )
    assert reserved.job == moved.job and reserved.unit == "video_seconds"
    assert (settled.status, settled.cost_usd, settled.job_id) == ("settled", Decimal("0.48"), None)
    # New rows continue after the copied ids (PostgreSQL's sequence was moved on).
    fields = {key: value for key, value in common.items() if key != "owner"}
    later = Invocation.objects.create(client_token="new", owner_id=owner.pk, **fields)
    assert later.pk > max(kept.pk, orphan.pk)
