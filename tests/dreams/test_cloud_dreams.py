"""Cloud dreams end to end through the real actors: the fake Bedrock (real HTTP) takes the job,
moto's S3 server holds its output, and the dream ends with a playable video in S3 storage."""

from __future__ import annotations

import re
import urllib.request
from decimal import Decimal

import pytest
from django.urls import reverse

from dreams import services
from dreams.models import Dream, DreamStatus, FailureKind
from jobs.embedded import resume_unfinished_jobs
from jobs.models import Invocation, InvocationStatus
from tests.cloud_fixtures import bucket_keys
from tests.fake_bedrock import Outcome
from tests.support import probe_video, run_until_idle, start_worker, stop_worker, take_message

pytestmark = pytest.mark.django_db(transaction=True)

# Cloud jobs poll by delayed messages: the tests marked ``broker`` run again on RabbitMQ. The
# others test the provider's answers, which no broker changes.


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


@pytest.mark.broker
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


def test_content_filter_at_submit_keeps_the_prompt_for_editing(
    cloud, alice_client, user, make_character, broker, worker
):
    cloud.start_errors = [
        (400, "ValidationException", "This request has been blocked by our content filters.")
    ]
    character = make_character(user)
    nova_dream(alice_client, character, prompt="something the filter dislikes")
    run_until_idle(broker, worker)
    dream = Dream.objects.get()
    assert dream.status == DreamStatus.FAILED
    assert dream.failure_kind == FailureKind.CONTENT_FILTER
    assert dream.error == (
        "Failed while submitting: Amazon Bedrock's content filter refused this prompt or the "
        "character's photo. Edit the prompt and try again."
    )
    assert Invocation.objects.get().status == InvocationStatus.FAILED
    page = alice_client.get(reverse("dreams:detail", args=[dream.public_id])).content.decode()
    edit_link = f"{reverse('dreams:create')}?from={dream.public_id}"
    assert edit_link in page and "Edit the prompt" in page
    form = alice_client.get(edit_link).content.decode()
    assert "something the filter dislikes</textarea>" in form
    assert re.search(r'<input[^>]*name="backend" value="nova-reel"[^>]*checked', form)


def test_content_filter_after_generation_says_so(
    cloud, alice_client, user, make_character, broker, worker
):
    cloud.outcome = Outcome(
        status="Failed",
        failure_message="The generated video was blocked.",
        status_document={"failures": [{"type": "RAI_VIOLATION_OUTPUT_VIDEO_DEFLECTION"}]},
    )
    nova_dream(alice_client, make_character(user))
    run_until_idle(broker, worker)
    dream = Dream.objects.get()
    assert (dream.status, dream.failure_kind) == (DreamStatus.FAILED, FailureKind.CONTENT_FILTER)
    assert dream.error.startswith("Failed while generating: Amazon Bedrock's content filter")
    assert "RAI_VIOLATION_OUTPUT_VIDEO_DEFLECTION" in dream.operator_note
    # Nothing was delivered, so nothing is charged.
    assert dream.cost_usd is None
    assert Invocation.objects.get().cost_usd is None


def test_provider_failure_names_its_reason(
    cloud, alice_client, user, make_character, broker, worker
):
    cloud.outcome = Outcome(status="Failed", failure_message="Internal model error")
    nova_dream(alice_client, make_character(user))
    run_until_idle(broker, worker)
    dream = Dream.objects.get()
    assert dream.error == (
        "Failed while generating: Amazon Nova Reel could not make this video: Internal model error"
    )
    assert dream.failure_kind == FailureKind.PROVIDER


@pytest.mark.broker
def test_throttling_and_quota_wait_and_then_succeed_without_the_user(
    cloud, alice_client, user, make_character, broker, worker
):
    cloud.start_errors = [
        (429, "ThrottlingException", "Too many requests, please wait."),
        (400, "ServiceQuotaExceededException", "Too many concurrent async invocations."),
    ]
    cloud.get_errors = [(429, "ThrottlingException", "Rate exceeded")]
    nova_dream(alice_client, make_character(user))
    run_until_idle(broker, worker)
    dream = Dream.objects.get()
    assert dream.status == DreamStatus.SUCCEEDED, dream.error
    invocation = Invocation.objects.get()
    assert invocation.busy_retries == 2
    # Three start requests reached the fake, but only the last was accepted: one job, one bill.
    assert cloud.start_count() == 3 and len(cloud.jobs) == 1


def test_output_that_appears_after_completed_is_still_collected(
    cloud, alice_client, user, make_character, broker, worker
):
    cloud.outcome = Outcome(output_late_polls=2)
    nova_dream(alice_client, make_character(user))
    run_until_idle(broker, worker)
    assert Dream.objects.get().status == DreamStatus.SUCCEEDED


@pytest.mark.broker
def test_worker_killed_between_submit_and_poll_resumes_from_the_saved_arn(
    cloud, alice_client, user, make_character, broker
):
    from jobs import tasks

    cloud.in_progress_polls = 1
    nova_dream(alice_client, make_character(user))
    # The first worker takes the start message and dies before any poll runs: its delayed
    # poll message is lost with it.
    tasks.start_invocation.fn(*take_message(broker, "cloud").args)
    invocation = Invocation.objects.get()
    assert invocation.arn and invocation.status == InvocationStatus.IN_PROGRESS
    broker.flush_all()

    # A new process starts: resuming finds the ARN and polls it; nothing is started again.
    resumed = resume_unfinished_jobs()
    assert resumed == 1
    worker = start_worker(broker)
    try:
        run_until_idle(broker, worker)
    finally:
        stop_worker(worker)
    assert Dream.objects.get().status == DreamStatus.SUCCEEDED
    assert cloud.start_count() == 1


