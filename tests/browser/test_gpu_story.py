"""A dream on the local GPU backend, as a new user sees it in Debian's chromium: the portal's
in-process worker serves the ``gpu`` queue with a tiny random-weight Wan pipeline on the CPU
(``tests/gpu_models.py``); the user asks for an opening frame drawn by the tiny FLUX.2
[klein] keyframe model, and the page shows each drawing and denoising step live, then plays
the clip. A new film asks for keyframes drawn on the GPU, and its storyboard says when they
will be drawn."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_dream_story import click_link, create_character, save_screenshot, sign_up
from tests.portal import Portal
from tests.support import wait_for_page

pytestmark = pytest.mark.browser

# Every stage the dream page's live status shows, in order.
RECORD_STAGES = """
window.__stages = [];
document.addEventListener("DOMContentLoaded", () => {
  const stage = document.querySelector("#dream [data-field=stage]");
  if (!stage) return;
  const record = () => window.__stages.push(stage.textContent);
  record();
  const options = { childList: true, characterData: true, subtree: true };
  new MutationObserver(record).observe(stage, options);
});
"""


OPERATOR_PASSWORD = "a long operator passphrase"


@pytest.fixture(scope="module")
def gpu_portal(tmp_path_factory, tiny_weights):
    server = Portal(
        tmp_path_factory.mktemp("gpu-portal"),
        {
            "CLIP_BACKENDS": "animatic,wan-flf2v",
            "WAN_WEIGHTS": str(tiny_weights["wan"]),
            "KEYFRAME_WEIGHTS": str(tiny_weights["flux2"]),
            "WAN_SIZE": "64x64",
            "GPU_DEVICE": "cpu",
            "GPU_STEPS": "40",
        },
    )
    server.create_operator("ops@example.com", OPERATOR_PASSWORD)
    server.start()
    yield server.url
    server.stop()


def test_a_dream_on_the_local_gpu_shows_its_denoising_steps(page: Page, gpu_portal, tmp_path):
    page.add_init_script(RECORD_STAGES)
    sign_up(page, gpu_portal, "gpu@example.com")
    create_character(page, gpu_portal)
    click_link(page, "Dream with Eileen")
    draw = page.get_by_label("Open on a frame drawn from the photos")
    page.get_by_role("radio", name="Animatic").check()
    expect(draw).to_be_hidden()  # only a local GPU backend can open on a drawn frame
    wan = page.get_by_role("radio", name="Wan first-last-frame (local GPU)")
    wan.check()
    expect(draw).to_be_visible()
    draw.check()
    expect(page.locator("label", has=wan)).to_contain_text("free")
    expect(page.locator("#cost-value")).to_have_text("$0.00")
    page.get_by_label("Prompt").fill("Eileen floats through the station")
    save_screenshot(page, tmp_path, "gpu-dream-form.png")
    page.get_by_role("button", name="Dream it").click()

    expect(page.get_by_role("heading", name="Eileen")).to_be_visible()
    wait_for_page(
        page,
        "window.__stages.some(s => s.startsWith('denoising step'))"
        " || !!document.querySelector('#dream video')",
        timeout=120_000,
    )
    if page.locator("#dream video").count() == 0:
        save_screenshot(page, tmp_path, "gpu-dream-denoising.png")
    video = page.locator("#dream video")
    expect(video).to_be_attached(timeout=120_000)
    stages = page.evaluate("window.__stages")
    steps = [s for s in stages if s.startswith("denoising step")]
    assert steps and all(s.endswith(" of 40") for s in steps), stages
    drawn = [s for s in stages if s.startswith("drawing the opening frame: step")]
    assert drawn and stages.index(drawn[-1]) < stages.index(steps[0]), stages
    expect(page.locator("#dream .badge")).to_have_text("Succeeded")
    wait_for_page(page, "document.querySelector('#dream video').readyState >= 2", timeout=30_000)
    # Five seconds at Wan's 16 fps: 81 frames.
    duration = page.evaluate("document.querySelector('#dream video').duration")
    assert duration == pytest.approx(81 / 16, abs=0.1)
    save_screenshot(page, tmp_path, "gpu-dream-done.png")

    # The operator sees that the worker keeps both models loaded for the next clip.
    operator = page.context.browser.new_page()
    operator.goto(gpu_portal + "/admin/login/")
    operator.get_by_label("Email").fill("ops@example.com")
    operator.get_by_label("Password").fill(OPERATOR_PASSWORD)
    operator.get_by_role("button", name="Log in").click()
    operator.get_by_role("link", name="Model status").click()
    rows = operator.locator("#gpu-status tbody tr")
    for model in ("Wan first-last-frame (local GPU)", "FLUX.2 [klein] keyframes (local GPU)"):
        expect(rows.filter(has_text=model)).to_contain_text("yes, ")
    save_screenshot(operator, tmp_path, "gpu-model-status.png")
    operator.close()


def test_a_new_film_can_ask_for_keyframes_drawn_on_the_gpu(page: Page, gpu_portal, tmp_path):
    # No transitions, so the screenshot shows the ticked box ticked.
    page.emulate_media(reduced_motion="reduce")
    sign_up(page, gpu_portal, "gpu-film@example.com")
    create_character(page, gpu_portal)
    page.get_by_role("link", name="Films").click()
    click_link(page, "New film")
    page.get_by_label("Idea").fill("Eileen and her cat find a map to a lost harbour.")
    page.locator(".character-picker input").first.check()
    page.get_by_role("radio", name="Wan first-last-frame (local GPU)").check()
    page.get_by_label("Draw the keyframes on the GPU from the cast's photos").check()
    save_screenshot(page, tmp_path, "gpu-film-draw-form.png")
    page.get_by_role("button", name="Write the storyboard").click()

    expect(page.locator("#drawn-keyframes-note")).to_contain_text(
        "The GPU draws each scene's keyframes from the cast's photos when the scene renders"
    )
    # Until then, each scene shows the photos framed.
    wait_for_page(
        page,
        "[...document.querySelectorAll('[data-field=keyframe-first]')]"
        ".every(i => !i.hidden && i.src)",
        timeout=60_000,
    )
    save_screenshot(page, tmp_path, "gpu-film-storyboard.png")
