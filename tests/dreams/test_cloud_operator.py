"""What operators see of the cloud backends (model status, spend) and media in S3 storage."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from characters.models import Character
from jobs.models import Invocation, InvocationStatus
from tests.cloud_fixtures import bucket_keys
from tests.support import bytes_upload, photo_upload

pytestmark = pytest.mark.django_db


def test_model_status_page_shows_reachability_and_lifecycle(
    cloud, operator_client, alice_client, user, make_character
):
    cloud.models = {
        "amazon.nova-reel-v1:1": {
            "status": "LEGACY",
            "endOfLifeTime": datetime(2027, 9, 30, tzinfo=UTC).isoformat(),
        },
        "luma.ray-v2:0": (403, "AccessDeniedException", "You don't have access to this model."),
    }
    index = operator_client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:jobs_model_status") in index
    page = operator_client.get(reverse("admin:jobs_model_status")).content.decode()
    assert "amazon.nova-reel-v1:1" in page and "LEGACY" in page and "2027-09-30" in page
    assert "AccessDeniedException: You don&#x27;t have access to this model." in page
    # Users are offered the reachable model only.
    make_character(user)
    form = alice_client.get(reverse("dreams:create")).content.decode()
    assert 'value="nova-reel"' in form and 'value="luma-ray2"' not in form


def test_a_retired_model_is_not_offered_and_check_again_sees_changes(
    cloud, operator_client, alice_client, user, make_character
):
    cloud.models = {
        "amazon.nova-reel-v1:1": {
            "status": "LEGACY",
            "endOfLifeTime": datetime(2026, 9, 30, tzinfo=UTC).isoformat(),
        }
    }
    make_character(user)
    page = operator_client.get(reverse("admin:jobs_model_status")).content.decode()
    assert "AWS retired this model on 2026-09-30." in page
    assert 'value="nova-reel"' not in alice_client.get(reverse("dreams:create")).content.decode()
    cloud.models = {}
    operator_client.post(reverse("admin:jobs_model_status"))
    assert 'value="nova-reel"' in alice_client.get(reverse("dreams:create")).content.decode()


def test_operator_pages_are_staff_only(cloud, alice_client):
    for name in ("admin:jobs_model_status", "admin:jobs_spend"):
        response = alice_client.get(reverse(name))
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_spend_page_sums_per_user_and_day(operator_client, user, other_user):
    from jobs import ledger
    from jobs.invocations import set_status

    def invocation(owner, token, status, estimate, cost=None):
        # As the cloud path makes them: a charge reserved with the invocation, then the
        # invocation's status, which the charge follows.
        charge = ledger.reserve(
            owner_id=owner.pk,
            job=None,
            backend="nova-reel",
            unit="video_seconds",
            quantity=6,
            estimate_usd=Decimal(estimate),
        )
        made = Invocation.objects.create(
            owner=owner,
            charge=charge,
            backend="nova-reel",
            model_id="amazon.nova-reel-v1:1",
            region="us-east-1",
            client_token=token,
            video_seconds=6,
            estimated_cost_usd=Decimal(estimate),
        )
        set_status(made, status, cost_usd=None if cost is None else Decimal(cost))

    invocation(user, "a", InvocationStatus.COMPLETED, "0.48", "0.48")
    invocation(user, "b", InvocationStatus.IN_PROGRESS, "0.96")
    invocation(user, "c", InvocationStatus.FAILED, "0.48")
    invocation(other_user, "d", InvocationStatus.ABANDONED, "9.60")
    page = operator_client.get(reverse("admin:jobs_spend")).content.decode()
    assert "<td>alice@example.com</td><td>3</td><td>$1.44</td>" in page
    assert "<td>mallory@example.com</td><td>1</td><td>$9.60</td>" in page


def test_uploads_go_to_the_private_bucket_without_overwriting(
    s3_media, moto_s3, alice_client, user
):
    response = alice_client.post(
        reverse("characters:create"),
        {
            "name": "Eileen",
            "images": [photo_upload("astronaut.png"), photo_upload("astronaut.png")],
        },
    )
    assert response.status_code == 302
    keys = bucket_keys(moto_s3, s3_media)
    # Two uploads of the same photo: two images and two thumbnails, four distinct objects.
    assert len(keys) == 4 and len(set(keys)) == 4
    character = Character.objects.get()
    image = character.ordered_images()[0]
    redirect = alice_client.get(
        reverse("characters:image_file", args=[character.public_id, image.id, "full"])
    )
    assert redirect.status_code == 302 and "X-Amz-Signature=" in redirect["Location"]


def test_a_refused_upload_leaves_nothing_in_the_bucket(s3_media, moto_s3, alice_client, user):
    response = alice_client.post(
        reverse("characters:create"),
        {"name": "Eileen", "images": [photo_upload(), bytes_upload("notes.png", b"not an image")]},
    )
    assert response.status_code == 400
    assert bucket_keys(moto_s3, s3_media) == []
    assert not Character.objects.exists()


def test_the_model_status_page_checks_the_writers_models(cloud, settings, operator_client):
    """The writers are called by inference-profile ids ("us.…"); GetFoundationModel is asked
    about the model behind each."""
    settings.BEDROCK_WRITER_REGION = "us-east-1"
    settings.SCRIPT_WRITERS = ["template", "claude", "nova"]
    cloud.models = {
        "anthropic.claude-haiku-4-5-20251001-v1:0": {"status": "ACTIVE"},
        "amazon.nova-2-lite-v1:0": (403, "AccessDeniedException", "No access to Nova 2 Lite."),
    }
    page = operator_client.get(reverse("admin:jobs_model_status")).content.decode()
    table = page[page.index('id="writer-status"') :]
    assert "Claude (Bedrock)" in table and "anthropic.claude-haiku-4-5-20251001-v1:0" in table
    assert "ACTIVE" in table
    assert "AccessDeniedException: No access to Nova 2 Lite." in table
    settings.BEDROCK_WRITER_REGION = ""
    page = operator_client.get(reverse("admin:jobs_model_status")).content.decode()
    assert "No language model is offered: the template writes every script." in page