def test_a_start_whose_answer_was_lost_is_found_by_its_token_not_sent_again(
    cloud, settings, alice_client, user, make_character, broker, worker
):
    from generation import aws

    # The provider takes the job but answers after our client gave up waiting.
    cloud.start_delay_seconds = 1.5
    settings.AWS_READ_TIMEOUT_SECONDS = 0.3
    aws.forget_clients()
    nova_dream(alice_client, make_character(user))
    run_until_idle(broker, worker)
    dream = Dream.objects.get()
    assert dream.status == DreamStatus.SUCCEEDED, dream.error
    assert cloud.start_count() == 1 and len(cloud.jobs) == 1
    invocation = Invocation.objects.get()
    assert invocation.arn == next(iter(cloud.jobs))


def test_budget_refuses_a_dream_that_would_exceed_it_and_says_what_is_left(
    cloud, settings, alice_client, user, make_character, broker, worker
):
    from tests.support import wait_for

    settings.DAILY_BUDGET_USD = "0.50"
    cloud.in_progress_polls = 10_000
    character = make_character(user)
    assert nova_dream(alice_client, character).status_code == 302
    wait_for(lambda: Invocation.objects.filter(status=InvocationStatus.IN_PROGRESS).exists())
    response = nova_dream(alice_client, character)
    assert response.status_code == 400
    assert (
        "This dream would cost about $0.48, but only $0.02 of your $0.50 daily budget is left "
        "today." in response.content.decode()
    )
    assert Dream.objects.count() == 1
    # Deleting a dream the provider is working on gives nothing back: it may still bill it.
    services.delete_dream(dream=Dream.objects.get())
    assert Invocation.objects.get().status == InvocationStatus.ABANDONED
    assert nova_dream(alice_client, character).status_code == 400
    # The free animatic is still allowed.
    ok = nova_dream(alice_client, character, backend="animatic", first_frame="")
    assert ok.status_code == 302


def test_cancelled_queued_cloud_dream_costs_nothing(
    cloud, settings, alice_client, user, make_character, broker
):
    settings.DAILY_BUDGET_USD = "0.50"
    character = make_character(user)
    nova_dream(alice_client, character)
    services.cancel_dream(dream=Dream.objects.get())
    assert Invocation.objects.get().status == InvocationStatus.CANCELED
    assert nova_dream(alice_client, character).status_code == 302


def test_access_denied_tells_the_operator_and_shows_the_user_a_plain_message(
    cloud, alice_client, user, make_character, broker, worker
):
    cloud.start_errors = [
        (403, "AccessDeniedException", "You don't have access to the model with the specified id.")
    ]
    character = make_character(user)
    nova_dream(alice_client, character)
    run_until_idle(broker, worker)
    dream = Dream.objects.get()
    assert dream.failure_kind == FailureKind.UNAVAILABLE
    assert dream.error == (
        "Failed while submitting: Amazon Nova Reel is unavailable right now. "
        "Try another backend, or try again later."
    )
    assert "AccessDeniedException" in dream.operator_note
    page = alice_client.get(reverse("dreams:detail", args=[dream.public_id])).content.decode()
    assert "AccessDeniedException" not in page
    # The backend is no longer offered until the status is checked again.
    form = alice_client.get(reverse("dreams:create")).content.decode()
    assert 'value="nova-reel"' not in form and 'value="luma-ray2"' in form


@pytest.mark.broker
def test_cancel_stops_polling_and_warns_that_the_provider_may_still_bill(
    cloud, alice_client, user, make_character, broker, worker
):
    from tests.support import wait_for

    cloud.in_progress_polls = 10_000
    nova_dream(alice_client, make_character(user))
    wait_for(lambda: Invocation.objects.filter(status=InvocationStatus.IN_PROGRESS).exists())
    dream = Dream.objects.get()
    page = alice_client.get(reverse("dreams:detail", args=[dream.public_id])).content.decode()
    assert "the provider may still finish the video and bill for it" in page
    wait_for(lambda: Dream.objects.get().stage == "generating (estimate)")
    alice_client.post(reverse("dreams:cancel", args=[dream.public_id]))
    run_until_idle(broker, worker)
    invocation = Invocation.objects.get()
    assert invocation.status == InvocationStatus.ABANDONED
    polls = invocation.polls
    run_until_idle(broker, worker)
    assert Invocation.objects.get().polls == polls
    assert Dream.objects.get().status == DreamStatus.CANCELED


def test_luma_ray2_dream_in_portrait(
    cloud, settings, alice_client, user, make_character, broker, worker
):
    settings.DAILY_BUDGET_USD = "20"
    nova_dream(
        alice_client, make_character(user), backend="luma-ray2", duration="9", aspect_ratio="9:16"
    )
    run_until_idle(broker, worker)
    dream = Dream.objects.get()
    assert dream.status == DreamStatus.SUCCEEDED, dream.error
    body = cloud.starts[0]["modelInput"]
    assert cloud.starts[0]["modelId"] == "luma.ray-v2:0"
    assert {k: v for k, v in body.items() if k != "keyframes"} == {
        "prompt": "Eileen waves from the station window",
        "aspect_ratio": "9:16",
        "loop": False,
        "duration": "9s",
        "resolution": "720p",
    }
    assert dream.cost_usd == Decimal("13.50")
