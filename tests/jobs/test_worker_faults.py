"""Faults across processes: real worker processes (``manage.py rundramatiq``) on the real
broker and PostgreSQL, one of them killed with SIGKILL mid-job. The job finishes on the other
worker, exactly one video exists, and a cloud job is started at the provider exactly once."""

from __future__ import annotations

import json

import pytest
from django.db import connection

from dreams import services
from dreams.models import Dream, DreamStatus
from jobs.models import Invocation, InvocationStatus
from tests.processes import SweeperProcess, WorkerProcess
from tests.support import stored_files, wait_for

# Those marked ``broker`` run again on RabbitMQ: a render and a cloud poll redelivered. What a
# film or a GPU clip does with a redelivered message is the same on either broker (the gpu
# queue on each broker: test_dream_jobs).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]


def database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER'] or 'postgres'}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture
def start_worker(tmp_path, broker, media_env):
    started: list[WorkerProcess] = []

    def start(*queues: str, **extra_env: str) -> WorkerProcess:
        env = {"DATABASE_URL": database_url(), **media_env}
        worker = WorkerProcess(queues, tmp_path, {**env, **extra_env})
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def sweeper(tmp_path, broker):
    """``manage.py sweep_jobs`` every second with short stall allowances (3 s)."""
    process = SweeperProcess(
        tmp_path,
        {
            "DATABASE_URL": database_url(),
            "SWEEP_RENDER_STALL_SECONDS": "3",
            "SWEEP_CLOUD_STALL_SECONDS": "3",
        },
    )
    yield process
    process.stop()


@pytest.mark.broker
def test_a_worker_killed_mid_render_leaves_one_video_made_by_the_other(
    user, make_character, start_worker, sweeper, media_root
):
    first = start_worker("media")
    dream = services.create_dream(
        owner=user,
        character=make_character(user, photos=("astronaut.png", "chelsea.png")),
        prompt="Eileen floats through the station",
        backend="animatic",
        seed=11,
    )
    wait_for(
        lambda: Dream.objects.filter(
            pk=dream.pk, status=DreamStatus.RUNNING, progress__gt=0.1
        ).exists(),
        timeout=60,
    )
    second = start_worker("media")
    first.kill()

    done = wait_for(
        lambda: (
            Dream.objects.filter(pk=dream.pk)
            .exclude(status=DreamStatus.RUNNING)
            .exclude(status=DreamStatus.QUEUED)
            .first()
        ),
        timeout=120,
    )
    assert done.status == DreamStatus.SUCCEEDED, (done.error, second.log())
    assert done.attempts == 2
    assert len([path for path in stored_files() if path.suffix == ".mp4"]) == 1
    # The second worker's JSON log names the job on every line about it. (It logs the finish
    # just after the row says so: wait for the line rather than race it.)
    wait_for(lambda: "Finished: a 6.0 s video" in second.log(), timeout=10)
    lines = [json.loads(line) for line in second.log().splitlines() if line.startswith("{")]
    about_dreams = [line for line in lines if line["logger"].startswith(("dreams", "jobs.render"))]
    # At-least-once delivery: the broker's redelivery and the sweeper's requeue may both
    # arrive; the one that loses must do nothing.
    duplicate = f"dream-{dream.pk} is not queued; nothing to do."
    messages = [line["message"] for line in about_dreams]
    assert [message for message in messages if message != duplicate] == [
        "Rendering on animatic, attempt 2",
        "Finished: a 6.0 s video",
    ]
    assert {line["job_id"] for line in about_dreams} == {f"dream-{dream.pk}"}


