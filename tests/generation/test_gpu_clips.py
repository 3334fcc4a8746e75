"""The local GPU backends on the CPU: tiny random-weight Wan and LTX-Video pipelines, built
offline and loaded from their folders through the code that loads real weights, render dreams
and film scenes on the ``gpu`` queue with progress per denoising step; cancel stops between
steps; weights that are missing, empty, of the wrong model or damaged are named."""

import shutil
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from django.test import override_settings
from django.urls import reverse

from dreams import services
from dreams.models import DreamStatus
from films.errors import FilmError
from films.quote import quote_film
from generation.registry import offered_backends
from tests.film_fixtures import make_cast, make_film, render_to_end
from tests.support import (
    Events,
    photo_path,
    probe_video,
    queue_size,
    run_jobs,
    stored_bytes,
    wait_for,
    x264_options,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def gpu(settings, tiny_weights):
    """The two GPU backends on the tiny weights, on the CPU, 32×32, three steps."""
    settings.WAN_WEIGHTS, settings.LTX_WEIGHTS = str(tiny_weights["wan"]), str(tiny_weights["ltx"])
    settings.WAN_SIZE = settings.LTX_SIZE = "32x32"
    settings.GPU_DEVICE = "cpu"
    settings.GPU_STEPS = 3
    settings.CLIP_BACKENDS = ["animatic", "wan-flf2v", "ltx-video"]
    return settings


def test_a_dream_renders_on_the_gpu_queue_step_by_step(gpu, user, make_character, broker, worker):
    character = make_character(user, photos=("astronaut.png", "chelsea.png"))
    assert {b.name for b in offered_backends()} >= {"wan-flf2v", "ltx-video"}
    events = Events(user)
    worker.pause()
    dream = services.create_dream(
        owner=user, character=character, prompt="Eileen floats through the station",
        backend="wan-flf2v", seed=3,
    )  # fmt: skip
    assert (queue_size(broker, "gpu"), queue_size(broker, "media")) == (1, 0)
    worker.resume()
    run_jobs(broker, worker)
    dream.refresh_from_db()
    assert dream.status == DreamStatus.SUCCEEDED, dream.error
    probe = probe_video(stored_bytes(dream.video))
    assert (probe.codec, probe.pixel_format, probe.width, probe.height) == (
        "h264",
        "yuv420p",
        32,
        32,
    )
    # Five seconds at Wan's 16 fps, as a frame count Wan takes (4k + 1).
    assert (probe.fps, probe.frames) == (16, 81)
    stages = events.stages()
    # ("loading the model" comes first unless an earlier test left the pipeline warm.)
    named = [s for s in stages if s.startswith(("encoding", "denoising", "decoding"))]
    assert named == [
        "encoding the prompt", "denoising step 1 of 3",
        "denoising step 2 of 3", "denoising step 3 of 3", "decoding", "encoding the video",
    ]  # fmt: skip


def test_a_film_renders_its_scenes_on_ltx_chained(gpu, user, make_character, broker, worker):
    from generation.gpu.backends import LtxBackend

    # The script as written, no narration shortened: LTX-Video makes scenes of up to 10 s.
    film = make_film(user, make_cast(make_character, user), backend="ltx-video", scene_count=3)
    render_to_end(film, broker, worker)
    scenes = list(film.scenes.order_by("position"))
    assert all(s.backend == "ltx-video" and s.clip for s in scenes)
    # Each clip lasts its scene's planned 10 s: 24 fps, 8k + 1 frames.
    assert [s.clip_seconds for s in scenes] == [241 / 24] * 3
    probe = probe_video(stored_bytes(scenes[0].clip))
    assert (probe.fps, probe.frames, probe.width) == (24, 241, 32)
    assert probe_video(stored_bytes(film.video)).codec == "h264"
    # Each scene's GPU-seconds are in the spend ledger (free here: no price is set).
    from jobs.models import Charge

    settled = Charge.objects.filter(unit="gpu_seconds", status="settled")
    assert settled.count() == 3 and all(c.quantity > 0 and c.cost_usd == 0 for c in settled)
    # A 10 s scene's estimate scales with its frames against a 5 s clip's.
    assert LtxBackend().estimated_gpu_seconds(10.0) == pytest.approx(3 * 0.175 * 241 / 121)


def test_cancel_stops_between_two_denoising_steps(gpu, user, make_character, broker, worker):
    gpu.GPU_STEPS = 400
    dream = services.create_dream(
        owner=user, character=make_character(user), prompt="Eileen floats", backend="wan-flf2v",
        seed=1,
    )  # fmt: skip
    done = threading.Event()
    threading.Thread(target=lambda: (run_jobs(broker, worker), done.set()), daemon=True).start()
    wait_for(lambda: dream.__class__.objects.get(pk=dream.pk).stage.startswith("denoising step 2"))
    services.cancel_dream(dream=dream)
    assert done.wait(60)
    dream.refresh_from_db()
    assert dream.status == DreamStatus.CANCELED and not dream.video
    # It stopped within a step or two of the press, not after all 400.


def test_a_cancelled_render_runs_no_further_denoising_step(gpu, tmp_path):
    from generation.gpu.backends import WanBackend
    from generation.video import ClipRequest, RenderCanceled

    gpu.GPU_STEPS = 50
    seen: list[str] = []

    def progress(stage: str, fraction: float) -> None:
        # As the job's reporter does once the job is cancelled: every later report raises.
        seen.append(stage)
        if "denoising step 3 of 50" in seen:
            raise RenderCanceled()

    request = ClipRequest(
        prompt="a cat", seed=1, first_frame=photo_path("astronaut.png"),
        last_frame=photo_path("chelsea.png"),
    )  # fmt: skip
    with pytest.raises(RenderCanceled):
        WanBackend().render(request, workdir=tmp_path, progress=progress)
    assert "denoising step 3 of 50" in seen and "denoising step 4 of 50" not in seen
    assert not (tmp_path / "video.mp4").exists()


@pytest.mark.parametrize(
    "weights, detail",
    [
        ("missing", "does not exist"),
        ("empty", "is empty"),
        ("not-diffusers", "has no model_index.json"),
        ("wrong-model", "holds a LTXConditionPipeline model, not Wan"),
        ("no-transformer", "lacks its transformer folder"),
        ("unreadable", "model_index.json in {folder} cannot be read (Is a directory)"),
    ],
)
def test_weights_that_are_not_the_model_are_named_and_not_offered(
    gpu, tiny_weights, tmp_path, operator_client, weights, detail
):
    folder = tmp_path / "wan"
    if weights == "empty":
        folder.mkdir()
    elif weights == "not-diffusers":
        folder.mkdir()
        (folder / "weights.bin").write_bytes(b"\0" * 64)
    elif weights == "wrong-model":
        folder = tiny_weights["ltx"]
    elif weights == "no-transformer":
        shutil.copytree(tiny_weights["wan"], folder)
        shutil.rmtree(folder / "transformer")
    elif weights == "unreadable":
        # (Tests run as root, whom permissions do not stop: a folder where the file should be.)
        (folder / "model_index.json").mkdir(parents=True)
    gpu.WAN_WEIGHTS = str(folder)
    offered = {b.name for b in offered_backends()}
    assert "wan-flf2v" not in offered and "ltx-video" in offered
    page = operator_client.get(reverse("admin:jobs_model_status")).content.decode()
    assert detail.format(folder=folder) in page and str(folder) in page


def test_a_size_the_model_refuses_is_named(gpu, operator_client):
    gpu.WAN_SIZE = "40x30"
    assert "wan-flf2v" not in {b.name for b in offered_backends()}
    page = operator_client.get(reverse("admin:jobs_model_status")).content.decode()
    assert "multiples of 16 pixels; WAN_SIZE is 40x30" in page


def test_a_length_the_model_refuses_is_named_and_nothing_is_saved(
    gpu, user, make_character, broker, worker
):
    from dreams.models import Dream
    from films import services as film_services

    cast = make_cast(make_character, user)
    with pytest.raises(services.DreamError) as refused:
        services.create_dream(
            owner=user, character=cast[0], prompt="Eileen floats", backend="wan-flf2v",
            duration_seconds=7.0,
        )  # fmt: skip
    assert refused.value.message == (
        "Wan first-last-frame (local GPU) makes clips of 5 seconds, not 7."
    )
    assert not Dream.objects.exists()
    # A film scene whose narration needs more than Wan's 81 frames is named, not cut short.
    film = make_film(user, cast, backend="wan-flf2v")
    run_jobs(broker, worker)
    scene = film.scenes.order_by("position").first()
    film_services.update_scene(
        scene=scene, heading=scene.heading, shot=scene.shot,
        narration="A very long narration that goes on and on " * 3,
        first_frame_text=scene.first_frame_text, last_frame_text=scene.last_frame_text,
        framing=scene.framing, transition=scene.transition,
    )  # fmt: skip
    run_jobs(broker, worker)
    problems = quote_film(film=film).problems
    assert any(
        p.startswith("Scene 1: its narration needs ")
        and p.endswith("Wan first-last-frame (local GPU) makes at most 5 s. Shorten it.")
        for p in problems
    ), problems
    with pytest.raises(FilmError):
        film_services.render_film(film=film)


def test_damaged_weights_fail_the_clip_at_loading_and_say_so(
    gpu, tiny_weights, tmp_path, user, make_character, broker, worker
):
    folder = shutil.copytree(tiny_weights["wan"], tmp_path / "wan")
    for weights in (folder / "transformer").glob("*.safetensors"):
        weights.write_bytes(weights.read_bytes()[:100])
    gpu.WAN_WEIGHTS = str(folder)
    dream = services.create_dream(
        owner=user, character=make_character(user), prompt="Eileen floats", backend="wan-flf2v"
    )
    run_jobs(broker, worker)
    dream.refresh_from_db()
    assert dream.status == DreamStatus.FAILED
    assert dream.stage == "loading the model"
    assert f"weights in {folder} could not be loaded" in dream.error


def test_without_weights_or_a_gpu_the_backends_are_not_offered(settings, operator_client):
    settings.CLIP_BACKENDS = ["animatic", "wan-flf2v", "ltx-video"]
    settings.WAN_WEIGHTS, settings.LTX_WEIGHTS = "", ""
    assert [b.name for b in offered_backends()] == ["animatic"]
    page = operator_client.get(reverse("admin:jobs_model_status")).content.decode()
    assert "No GPU model is configured" in page


def test_a_machine_without_a_gpu_is_named(gpu, operator_client, monkeypatch):
    gpu.GPU_DEVICE = "cuda"
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert "wan-flf2v" not in {b.name for b in offered_backends()}
    page = operator_client.get(reverse("admin:jobs_model_status")).content.decode()
    assert "CUDA_VISIBLE_DEVICES hides every GPU" in page


def test_the_web_process_never_imports_torch():
    # The web process never imports torch: declaring the backends reads files only.
    import subprocess
    import sys

    code = (
        "import django, os, sys; os.environ.setdefault('DJANGO_SETTINGS_MODULE', "
        "'dreamsite.settings'); django.setup(); from generation.registry import "
        "offered_backends; offered_backends(); import dreams.views, films.views; "
        "print('torch' in sys.modules, 'diffusers' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert done.stdout.split() == ["False", "False"]


def _out_of_memory_on_step_one(times: int):
    """A progress callback that runs out of GPU memory at the first denoising step, the
    first ``times`` times (torch raises ``OutOfMemoryError`` from inside the step)."""
    import torch

    left = [times]

    def progress(stage: str, fraction: float) -> None:
        # Only the render's own thread: the heartbeat repeating the stage is not a step.
        on_render_thread = threading.current_thread() is threading.main_thread()
        if stage.startswith("denoising step 1 ") and left[0] > 0 and on_render_thread:
            left[0] -= 1
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 45.00 GiB")

    return progress


def test_out_of_memory_is_retried_once_saving_memory(gpu, tiny_weights, tmp_path):
    from generation.gpu.backends import WanBackend
    from generation.gpu.pipelines import forget_pipelines, warm_pipeline
    from generation.gpu.warm import is_warm
    from generation.video import ClipRequest

    forget_pipelines()  # no other model to make way

    # A folder of its own: the memory savings stay on the pipeline kept warm for it.
    gpu.WAN_WEIGHTS = str(shutil.copytree(tiny_weights["wan"], tmp_path / "wan"))
    request = ClipRequest(
        prompt="a cat", seed=1, duration_seconds=5.0, first_frame=photo_path("astronaut.png")
    )
    clip = WanBackend().render(request, workdir=tmp_path, progress=_out_of_memory_on_step_one(1))
    assert clip.metadata["memory_saving"] is True
    assert probe_video(clip.video_path).frames == 81
    assert is_warm(WanBackend())
    pipeline, _ = warm_pipeline(WanBackend())
    assert pipeline.vae.use_tiling


def test_wan_takes_the_flow_shift_of_its_frame_size(gpu):
    """The Wan FLF2V checkpoint is trained at 720p and its scheduler's shift is for that;
    diffusers' Wan pages shift 3.0 below 720p and 5.0 at 720p. (The tiny scheduler's own is
    7.0.) LTX-Video keeps its checkpoint's."""
    from generation.gpu.backends import LtxBackend, WanBackend
    from generation.gpu.pipelines import forget_pipelines, warm_pipeline

    forget_pipelines()
    assert warm_pipeline(WanBackend())[0].scheduler.config.shift == 3.0  # 32x32
    forget_pipelines()
    gpu.WAN_SIZE = "1280x720"
    assert warm_pipeline(WanBackend())[0].scheduler.config.shift == 5.0
    assert warm_pipeline(LtxBackend())[0].scheduler.config.shift == 1.0
    forget_pipelines()


def _stages_of(backend, request, workdir):
    stages: list[str] = []
    backend.render(request, workdir=workdir, progress=lambda stage, f: stages.append(stage))
    return stages


def test_models_stay_loaded_together_within_the_memory_share(
    gpu, tiny_weights, tmp_path, operator_client
):
    from generation.gpu.backends import LtxBackend, WanBackend
    from generation.gpu.pipelines import forget_pipelines
    from generation.gpu.warm import is_warm
    from generation.video import ClipRequest

    def loaded_on_the_status_page() -> int:
        # (The worker publishes when it loads a model, not only every GPU_STATUS_SECONDS.)
        page = operator_client.get(reverse("admin:jobs_model_status")).content.decode()
        return page.count("<td>yes, ")

    request = ClipRequest(
        prompt="a cat", seed=1, duration_seconds=2.0, first_frame=photo_path("astronaut.png")
    )
    forget_pipelines()
    # The defaults: two models, half the memory (here the CPU's, which the tiny ones fit).
    assert "loading the model" in _stages_of(WanBackend(), request, tmp_path)
    assert "loading the model" in _stages_of(LtxBackend(), request, tmp_path)
    assert "loading the model" not in _stages_of(WanBackend(), request, tmp_path)
    assert is_warm(WanBackend()) and is_warm(LtxBackend())
    assert loaded_on_the_status_page() == 2

    # A share too small for both: loading one lets the other go, as a count of one does.
    for setting, value in (("GPU_WARM_MEMORY_SHARE", 1e-12), ("GPU_WARM_PIPELINES", 1)):
        forget_pipelines()
        with override_settings(**{setting: value}):
            _stages_of(WanBackend(), request, tmp_path)
            _stages_of(LtxBackend(), request, tmp_path)
            assert is_warm(LtxBackend()) and not is_warm(WanBackend()), setting
            assert loaded_on_the_status_page() == 1
            assert "loading the model" in _stages_of(WanBackend(), request, tmp_path)


def test_out_of_memory_lets_the_other_models_go_before_saving_memory(gpu, tiny_weights, tmp_path):
    from generation.gpu.backends import LtxBackend, WanBackend
    from generation.gpu.warm import is_warm
    from generation.video import ClipRequest

    gpu.WAN_WEIGHTS = str(shutil.copytree(tiny_weights["wan"], tmp_path / "wan"))
    request = ClipRequest(
        prompt="a cat", seed=1, duration_seconds=5.0, first_frame=photo_path("astronaut.png")
    )
    LtxBackend().render(request, workdir=tmp_path, progress=lambda stage, f: None)
    assert is_warm(LtxBackend())
    clip = WanBackend().render(request, workdir=tmp_path, progress=_out_of_memory_on_step_one(1))
    # LTX-Video made way; the clip then rendered as it was, at full speed.
    assert clip.metadata["memory_saving"] is False
    assert probe_video(clip.video_path).frames == 81
    assert is_warm(WanBackend()) and not is_warm(LtxBackend())


def test_out_of_memory_twice_fails_the_clip_saying_so(gpu, tiny_weights, tmp_path):
    from generation.gpu.backends import WanBackend
    from generation.gpu.pipelines import forget_pipelines
    from generation.video import ClipRequest, RenderError

    forget_pipelines()

    gpu.WAN_WEIGHTS = str(shutil.copytree(tiny_weights["wan"], tmp_path / "wan"))
    request = ClipRequest(
        prompt="a cat", seed=1, duration_seconds=5.0, first_frame=photo_path("astronaut.png")
    )
    with pytest.raises(RenderError) as failed:
        WanBackend().render(request, workdir=tmp_path, progress=_out_of_memory_on_step_one(2))
    assert failed.value.stage == "denoising"
    assert "ran out of memory for a 32x32 clip of 81 frames, even with VAE tiling" in (
        failed.value.message
    )


def test_a_second_clip_waits_for_the_busy_gpu_and_renders(
    gpu, user, make_character, broker, worker
):
    gpu.GPU_STEPS = 20
    character = make_character(user)
    events = Events(user)
    dreams = [
        services.create_dream(
            owner=user, character=character, prompt="Eileen floats", backend="wan-flf2v", seed=s
        )
        for s in (1, 2)
    ]
    run_jobs(broker, worker)
    for dream in dreams:
        dream.refresh_from_db()
        assert dream.status == DreamStatus.SUCCEEDED, dream.error
    # The worker's two threads took both; one waited while the other denoised.
    assert "waiting for the GPU" in events.stages()


def test_the_gpu_benchmark_and_dream_check_run_on_tiny_weights(tmp_path):
    # bench/gpu_clip.py and bench/gpu_dream.py on the CPU, so they cannot rot before a GPU
    # runs them; the dream check renders on the weights the benchmark kept.
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    environment = {**os.environ, "GPU_STEPS": "4"}
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    bench = subprocess.run(
        [sys.executable, "bench/gpu_clip.py", "--tiny", "--keep", str(tmp_path / "wan")],
        capture_output=True, text=True, timeout=600, cwd=root, env=environment, check=False,
    )  # fmt: skip
    assert bench.returncode == 0, bench.stderr[-2000:]
    assert "diffusers' defaults, 4 steps" in bench.stdout
    assert "ours, quality, 4 steps, no cache" in bench.stdout
    assert "ours, quality, 4 steps, cache 0.05" in bench.stdout
    assert "ours, draft, 4 steps, cache 0.05" in bench.stdout
    assert "PSNR vs defaults" in bench.stdout
    assert "speed-ups: attention native, first-block cache 0.05" in bench.stdout
    from tests.gpu_models import build_tiny_flux2_klein

    environment.update(
        WAN_WEIGHTS=str(tmp_path / "wan"), WAN_SIZE="32x32", GPU_STEPS="3",
        KEYFRAME_WEIGHTS=str(build_tiny_flux2_klein(tmp_path / "flux2")),
    )  # fmt: skip
    dream = subprocess.run(
        [sys.executable, "bench/gpu_dream.py", "--device", "cpu", "--draw"],
        capture_output=True, text=True, timeout=600, cwd=root, env=environment, check=False,
    )  # fmt: skip
    assert dream.returncode == 0, dream.stdout[-2000:] + dream.stderr[-2000:]
    lines = dream.stdout.splitlines()
    stages = [line.split("%  ", 1)[1] for line in lines if "%  " in line]
    assert stages[-7:] == [
        "denoising step 1 of 3", "denoising step 2 of 3", "denoising step 3 of 3",
        "decoding", "encoding the video", "saving", "done",
    ]  # fmt: skip
    assert "drawing the opening frame: step 4 of 4" in stages
    assert "succeeded after" in dream.stdout


def test_gpu_seconds_are_recorded_priced_and_count_against_the_budget(
    gpu, user, make_character, broker, worker
):
    from dreams.services import DreamError
    from jobs.models import Charge, ChargeStatus

    gpu.GPU_USD_PER_SECOND, gpu.WAN_SECONDS_PER_STEP = "0.50", 1.0
    gpu.DAILY_BUDGET_USD = "1.00"
    character = make_character(user)
    # Three steps of an estimated second at $0.50: $1.50, over a $1.00 budget.
    with pytest.raises(DreamError) as refused:
        services.create_dream(
            owner=user, character=character, prompt="Eileen floats", backend="wan-flf2v"
        )
    assert "would cost about $1.50, but only $1.00" in refused.value.message
    assert Charge.objects.count() == 0

    gpu.DAILY_BUDGET_USD = "10.00"
    dream = services.create_dream(
        owner=user, character=character, prompt="Eileen floats", backend="wan-flf2v"
    )
    assert dream.estimated_cost_usd == Decimal("1.50")
    reserved = Charge.objects.get()
    assert (reserved.unit, reserved.quantity, reserved.status) == ("gpu_seconds", 3.0, "reserved")
    run_jobs(broker, worker)
    dream.refresh_from_db()
    assert dream.status == DreamStatus.SUCCEEDED, dream.error
    charge = Charge.objects.get()
    # The measured GPU-seconds at the price, to the cent.
    assert charge.status == ChargeStatus.SETTLED and charge.quantity > 0
    assert charge.cost_usd == (Decimal("0.50") * Decimal(str(charge.quantity))).quantize(
        Decimal("0.01")
    )
    assert dream.cost_usd == charge.cost_usd


def test_a_cancelled_gpu_clip_bills_nothing(gpu, user, make_character, broker, worker):
    from jobs.models import Charge, ChargeStatus

    gpu.GPU_USD_PER_SECOND, gpu.WAN_SECONDS_PER_STEP = "0.50", 1.0
    worker.pause()
    dream = services.create_dream(
        owner=user, character=make_character(user), prompt="Eileen floats", backend="wan-flf2v"
    )
    services.cancel_dream(dream=dream)
    worker.resume()
    run_jobs(broker, worker)
    assert Charge.objects.get().status == ChargeStatus.VOID


@pytest.mark.parametrize(
    "setting, value, message",
    [
        ("GPU_ATTENTION", "flash_hub", "GPU_ATTENTION=flash_hub downloads its kernel from the Hub"),
        ("GPU_FP8", "on", "GPU_FP8=on needs an NVIDIA GPU; GPU_DEVICE is cpu. Use auto or off."),
        ("GPU_FP8", "fast", "GPU_FP8 must be one of off, auto, on, not &#x27;fast&#x27;."),
        ("GPU_WARM_MEMORY_SHARE", 0.0, "more than 0 and at most 1 (like 0.5); it is 0."),
    ],
)
def test_speed_settings_the_worker_cannot_honour_are_refused_and_named(
    gpu, operator_client, setting, value, message
):
    setattr(gpu, setting, value)
    assert not {"wan-flf2v", "ltx-video"} & {b.name for b in offered_backends()}
    page = operator_client.get(reverse("admin:jobs_model_status")).content.decode()
    assert message in page.replace("Hugging Face Hub", "Hub")


def test_an_attention_kernel_not_installed_fails_the_clip_at_loading(
    gpu, tiny_weights, tmp_path, user, make_character, broker, worker
):
    # FlashAttention-2 is not installed here: the operator named it, so it is not replaced.
    gpu.WAN_WEIGHTS = str(shutil.copytree(tiny_weights["wan"], tmp_path / "wan"))
    gpu.GPU_ATTENTION = "flash"
    dream = services.create_dream(
        owner=user, character=make_character(user), prompt="Eileen floats", backend="wan-flf2v"
    )
    run_jobs(broker, worker)
    dream.refresh_from_db()
    assert dream.status == DreamStatus.FAILED and dream.stage == "loading the model"
    assert "The attention kernel flash (GPU_ATTENTION) cannot run here" in dream.error


def test_the_speed_ups_are_applied_once_and_listed(gpu, tiny_weights, tmp_path):
    from generation.gpu.backends import LtxBackend, WanBackend
    from generation.video import ClipRequest

    request = ClipRequest(
        prompt="a cat", seed=1, duration_seconds=5.0, first_frame=photo_path("astronaut.png")
    )
    gpu.WAN_WEIGHTS = str(shutil.copytree(tiny_weights["wan"], tmp_path / "wan"))
    gpu.GPU_FP8 = "auto"
    # The cache is off by default, until its effect on quality is measured on real weights.
    clip = WanBackend().render(request, workdir=tmp_path, progress=lambda stage, f: None)
    assert clip.metadata["speed_ups"] == ["attention native"]
    from generation.gpu.pipelines import forget_pipelines

    forget_pipelines()
    gpu.GPU_FIRST_BLOCK_CACHE = 0.05
    clip = WanBackend().render(request, workdir=tmp_path, progress=lambda stage, f: None)
    # On the CPU: PyTorch's own attention, the cache; FP8 and compile are for a GPU.
    assert clip.metadata["speed_ups"] == ["attention native", "first-block cache 0.05"]
    # The tiny LTX model has one block: nothing for the cache to skip.
    gpu.LTX_WEIGHTS = str(shutil.copytree(tiny_weights["ltx"], tmp_path / "ltx"))
    clip = LtxBackend().render(request, workdir=tmp_path, progress=lambda stage, f: None)
    assert clip.metadata["speed_ups"] == ["attention native"]
    # Turned off, the cache is not applied.
    gpu.GPU_FIRST_BLOCK_CACHE = 0
    gpu.WAN_WEIGHTS = str(shutil.copytree(tiny_weights["wan"], tmp_path / "wan-uncached"))
    clip = WanBackend().render(request, workdir=tmp_path, progress=lambda stage, f: None)
    assert clip.metadata["speed_ups"] == ["attention native"]
    assert probe_video(clip.video_path).frames == 81
    # The one encoding every backend and the assembly share (it was CRF 18 on any threads).
    assert (x264_options(clip.video_path)["crf"], x264_options(clip.video_path)["threads"]) == (
        "20.0",
        "2",
    )


@pytest.mark.seam  # the report crosses processes through the shared cache (Redis in production)
def test_a_gpu_workers_report_is_refreshed_while_it_runs_and_lapses_when_it_stops(gpu, broker):
    from generation.gpu.backends import WanBackend
    from generation.gpu.status import published_status
    from tests.support import start_worker, stop_worker

    gpu.GPU_STATUS_SECONDS = 1
    running = start_worker(broker)
    try:
        booted = published_status(WanBackend())
        assert booted is not None and booted.ready
        # The model status page's "checked" time moves on while the worker lives.
        wait_for(lambda: published_status(WanBackend()).checked_at > booted.checked_at, 5)
    finally:
        stop_worker(running)
    # Stopped (or killed), it no longer counts within three intervals.
    wait_for(lambda: published_status(WanBackend()) is None, 6)


def test_fp8_is_for_the_linear_layers_of_the_transformer_blocks():
    from diffusers import WanTransformer3DModel

    from generation.gpu.speed import fp8_layers

    # Wan's shape in miniature, with sides FP8 can multiply (multiples of 16).
    transformer = WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=16, in_channels=36,
        out_channels=16, text_dim=32, freq_dim=256, ffn_dim=64, num_layers=2,
        cross_attn_norm=True, qk_norm="rms_norm_across_heads", rope_max_seq_len=32,
        image_dim=16,
    )  # fmt: skip
    chosen = fp8_layers(transformer)
    for block in (0, 1):
        for layer in ("attn1.to_q", "attn1.to_out.0", "attn2.to_k", "ffn.net.0.proj"):
            assert f"blocks.{block}.{layer}" in chosen
    # The embeddings and the output projection stay in bf16.
    assert all(name.startswith("blocks.") for name in chosen)
    assert "proj_out" not in chosen


def test_auto_never_picks_a_kernel_the_model_cannot_take(settings, monkeypatch):
    """FlashAttention's diffusers kernels refuse an attention mask, which LTX-Video's
    cross-attention always passes: "auto" picked them on any machine with flash-attn, and every
    LTX clip broke there. FlashAttention-3 is for Hopper only; otherwise PyTorch's own."""
    import importlib.util

    import torch

    from generation.gpu.speed import attention_kernel

    capability = [(9, 0)]
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device: capability[0])
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: object())  # all installed
    settings.GPU_ATTENTION = "auto"
    assert attention_kernel("cuda", masked=False) == "_flash_3"
    assert attention_kernel("cuda", masked=True) == "native"
    capability[0] = (10, 0)  # Blackwell: FlashAttention-3 is not built for it
    assert attention_kernel("cuda", masked=False) == "flash"
    capability[0] = (7, 5)
    assert attention_kernel("cuda", masked=False) == "native"
    assert attention_kernel("cpu", masked=False) == "native"


