"""The GPU keyframe model (FLUX.2 [klein]) on the CPU: a tiny random-weight pipeline built
offline, loaded through the code that loads real weights, draws a dream's opening frame from
the character's photos and the prompt, and a film's scenes' keyframes from the cast's photos,
on the ``gpu`` queue, step by step; where it cannot draw, the dream or film is refused and
nothing is saved."""

import io
import json
import shutil
from decimal import Decimal

import pytest
from django.urls import reverse

from dreams import services
from dreams.models import Dream, DreamStatus
from films import services as film_services
from films.errors import FilmError
from films.models import Film
from films.quote import quote_film
from tests.film_fixtures import make_cast, make_film, render_to_end
from tests.support import (
    Events,
    photo_path,
    probe_video,
    run_jobs,
    served_media,
    stored_bytes,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def drawing(settings, tiny_weights):
    """The GPU backends and the keyframe model on the tiny weights, on the CPU, 32×32."""
    settings.WAN_WEIGHTS, settings.LTX_WEIGHTS = str(tiny_weights["wan"]), str(tiny_weights["ltx"])
    settings.KEYFRAME_WEIGHTS = str(tiny_weights["flux2"])
    settings.WAN_SIZE = settings.LTX_SIZE = "32x32"
    settings.GPU_DEVICE = "cpu"
    settings.GPU_STEPS = 2
    settings.CLIP_BACKENDS = ["animatic", "wan-flf2v", "ltx-video"]
    return settings


def test_a_dream_opens_on_a_keyframe_drawn_from_the_photos(
    drawing, user, make_character, broker, worker
):
    character = make_character(user, photos=("astronaut.png", "chelsea.png"))
    events = Events(user)
    dream = services.create_dream(
        owner=user, character=character, prompt="Eileen floats through the station",
        backend="wan-flf2v", seed=5, draw_first_frame=True,
    )  # fmt: skip
    run_jobs(broker, worker)
    dream.refresh_from_db()
    assert dream.status == DreamStatus.SUCCEEDED, dream.error
    assert probe_video(stored_bytes(dream.video)).frames == 81
    stages = events.stages()
    # The distilled model's own four steps, then the clip.
    drawn = [s for s in stages if s.startswith("drawing the opening frame: step")]
    assert drawn == [f"drawing the opening frame: step {i} of 4" for i in (1, 2, 3, 4)]
    first_clip_stage = stages.index("denoising step 1 of 2")
    assert stages.index("drawing the opening frame: step 4 of 4") < first_clip_stage


def test_a_cancel_while_drawing_stops_before_the_clip(drawing, tmp_path):
    from generation.gpu.backends import WanBackend
    from generation.video import ClipRequest, KeyframeDrawing, RenderCanceled

    seen: list[str] = []

    def progress(stage: str, fraction: float) -> None:
        seen.append(stage)
        if stage == "drawing the opening frame: step 2 of 4":
            raise RenderCanceled()

    request = ClipRequest(
        prompt="a cat", seed=1, reference_images=[photo_path("astronaut.png")],
        first_frame=photo_path("astronaut.png"), drawing=KeyframeDrawing(opening="a cat"),
    )  # fmt: skip
    with pytest.raises(RenderCanceled):
        WanBackend().render(request, workdir=tmp_path, progress=progress)
    assert "drawing the opening frame: step 3 of 4" not in seen
    assert not any(s.startswith("denoising") for s in seen)
    assert not (tmp_path / "video.mp4").exists()


def _out_of_memory_while_drawing(times: int, seen: list[str]):
    import torch

    left = [times]

    def progress(stage: str, fraction: float) -> None:
        seen.append(stage)
        if stage == "drawing the opening frame: step 1 of 4" and left[0] > 0:
            left[0] -= 1
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 12.00 GiB")

    return progress


def test_both_models_stay_loaded_and_make_way_when_memory_runs_out(drawing, tmp_path):
    from generation.gpu.backends import LtxBackend, WanBackend
    from generation.gpu.keyframes import GpuKeyframeModel
    from generation.gpu.pipelines import forget_pipelines
    from generation.gpu.warm import is_warm
    from generation.video import ClipRequest, KeyframeDrawing, RenderError

    photo = photo_path("astronaut.png")
    request = ClipRequest(
        prompt="a cat", seed=1, duration_seconds=2.0, reference_images=[photo],
        first_frame=photo, drawing=KeyframeDrawing(opening="a cat"),
    )  # fmt: skip
    forget_pipelines()
    seen: list[str] = []
    for _ in range(2):
        WanBackend().render(request, workdir=tmp_path, progress=lambda s, f: seen.append(s))
    # The second drawn clip loads nothing: the keyframe model and Wan were both kept.
    # (Consecutive repeats are the heartbeat's.)
    stages = [s for i, s in enumerate(seen) if i == 0 or seen[i - 1] != s]
    assert stages.count("loading the keyframe model") == stages.count("loading the model") == 1

    # Out of memory while drawing: the other models make way, and the frame is drawn.
    LtxBackend().render(request, workdir=tmp_path, progress=lambda s, f: None)
    seen.clear()
    clip = WanBackend().render(
        request, workdir=tmp_path, progress=_out_of_memory_while_drawing(1, seen)
    )
    assert "first" in clip.drawn_keyframes and "denoising step 2 of 2" in seen
    assert is_warm(WanBackend()) and not is_warm(LtxBackend())

    # With nothing left to let go, it fails at the drawing, saying so.
    forget_pipelines()
    with pytest.raises(RenderError) as failed:
        WanBackend().render(request, workdir=tmp_path, progress=_out_of_memory_while_drawing(1, []))
    assert failed.value.stage == "drawing the opening frame"
    assert failed.value.message == (
        "The GPU ran out of memory drawing a 32x32 keyframe. Open on the photos instead of "
        "drawn frames."
    )
    assert is_warm(GpuKeyframeModel())


@pytest.mark.parametrize(
    "backend, keyframes, message",
    [
        ("animatic", True, "Only a local GPU backend draws keyframes"),
        ("wan-flf2v", False, "No keyframe model is configured (KEYFRAME_WEIGHTS)"),
    ],
)
def test_drawing_is_refused_where_it_cannot_be_done(
    drawing, user, make_character, backend, keyframes, message
):
    if not keyframes:
        drawing.KEYFRAME_WEIGHTS = ""
    with pytest.raises(services.DreamError) as refused:
        services.create_dream(
            owner=user, character=make_character(user), prompt="walking", backend=backend,
            draw_first_frame=True,
        )  # fmt: skip
    assert message in refused.value.message
    assert not Dream.objects.exists()


def test_the_form_offers_drawing_only_with_a_gpu_backend_and_a_ready_model(
    drawing, tiny_weights, client, user, make_character
):
    make_character(user)
    client.force_login(user)

    def offers() -> dict:
        page = client.get(reverse("dreams:create")).content.decode()
        start = page.index('id="backend-offers"')
        payload = page[page.index(">", start) + 1 : page.index("</script>", start)]
        return {name: offer["draws_first_frame"] for name, offer in json.loads(payload).items()}

    assert offers() == {"animatic": False, "wan-flf2v": True, "ltx-video": True}
    # Another model's weights in the keyframe folder: not offered, and the operator is told.
    drawing.KEYFRAME_WEIGHTS = str(tiny_weights["wan"])
    assert offers() == {"animatic": False, "wan-flf2v": False, "ltx-video": False}


def test_the_model_status_page_names_the_keyframe_model(
    drawing, tiny_weights, tmp_path, operator_client
):
    page = operator_client.get(reverse("admin:jobs_model_status")).content.decode()
    assert "FLUX.2 [klein] keyframes (local GPU)" in page
    folder = shutil.copytree(tiny_weights["wan"], tmp_path / "not-flux")
    drawing.KEYFRAME_WEIGHTS = str(folder)
    page = operator_client.get(reverse("admin:jobs_model_status")).content.decode()
    assert f"The weights folder {folder} holds a WanImageToVideoPipeline model" in page
    assert "not FLUX.2 [klein]" in page


def test_a_keyframe_model_gone_since_the_dream_was_made_fails_it_saying_so(
    drawing, tmp_path, user, make_character, broker, worker
):
    worker.pause()
    dream = services.create_dream(
        owner=user, character=make_character(user), prompt="walking", backend="wan-flf2v",
        draw_first_frame=True,
    )  # fmt: skip
    drawing.KEYFRAME_WEIGHTS = str(tmp_path / "moved")
    worker.resume()
    run_jobs(broker, worker)
    dream.refresh_from_db()
    assert dream.status == DreamStatus.FAILED
    assert dream.stage == "drawing the opening frame"
    assert f"The weights folder {tmp_path / 'moved'} does not exist." in dream.error


def test_a_films_scenes_open_and_close_on_keyframes_drawn_from_the_cast(
    drawing, user, make_character, broker, worker, client
):
    from django.core.files.storage import default_storage
    from PIL import Image

    film = make_film(
        user, make_cast(make_character, user), backend="wan-flf2v", draw_keyframes=True
    )
    run_jobs(broker, worker)
    # Two scenes are enough to show a chained one.
    film_services.delete_scene(scene=film.scenes.order_by("position").last())
    for scene in film.scenes.all():
        # Short narrations, so each scene fits one five-second clip.
        film_services.update_scene(
            scene=scene, heading=scene.heading, shot=scene.shot, narration="A map.",
            first_frame_text=scene.first_frame_text, last_frame_text=scene.last_frame_text,
            framing=scene.framing, transition=scene.transition,
        )  # fmt: skip
    run_jobs(broker, worker)
    first, second = film.scenes.order_by("position")
    framed = {first.first_keyframe.name, first.last_keyframe.name, second.last_keyframe.name}
    # Until it renders, the storyboard shows the photos framed at the film's size, and says so.
    assert Image.open(io.BytesIO(stored_bytes(first.first_keyframe))).size == (1280, 720)
    client.force_login(user)
    page = client.get(reverse("films:detail", args=[film.public_id])).content.decode()
    assert "The GPU draws each scene's keyframes from the cast's photos" in page
    shown = first.progress_event()["first_keyframe_url"]
    events = Events(user)
    render_to_end(film, broker, worker)
    first.refresh_from_db()
    second.refresh_from_db()
    # The first scene draws both its frames; the second opens where the first ended (the
    # film chains scenes) and draws only its close.
    events.stages()
    for scene, drawn in ((first, ("opening", "closing")), (second, ("closing",))):
        stages = events.stages_of(kind="scene", number=scene.number)
        steps = [s for s in stages if s.startswith("drawing the")]
        assert steps == [
            f"drawing the {which} frame{step}"
            for which in drawn
            for step in ("", ": step 1 of 4", ": step 2 of 4", ": step 3 of 4", ": step 4 of 4")
        ]
        assert stages.index(steps[-1]) < stages.index("denoising step 1 of 2")
    # The drawn keyframes replace the framed photos on the storyboard, at the clip's size.
    for keyframe in (first.first_keyframe, first.last_keyframe, second.last_keyframe):
        with Image.open(io.BytesIO(stored_bytes(keyframe))) as image:
            assert (image.format, image.size) == ("PNG", (32, 32))
    assert second.first_keyframe.name.endswith(".jpg")
    # A new file, a new address: the storyboard shows the drawing, not the cached photo.
    assert first.progress_event()["first_keyframe_url"] != shown
    served = served_media(client.get(first.progress_event()["first_keyframe_url"]))
    assert served == ("image/png", stored_bytes(first.first_keyframe))
    assert not any(default_storage.exists(name) for name in framed)
    assert probe_video(stored_bytes(film.video)).codec == "h264"


def test_the_drawings_gpu_time_is_in_quotes_and_reservations(
    drawing, user, make_character, broker, worker, client
):
    from films.models import Film
    from jobs.models import Charge

    # A clip: 2 steps of 1 s; a drawing: FLUX.2 [klein]'s 4 steps of 0.25 s; $0.50 a second.
    drawing.GPU_USD_PER_SECOND, drawing.WAN_SECONDS_PER_STEP = "0.50", 1.0
    drawing.KEYFRAME_SECONDS_PER_STEP = 0.25
    cast = make_cast(make_character, user)
    client.force_login(user)
    page = client.get(reverse("dreams:create")).content.decode()
    assert '"estimates": {"5": "1.00"}, "drawn_estimates": {"5": "1.50"}' in page
    dream = services.create_dream(
        owner=user, character=cast[0], prompt="Eileen floats", backend="wan-flf2v",
        draw_first_frame=True,
    )  # fmt: skip
    assert dream.estimated_cost_usd == Decimal("1.50")
    assert Charge.objects.get().quantity == 3.0

    # A chained film's first scene draws two frames, the others one each.
    film = make_film(user, cast, backend="wan-flf2v", draw_keyframes=True)
    run_jobs(broker, worker)
    drawn = quote_film(film=film).scene_costs
    Film.objects.filter(pk=film.pk).update(draw_keyframes=False)
    film.refresh_from_db()
    photos = quote_film(film=film).scene_costs
    assert [d - p for d, p in zip(drawn, photos, strict=True)] == [
        Decimal("1.00"), Decimal("0.50"), Decimal("0.50"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    "backend, keyframes, message",
    [
        ("animatic", True, "Only a local GPU backend draws keyframes"),
        ("ltx-video", False, "No keyframe model is configured (KEYFRAME_WEIGHTS)"),
    ],
)
def test_a_film_that_cannot_draw_its_keyframes_is_refused(
    drawing, user, make_character, client, backend, keyframes, message
):
    if not keyframes:
        drawing.KEYFRAME_WEIGHTS = ""
    cast = make_cast(make_character, user)
    with pytest.raises(FilmError) as refused:
        make_film(user, cast, backend=backend, draw_keyframes=True)
    assert message in refused.value.message
    assert not Film.objects.exists()


def test_the_film_form_offers_drawn_keyframes_only_where_they_can_be_drawn(
    drawing, tiny_weights, client, user, make_character
):
    make_cast(make_character, user)
    client.force_login(user)
    page = client.get(reverse("films:create")).content.decode()
    assert "Draw the keyframes on the GPU from the cast&#x27;s photos" in page
    # Posted with the animatic, the form says why, where the user acted, and saves nothing.
    characters = user.characters.order_by("name")
    answer = client.post(
        reverse("films:create"),
        {
            "idea": "A pilot and her cat find a map.", "genre": "adventure", "style": "natural",
            "cast": [str(c.public_id) for c in characters], "target_seconds": 30,
            "voice": "espeak-en-us", "backend": "animatic", "draw_keyframes": "on",
        },
    )  # fmt: skip
    assert answer.status_code == 400
    assert "Only a local GPU backend draws keyframes" in answer.content.decode()
    assert not Film.objects.exists()
    # Another model's weights in the keyframe folder: the choice is gone.
    drawing.KEYFRAME_WEIGHTS = str(tiny_weights["wan"])
    page = client.get(reverse("films:create")).content.decode()
    assert "Draw the keyframes on the GPU" not in page