def test_dreams_a_killed_worker_had_fetched_but_not_started_go_to_another_within_seconds(
    user, make_character, start_worker, sweeper, media_root
):
    """A worker fetches more messages than it runs (Dramatiq prefetches two per thread). Killed,
    the Redis broker gives them back only when a live worker's command looks for dead ones,
    which Dramatiq's default did once in a thousand commands: the queued dream waited minutes
    (until the sweeper's queued resend) beside an idle worker. RabbitMQ gives them back as the
    connection drops."""
    fast = {"DRAMATIQ_HEARTBEAT_TIMEOUT_MS": "2000"}
    character = make_character(user, photos=("astronaut.png", "chelsea.png"))
    dreams = [
        services.create_dream(
            owner=user, character=character, prompt=prompt, backend="animatic", seed=3
        )
        for prompt in ("Eileen floats through the station", "Eileen waits her turn")
    ]
    first = start_worker("media", **fast)
    wait_for(
        lambda: Dream.objects.filter(
            pk=dreams[0].pk, status=DreamStatus.RUNNING, progress__gt=0.1
        ).exists(),
        timeout=60,
    )
    first.kill()
    second = start_worker("media", **fast)

    done = wait_for(
        lambda: (
            list(Dream.objects.filter(pk__in=[d.pk for d in dreams]).order_by("pk"))
            if not Dream.objects.filter(
                pk__in=[d.pk for d in dreams], status__in=(DreamStatus.QUEUED, DreamStatus.RUNNING)
            ).exists()
            else None
        ),
        timeout=60,
    )
    assert [d.status for d in done] == [DreamStatus.SUCCEEDED] * 2, second.log()
    # The waiting dream was never started by the killed worker: one attempt, the second's.
    assert done[1].attempts == 1


@pytest.mark.broker
def test_a_worker_killed_while_polling_never_starts_the_cloud_job_twice(
    cloud, settings, user, make_character, start_worker, sweeper
):
    cloud.in_progress_polls = 6
    provider = {
        "NOVA_REEL_OUTPUT_S3_URI": settings.NOVA_REEL_OUTPUT_S3_URI,
        "AWS_S3_ENDPOINT_URL": settings.AWS_S3_ENDPOINT_URL,
        "BEDROCK_ENDPOINT_URL": settings.BEDROCK_ENDPOINT_URL,
        "BEDROCK_CONTROL_ENDPOINT_URL": settings.BEDROCK_CONTROL_ENDPOINT_URL,
        "BEDROCK_POLL_SECONDS": "0.5",
    }
    first = start_worker("cloud", **provider)
    services.create_dream(
        owner=user,
        character=make_character(user),
        prompt="Eileen waves",
        backend="nova-reel",
        duration_seconds=6,
    )
    wait_for(
        lambda: Invocation.objects.filter(
            status=InvocationStatus.IN_PROGRESS, polls__gte=1
        ).exists(),
        timeout=60,
    )
    second = start_worker("cloud", **provider)
    first.kill()

    dream = wait_for(
        lambda: Dream.objects.exclude(status__in=(DreamStatus.RUNNING, DreamStatus.QUEUED)).first(),
        timeout=120,
    )
    assert dream.status == DreamStatus.SUCCEEDED, (dream.error, second.log())
    assert cloud.start_count() == 1


def test_a_worker_killed_mid_film_resumes_without_redoing_finished_scenes(
    user, make_character, start_worker, sweeper, media_root
):
    from films import services as film_services
    from films.models import Film, Scene
    from jobs.models import JobStatus
    from tests.film_fixtures import make_cast, make_film

    first = start_worker("media")
    film = make_film(user, make_cast(make_character, user), scene_count=3, target_seconds=30)
    wait_for(lambda: not Scene.objects.filter(film=film, narration_key="").exists(), timeout=60)
    film_services.render_film(film=film)
    killed = wait_for(
        lambda: Scene.objects.filter(
            film=film, position=1, status=JobStatus.RUNNING, progress__gt=0.1
        ).first(),
        timeout=120,
    )
    finished = {
        s.pk: (s.clip.name, s.attempts) for s in Scene.objects.filter(film=film, position=0)
    }
    second = start_worker("media")
    first.kill()

    done = wait_for(
        lambda: Film.objects.filter(pk=film.pk, status__in=("succeeded", "failed")).first(),
        timeout=180,
    )
    assert done.status == JobStatus.SUCCEEDED, (done.error, second.log())
    for scene in Scene.objects.filter(pk__in=finished):
        assert (scene.clip.name, scene.attempts) == finished[scene.pk]
    assert Scene.objects.get(pk=killed.pk).attempts == 2
    films = [p for p in stored_files(f"films/{film.public_id}") if p.name.startswith("film-")]
    assert len(films) == 1