def test_a_flash_kernel_named_for_ltx_is_refused_and_said(gpu, operator_client):
    gpu.GPU_ATTENTION = "flash"
    offered = {b.name for b in offered_backends()}
    assert "ltx-video" not in offered and "wan-flf2v" in offered
    page = operator_client.get(reverse("admin:jobs_model_status")).content.decode()
    assert "passes an attention mask, which GPU_ATTENTION=flash cannot take" in page


def test_each_model_is_called_with_its_own_negative_prompt_and_arguments(
    gpu, tiny_weights, tmp_path, monkeypatch
):
    """Wan was steered from an empty negative prompt, and LTX-Video decoded with diffusers'
    defaults for 0.9.0 at 25 fps while the clip is encoded at 24."""
    from generation.gpu.backends import LtxBackend, WanBackend
    from generation.gpu.pipelines import warm_pipeline
    from generation.video import ClipRequest

    request = ClipRequest(
        prompt="a cat", seed=1, duration_seconds=5.0, first_frame=photo_path("astronaut.png")
    )
    calls = {}
    for backend in (WanBackend(), LtxBackend()):
        pipeline, _ = warm_pipeline(backend)
        real = type(pipeline).__call__

        def recorded(self, *args, _real=real, _name=backend.name, **kwargs):
            calls[_name] = kwargs
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(type(pipeline), "__call__", recorded)
        backend.render(request, workdir=tmp_path, progress=lambda stage, f: None)
    assert calls["wan-flf2v"]["negative_prompt"].startswith("Bright tones, overexposed")
    assert "frame_rate" not in calls["wan-flf2v"]
    ltx = calls["ltx-video"]
    assert (
        ltx["negative_prompt"] == "worst quality, inconsistent motion, blurry, jittery, distorted"
    )
    assert (ltx["frame_rate"], ltx["decode_timestep"], ltx["decode_noise_scale"]) == (
        24,
        0.05,
        0.025,
    )
    assert ltx["image_cond_noise_scale"] == 0.025


