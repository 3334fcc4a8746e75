"""Cloud dreams end to end through the real actors: the fake Bedrock (real HTTP) takes the job,
moto's S3 server holds its output, and the dream ends with a playable video in S3 storage."""

from __future__ import annotations

import urllib.request
from decimal import Decimal

import pytest
from django.urls import reverse

from dreams import services
from dreams.models import Dream, DreamStatus, FailureKind, Invocation, InvocationStatus
from tests.cloud_fixtures import bucket_keys
from tests.fake_bedrock import Outcome
from tests.support import probe_video, run_until_idle

pytestmark = pytest.mark.django_db(transaction=True)


def nova_dream(client, character, **extra):
    data = {
        "character": str(character.public_id),
        "prompt": "Eileen waves from the station window",
        "backend": "nova-reel",
        "duration": "6",
        "aspect_ratio": "16:9",
        "first_frame": "on",
        "seed": "42",
    }
    data.update(extra)
    return client.post(reverse("dreams:create"), data)


def test_nova_reel_dream_runs_to_a_playable_video_in_s3(
    cloud, s3_media, moto_s3, alice_client, user, other_user, make_character, broker, worker
):
    character = make_character(user, photos=("astronaut.png", "chelsea.png"))
    cloud.in_progress_polls = 3
    response = nova_dream(alice_client, character)
    assert response.status_code == 302, response.content.decode()[:2000]
    run_until_idle(broker, worker)

    dream = Dream.objects.get()
    assert dream.status == DreamStatus.SUCCEEDED, dream.error
    assert (dream.estimated_cost_usd, dream.cost_usd) == (Decimal("0.48"), Decimal("0.48"))
    # One start, with the token saved before it, and the exact TEXT_VIDEO body.
    invocation = Invocation.objects.get()
    assert cloud.start_count() == 1
    sent = cloud.starts[0]
    assert sent["clientRequestToken"] == invocation.client_token
    assert sent["modelId"] == "amazon.nova-reel-v1:1"
    assert sent["modelInput"]["taskType"] == "TEXT_VIDEO"
    assert sent["modelInput"]["videoGenerationConfig"] == {
        "durationSeconds": 6,
        "fps": 24,
        "dimension": "1280x720",
        "seed": 42,
    }
    assert len(sent["modelInput"]["textToVideoParams"]["images"]) == 1
    assert invocation.status == InvocationStatus.COMPLETED and invocation.polls >= 4
    # The video and poster live in the private media bucket, not on disk.
    keys = bucket_keys(moto_s3, s3_media)
    assert dream.video.name in keys and dream.poster.name in keys

    # The owner's video link redirects to a short-lived presigned URL that serves the MP4.
    redirect = alice_client.get(reverse("dreams:video", args=[dream.public_id]))
    assert redirect.status_code == 302
    url = redirect["Location"]
    assert url.startswith(moto_s3) and "X-Amz-Signature=" in url and "X-Amz-Expires=300" in url
    with urllib.request.urlopen(url) as served:
        data = served.read()
    probe = probe_video(data)
    assert (probe.width, probe.height, round(probe.duration)) == (1280, 720, 6)

    # Another user is never issued a URL for it.
    alice_client.logout()
    alice_client.force_login(other_user)
    for name in ("dreams:video", "dreams:poster", "dreams:detail"):
        assert alice_client.get(reverse(name, args=[dream.public_id])).status_code == 404