def test_a_worker_killed_mid_cloud_film_starts_each_scene_once(
    cloud, settings, user, make_character, start_worker, sweeper
):
    from films import services as film_services
    from films.models import Film, Scene
    from jobs.models import JobStatus
    from tests.film_fixtures import make_cast, make_film

    cloud.in_progress_polls = 3
    provider = {
        "NOVA_REEL_OUTPUT_S3_URI": settings.NOVA_REEL_OUTPUT_S3_URI,
        "AWS_S3_ENDPOINT_URL": settings.AWS_S3_ENDPOINT_URL,
        "BEDROCK_ENDPOINT_URL": settings.BEDROCK_ENDPOINT_URL,
        "BEDROCK_CONTROL_ENDPOINT_URL": settings.BEDROCK_CONTROL_ENDPOINT_URL,
        "BEDROCK_POLL_SECONDS": "0.5",
        "DAILY_BUDGET_USD": "20",
    }
    settings.DAILY_BUDGET_USD = "20"
    first = start_worker("media", "cloud", **provider)
    film = make_film(
        user, make_cast(make_character, user), idea="A cat finds a map.", backend="nova-reel"
    )
    wait_for(lambda: not Scene.objects.filter(film=film, narration_key="").exists(), timeout=60)
    # Short plans: each narration fits one 6 s clip, which opens on the previous last frame.
    Scene.objects.filter(film=film).update(planned_seconds=4.0)
    film_services.render_film(film=film)
    second_scene = Scene.objects.get(film=film, position=1)
    wait_for(
        lambda: Invocation.objects.filter(
            job_id=second_scene.pk, status=InvocationStatus.IN_PROGRESS, polls__gte=1
        ).exists(),
        timeout=90,
    )
    second = start_worker("media", "cloud", **provider)
    first.kill()

    done = wait_for(
        lambda: Film.objects.filter(pk=film.pk, status__in=("succeeded", "failed")).first(),
        timeout=180,
    )
    assert done.status == JobStatus.SUCCEEDED, (done.error, second.log())
    assert cloud.start_count() == 3
    assert Scene.objects.get(film=film, position=0).attempts == 1


def test_a_gpu_worker_killed_mid_clip_is_recovered(
    settings, tiny_weights, user, make_character, start_worker, sweeper, media_root
):
    gpu = {
        "WAN_WEIGHTS": str(tiny_weights["wan"]), "WAN_SIZE": "32x32", "GPU_DEVICE": "cpu",
        "GPU_STEPS": "200", "CLIP_BACKENDS": "animatic,wan-flf2v",
    }  # fmt: skip
    # This process reads them as settings, the workers as their environment.
    settings.WAN_WEIGHTS, settings.WAN_SIZE = gpu["WAN_WEIGHTS"], gpu["WAN_SIZE"]
    settings.GPU_DEVICE, settings.GPU_STEPS = "cpu", 200
    settings.CLIP_BACKENDS = ["animatic", "wan-flf2v"]
    first = start_worker("gpu", **gpu)
    dream = services.create_dream(
        owner=user, character=make_character(user), prompt="Eileen floats", backend="wan-flf2v",
        seed=5,
    )  # fmt: skip
    denoising = Dream.objects.filter(pk=dream.pk, stage__startswith="denoising step")
    try:
        wait_for(denoising.exists, timeout=120)
    except AssertionError:
        raise AssertionError(first.log()[-3000:]) from None
    second = start_worker("gpu", **gpu)
    first.kill()
    done = wait_for(
        lambda: (
            Dream.objects.filter(pk=dream.pk)
            .exclude(status__in=[DreamStatus.RUNNING, DreamStatus.QUEUED])
            .first()
        ),
        timeout=180,
    )
    assert done.status == DreamStatus.SUCCEEDED, (done.error, second.log())
    assert done.attempts == 2
    assert len([path for path in stored_files() if path.suffix == ".mp4"]) == 1