def test_every_transformer_of_a_pipeline_gets_the_speed_ups(settings):
    """Wan 2.2 denoises with two experts, ``transformer`` then ``transformer_2``: only the
    first got the kernel and the cache."""
    from types import SimpleNamespace

    from diffusers import WanTransformer3DModel

    from generation.gpu.speed import speed_up

    def expert() -> WanTransformer3DModel:
        return WanTransformer3DModel(
            patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=16, in_channels=36,
            out_channels=16, text_dim=32, freq_dim=256, ffn_dim=64, num_layers=2,
            cross_attn_norm=True, qk_norm="rms_norm_across_heads", rope_max_seq_len=32,
        )  # fmt: skip

    settings.GPU_FIRST_BLOCK_CACHE, settings.GPU_FP8 = 0.05, "off"
    pipeline = SimpleNamespace(transformer=expert(), transformer_2=expert())
    applied = speed_up(pipeline, device="cpu")
    assert applied == ["attention native", "first-block cache 0.05"]
    assert pipeline.transformer.is_cache_enabled and pipeline.transformer_2.is_cache_enabled


def test_several_gpu_workers_each_publish_their_own_status(gpu, monkeypatch):
    """Two gpu workers wrote one key: the last to report won, so a worker without weights
    could hide one that had them. Each reports under its host; any ready one offers the model."""
    import socket

    from generation.gpu.backends import WanBackend
    from generation.gpu.status import gpu_status, publish_statuses, published_statuses

    monkeypatch.setattr(socket, "gethostname", lambda: "gpu-a")
    publish_statuses([WanBackend()])
    # A second worker, on a machine whose folder lacks the weights.
    monkeypatch.setattr(socket, "gethostname", lambda: "gpu-b")
    monkeypatch.setattr(WanBackend, "local_problem", lambda self: "No weights here.")
    publish_statuses([WanBackend()])
    statuses = published_statuses(WanBackend())
    assert [(s.host, s.ready) for s in statuses] == [("gpu-a", True), ("gpu-b", False)]
    assert gpu_status(WanBackend()).ready and gpu_status(WanBackend()).host == "gpu-a"


