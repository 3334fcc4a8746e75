"""A film as a new user makes one, in Debian's chromium against the real server: sign up, two
characters from real photos, a new film of four scenes; on the storyboard change a narration,
swap two scenes, delete one and add one; render and watch the scenes change without a reload;
play the film and read a subtitle cue from its track; download the MP4 and the SRT; then
render one scene again and see that only it (and the film) changed."""

from __future__ import annotations

import hashlib
import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_dream_story import click_link, save_screenshot, sign_up
from tests.support import photo_path, wait_for_page

pytestmark = pytest.mark.browser

KEYFRAMES_SHOWN = (
    "[...document.querySelectorAll('[data-field=keyframe-first]')].every(i => !i.hidden && i.src)"
)


def create_character(page: Page, name: str, photos: tuple[str, str]) -> None:
    page.get_by_role("link", name="Characters").click()
    click_link(page, "New character")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Description").fill(f"{name}, from the fixture photos.")
    page.locator("input[name=images]").set_input_files([photo_path(p) for p in photos])
    page.get_by_role("button", name="Create character").click()
    expect(page.get_by_text(f"“{name}” is ready to dream.")).to_be_visible()


def headings(page: Page) -> list[str]:
    return page.locator(".scene-card .scene-heading").all_inner_texts()


def clip_digests(page: Page) -> dict[str, str]:
    """Each scene's clip, by scene id, as the browser downloads it."""
    digests = {}
    for card in page.locator(".scene-card").all():
        scene_id = card.get_attribute("data-job-id")
        film_url = page.url.split("#")[0].split("?")[0].rstrip("/")
        url = f"{film_url}/scenes/{scene_id}/clip"
        digests[scene_id] = hashlib.sha256(page.request.get(url).body()).hexdigest()
    return digests


