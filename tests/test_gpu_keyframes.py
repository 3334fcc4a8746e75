"""The GPU keyframe model (FLUX.2 [klein]) on the CPU: a tiny random-weight pipeline built
offline, loaded through the code that loads real weights, draws a dream's opening frame from
the character's photos and the prompt on the ``gpu`` queue, step by step; where it cannot be
drawn, the dream is refused and nothing is saved."""

import json
import shutil

import pytest
from django.urls import reverse

from dreams import services
from dreams.models import Dream, DreamStatus
from tests.support import Events, photo_path, probe_video, run_jobs, stored_bytes

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
    from generation.gpu_models import WanBackend
    from generation.video import ClipRequest, RenderCanceled

    seen: list[str] = []

    def progress(stage: str, fraction: float) -> None:
        seen.append(stage)
        if stage == "drawing the opening frame: step 2 of 4":
            raise RenderCanceled()

    request = ClipRequest(
        prompt="a cat", seed=1, reference_images=[photo_path("astronaut.png")],
        first_frame=photo_path("astronaut.png"), draw_first_frame=True,
    )  # fmt: skip
    with pytest.raises(RenderCanceled):
        WanBackend().render(request, workdir=tmp_path, progress=progress)
    assert "drawing the opening frame: step 3 of 4" not in seen
    assert not any(s.startswith("denoising") for s in seen)
    assert not (tmp_path / "video.mp4").exists()


@pytest.mark.parametrize(
    "backend, keyframes, message",
    [
        ("animatic", True, "Only a local GPU backend can open on a drawn frame"),
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