@pytest.mark.parametrize(
    "visible, device, problem",
    [
        ("0", "cuda:1", "CUDA_VISIBLE_DEVICES=0 leaves this worker 1 GPU(s)"),
        ("2,3", "cuda:2", "leaves this worker 2 GPU(s), numbered from cuda:0"),
        ("0", "cuda:x", "GPU_DEVICE must be cuda, cuda:N or cpu"),
    ],
)
def test_a_device_number_past_the_visible_gpus_is_named_at_boot(
    monkeypatch, visible, device, problem
):
    from generation.gpu.readiness import device_problem

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    assert problem in (device_problem(device) or "")


def test_ltx_takes_condition_pipeline_folders_and_counts_only_what_it_loads(
    gpu, tiny_weights, tmp_path
):
    """A full LTX-Video checkout holds single-file checkpoints beside the pipeline's folders:
    counted, they made the worker let every other model go to make room for weights it never
    loads. And only the condition pipeline (0.9.5 and later) opens and closes on frames."""
    import json

    from generation.gpu.backends import LtxBackend
    from generation.gpu.readiness import weights_bytes

    folder = shutil.copytree(tiny_weights["ltx"], tmp_path / "ltx")
    loaded = weights_bytes(folder)
    assert loaded > 0
    (folder / "ltxv-13b-0.9.8-dev.safetensors").write_bytes(b"\0" * 4_000_000)
    assert weights_bytes(folder) == loaded
    index = json.loads((folder / "model_index.json").read_text())
    (folder / "model_index.json").write_text(json.dumps({**index, "_class_name": "LTXPipeline"}))
    gpu.LTX_WEIGHTS = str(folder)
    assert "holds a LTXPipeline model, not LTX-Video" in (LtxBackend().local_problem() or "")