def test_a_new_user_storyboards_renders_plays_and_fixes_a_film(page: Page, portal: str, tmp_path):
    page.add_init_script("window.__pageToken = Math.random();")
    sign_up(page, portal, "director@example.com")
    create_character(page, "Eileen", ("astronaut.png", "rocket.jpg"))
    create_character(page, "Chelsea", ("chelsea.png", "coffee.png"))

    page.get_by_role("link", name="New film").click()
    page.locator("textarea[name=idea]").fill(
        "A test pilot and her cat follow a map to a lost harbour."
    )
    page.locator("select[name=genre]").select_option("adventure")
    page.locator("label.style-option", has_text="Comic").click()
    page.get_by_role("checkbox", name="Eileen").check()
    page.get_by_role("checkbox", name="Chelsea").check()
    page.locator("input[name=target_seconds]").fill("40")
    page.locator("input[name=scene_count]").fill("4")
    # Every style shows its sample image (loaded, not a broken link).
    wait_for_page(
        page,
        "[...document.querySelectorAll('img.style-sample')]"
        ".every(i => i.complete && i.naturalWidth == 400)",
    )
    page.locator(".style-picker").scroll_into_view_if_needed()
    save_screenshot(page, tmp_path, "film-form.png")
    page.get_by_role("button", name="Write the storyboard").click()

    expect(page.get_by_role("heading", name="Storyboard")).to_be_visible()
    expect(page.locator(".scene-card")).to_have_count(4)
    # Keyframes arrive over the websocket as the worker draws them, and each card says so
    # (it said "being drawn" until a reload).
    wait_for_page(
        page,
        KEYFRAMES_SHOWN,
        timeout=60_000,
    )
    for state in page.locator(".scene-card [data-field=keyframes-state]").all():
        expect(state).to_have_text("ready")

    page.locator("summary", has_text="Edit scene 1").click()
    page.locator(".scene-card").first.get_by_label("Narration").fill(
        "Eileen read the map twice, and the cat agreed."
    )
    page.get_by_role("button", name="Save scene").first.click()
    expect(page.get_by_text("Scene 1 saved.")).to_be_visible()
    expect(page.locator(".scene-narration").first).to_contain_text("the cat agreed")

    before = headings(page)
    moved = page.locator(".scene-card").nth(1).get_attribute("data-job-id")
    page.get_by_role("button", name="Move scene 2 later").click()
    after = headings(page)
    assert after[1:3] == [before[2], before[1]]
    # The page comes back at the scene that moved, not at its top.
    expect(page.locator(f"#scene-{moved}")).to_be_in_viewport()
    assert page.evaluate("window.scrollY") > 0

    # Deleting a scene asks once more.
    page.locator(".scene-card").nth(3).locator("summary", has_text="Delete").click()
    page.get_by_role("button", name="Delete scene 4").click()
    expect(page.get_by_text("Scene 4 deleted.")).to_be_visible()
    expect(page.locator(".scene-card")).to_have_count(3)
    # A scene can go after any scene, not only at the end.
    page.get_by_role("button", name="Add a scene after scene 1").click()
    expect(page.get_by_text("Scene added after scene 1.")).to_be_visible()
    expect(page.locator(".scene-card")).to_have_count(4)
    expect(page.locator(".scene-card .scene-heading").nth(1)).to_have_text("NEW SCENE")
    wait_for_page(
        page,
        KEYFRAMES_SHOWN,
        timeout=60_000,
    )
    expect(page.locator("#quote")).to_contain_text("4 scenes")
    expect(page.locator("#film [data-field=status]")).to_have_text("Storyboard")
    # Continuous cuts (the default): each later scene says what its clip opens on.
    expect(page.locator(".scene-card").nth(1).locator(".chained-note")).to_contain_text(
        "opens where scene 1's clip ends"
    )
    expect(page.locator(".scene-card").first.locator(".chained-note")).to_have_count(0)
    page.locator("#storyboard").scroll_into_view_if_needed()
    page.evaluate("document.querySelector('#storyboard').scrollIntoView()")
    save_screenshot(page, tmp_path, "film-storyboard.png")

    token = page.evaluate("window.__pageToken")
    page.get_by_role("button", name="Render film").click()
    # Every percent the film's bar shows, in order: it must never go back.
    page.evaluate(
        "(() => { window.__filmPercents = []; const el = document.querySelector("
        "'#film [data-field=percent]'); new MutationObserver(() => window.__filmPercents"
        ".push(Number(el.textContent))).observe(el, {childList: true, characterData: true,"
        " subtree: true}); })()"
    )
    # The scene badges change live: the first scene's clip renders, then the next.
    expect(page.locator(".scene-card [data-field=status]").first).to_have_text(
        re.compile("Queued|Running|Succeeded"), timeout=60_000
    )
    # While it renders, the storyboard's edits are put away.
    expect(page.locator("summary", has_text="Edit scene 1")).to_be_hidden()
    token = page.evaluate("window.__pageToken")
    expect(page.locator("#film video")).to_be_visible(timeout=180_000)
    # Once it is done they come back, without a reload (they needed one).
    expect(page.locator("summary", has_text="Edit scene 1")).to_be_visible()
    assert page.evaluate("window.__pageToken") == token, "the page reloaded"
    expect(page.locator(".scene-card [data-field=status]", has_text="Succeeded")).to_have_count(4)
    percents = page.evaluate("window.__filmPercents")
    assert percents == sorted(percents), percents

    # The subtitle track loads and has cues; seek to the first and look at it.
    wait_for_page(
        page,
        "(() => { const t = document.querySelector('#film video').textTracks[0];"
        " t.mode = 'showing'; return t.cues && t.cues.length > 0; })()",
        timeout=30_000,
    )
    cue = page.evaluate(
        "(() => { const c = document.querySelector('#film video').textTracks[0].cues[0];"
        " return {text: c.text, start: c.startTime}; })()"
    )
    assert cue["text"] and cue["start"] < 5
    page.evaluate(
        "(at) => { document.querySelector('#film video').currentTime = at; }", cue["start"] + 0.5
    )
    wait_for_page(
        page,
        "document.querySelector('#film video').textTracks[0].activeCues.length > 0",
        timeout=15_000,
    )
    page.locator("#film video").scroll_into_view_if_needed()
    save_screenshot(page, tmp_path, "film-playing.png")

    with page.expect_download() as download:
        page.locator("#download-mp4").click()
    mp4 = tmp_path / "film.mp4"
    download.value.save_as(mp4)
    # Named after the film, not its id.
    assert download.value.suggested_filename == (
        "a-test-pilot-and-her-cat-follow-a-map-to-a-lost-harbour.mp4"
    )
    assert mp4.read_bytes()[4:8] == b"ftyp"
    with page.expect_download() as download:
        page.locator("#download-srt").click()
    srt = tmp_path / "film.srt"
    download.value.save_as(srt)
    assert cue["text"].split()[0] in srt.read_text()

    clips = clip_digests(page)
    last_id = page.locator(".scene-card").last.get_attribute("data-job-id")
    old_cut = page.locator("#film video").get_attribute("src")
    # Nothing changed since the render: no "Render changes" is offered.
    expect(page.get_by_role("button", name="Render changes")).to_have_count(0)
    page.get_by_role("button", name="Render scene 4 again").click()
    expect(page.get_by_text("Scene 4 is being rendered again.")).to_be_visible()
    # The current cut stays playable while the new one renders.
    expect(page.locator("#film video")).to_have_attribute("src", old_cut)
    # The new cut takes the old one's place in the player, without a reload.
    expect(page.locator("#film video")).not_to_have_attribute("src", old_cut, timeout=120_000)
    expect(page.locator("#film video")).to_be_visible()
    page.reload()
    expect(page.locator("#film [data-field=status]")).to_have_text("Succeeded", timeout=60_000)
    # One chapter per scene under the player; a chapter plays the film from its scene.
    chapters = page.get_by_role("navigation", name="Chapters").get_by_role("link")
    expect(chapters).to_have_count(4)
    start = float(chapters.nth(2).get_attribute("data-seek"))
    assert start > 5
    chapters.nth(2).click()
    wait_for_page(
        page,
        f"Math.abs(document.querySelector('#film video').currentTime - {start}) < 1.5",
        timeout=15_000,
    )
    changed = clip_digests(page)
    assert changed[last_id] != clips[last_id]
    assert {k: v for k, v in changed.items() if k != last_id} == {
        k: v for k, v in clips.items() if k != last_id
    }