def test_quantized_weights_count_at_the_size_they_take():
    """torchao's FP8 (and int8) weights say bf16, the dtype they stand for: counted by it, the
    warm cache let other models go for memory the quantized weights never take. (FP8 runs on
    a GPU only; int8 weight-only is the same kind of wrapper tensor and runs on the CPU.)"""
    import torch
    from torchao.quantization import Int8WeightOnlyConfig, quantize_

    from generation.gpu.pipelines import tensor_bytes

    layer = torch.nn.Linear(256, 256, bias=False, dtype=torch.bfloat16)
    assert tensor_bytes(layer.weight) == 256 * 256 * 2
    quantize_(layer, Int8WeightOnlyConfig())
    # One byte a weight, plus a scale and zero point per row.
    assert 256 * 256 <= tensor_bytes(layer.weight) < 256 * 256 * 1.1


def test_a_second_process_on_the_card_shrinks_the_warm_budget(settings, monkeypatch):
    """Two worker processes on one GPU each counted on the whole card's share and loaded
    until the card ran out. The budget is the share less what other processes hold (the
    driver's free memory), so they share it. (No GPU here: the driver's answers are given.)"""
    import torch

    from generation.gpu.pipelines import warm_memory_budget

    gib = 1024**3
    settings.GPU_WARM_MEMORY_SHARE = 0.75
    monkeypatch.setattr(torch.cuda, "memory_reserved", lambda device: 10 * gib)
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device: (70 * gib, 80 * gib))
    assert warm_memory_budget("cuda:0") == 60 * gib  # nobody else: 3/4 of the card
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device: (40 * gib, 80 * gib))
    assert warm_memory_budget("cuda:0") == 30 * gib  # another process holds 30 GiB
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device: (0, 80 * gib))
    assert warm_memory_budget("cuda:0") == 0


def test_wan_keeps_its_vae_and_image_encoder_in_full_precision_on_a_gpu():
    import torch

    from generation.gpu.backends import LtxBackend, WanBackend
    from generation.gpu.pipelines import component_dtypes

    assert component_dtypes(WanBackend(), "cuda") == {
        "default": torch.bfloat16, "vae": torch.float32, "image_encoder": torch.float32,
    }  # fmt: skip
    assert component_dtypes(LtxBackend(), "cuda:1") == torch.bfloat16
    assert component_dtypes(WanBackend(), "cpu") == torch.float32
