"""The whole story as a new user lives it, in Debian's chromium against the real server:
sign up, create a character from two real photos, ask for a dream, watch the progress bar move
without reloading, and play the finished video; then see the history update live."""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.support import PASSWORD, photo_path, wait_for_page

pytestmark = pytest.mark.browser

#: Where the browser tests leave screenshots for people to look at (ignored by git).
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
SCREENSHOTS.mkdir(parents=True, exist_ok=True)

# Records every value the dream page's progress bar takes, and marks the document so a
# reload would show (a fresh document has a new token).
RECORD_PROGRESS = """
window.__pageToken = Math.random();
window.__progressSeen = [];
document.addEventListener("DOMContentLoaded", () => {
  const bar = document.querySelector("#dream progress");
  if (!bar) return;
  const record = () => window.__progressSeen.push(Number(bar.getAttribute("value")));
  record();
  new MutationObserver(record).observe(bar, { attributes: true });
});
"""


def click_link(page: Page, text: str) -> None:
    # Pico styles some links as buttons (role="button"), so find anchors by their text.
    page.locator("a", has_text=text).first.click()


def save_screenshot(page: Page, tmp_path, name: str) -> None:
    path = tmp_path / name
    page.screenshot(path=str(path))
    # DREAMSITE_SCREENSHOTS=docs/screenshots keeps them, e.g. for the README.
    keep = os.environ.get("DREAMSITE_SCREENSHOTS")
    if keep:
        os.makedirs(keep, exist_ok=True)
        shutil.copy(path, os.path.join(keep, name))


def screenshot_mid_render(page: Page, tmp_path, name: str, *, at_least: int = 1) -> None:
    """Wait until the progress bar passed ``at_least`` percent (or the player came) and keep a
    screenshot of the bar if the render was still going."""
    wait_for_page(
        page,
        f"window.__progressSeen.some(v => v >= {at_least} && v < 100)"
        " || !!document.querySelector('#dream video')",
        timeout=90_000,
    )
    if page.locator("#dream video").count() == 0:
        save_screenshot(page, tmp_path, name)


# Records each websocket the page opens, and the code it closed with.
RECORD_SOCKETS = """
window.__sockets = [];
const NativeWebSocket = window.WebSocket;
window.WebSocket = function (...args) {
  const socket = new NativeWebSocket(...args);
  const record = { opened: false, closedWith: null };
  window.__sockets.push(record);
  socket.addEventListener("open", () => { record.opened = true; });
  socket.addEventListener("close", (event) => { record.closedWith = event.code; });
  return socket;
};
"""


def sign_up(page: Page, portal: str, email: str) -> None:
    page.goto(f"{portal}/")
    click_link(page, "Sign up")
    page.get_by_label("Email").fill(email)
    page.locator("input[name=password1]").fill(PASSWORD)
    page.locator("input[name=password2]").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Sign Up", exact=True).click()
    expect(page.get_by_role("heading", name="History")).to_be_visible()
    # The heading can be found before the stylesheets have loaded (a person never sees that
    # page: they block its painting); what a test measures must wait for them.
    page.wait_for_load_state("load")


def create_character(page: Page, portal: str) -> None:
    page.get_by_role("link", name="Characters").click()
    click_link(page, "New character")
    page.get_by_label("Name").fill("Eileen")
    page.get_by_label("Description").fill("Astronaut, and her cat.")
    page.locator("input[name=images]").set_input_files(
        [photo_path("astronaut.png"), photo_path("chelsea.png")]
    )
    page.get_by_role("button", name="Create character").click()
    expect(page.get_by_text("“Eileen” is ready to dream.")).to_be_visible()
    expect(page.locator(".reference-images img")).to_have_count(2)


def start_dream(page: Page, portal: str, email: str, prompt: str) -> None:
    """A new user's shortest path to a dream being rendered: ends on its page."""
    sign_up(page, portal, email)
    create_character(page, portal)
    click_link(page, "Dream with Eileen")
    page.get_by_label("Prompt").fill(prompt)
    page.get_by_role("button", name="Dream it").click()


def test_sign_up_create_character_dream_and_watch_it_render(page: Page, portal: str, tmp_path):
    page.add_init_script(RECORD_PROGRESS)
    sign_up(page, portal, "newcomer@example.com")
    create_character(page, portal)

    click_link(page, "Dream with Eileen")
    expect(page.get_by_role("radio", name="Eileen")).to_be_checked()
    prompt = "Eileen drifts through the space station, waving at the cat"
    page.get_by_label("Prompt").fill(prompt)
    expect(page.locator("#prompt-count")).to_have_text(str(len(prompt)))
    page.get_by_role("button", name="Dream it").click()

    expect(page.get_by_role("heading", name="Eileen")).to_be_visible()
    token = page.evaluate("window.__pageToken")
    # Catch the bar mid-render for the screenshot, then wait for the player.
    screenshot_mid_render(page, tmp_path, "dream-rendering.png", at_least=20)
    video = page.locator("#dream video")
    expect(video).to_be_attached(timeout=90_000)

    seen = page.evaluate("window.__progressSeen")
    assert any(0 < value < 100 for value in seen), seen
    assert page.evaluate("window.__pageToken") == token, "the page reloaded"
    expect(page.locator("#dream .badge")).to_have_text("Succeeded")

    wait_for_page(page, "document.querySelector('#dream video').readyState >= 2", timeout=30_000)
    duration = page.evaluate("document.querySelector('#dream video').duration")
    assert duration == pytest.approx(6.0, abs=0.1)
    page.evaluate("(() => { const v = document.querySelector('#dream video'); v.muted = true; })()")
    page.evaluate("document.querySelector('#dream video').play()")
    wait_for_page(page, "document.querySelector('#dream video').currentTime > 0.5", timeout=15_000)
    save_screenshot(page, tmp_path, "dream-finished.png")

    # The history lists it with its poster, and replays it.
    page.get_by_role("link", name="History").click()
    card = page.locator(".dream-card").first
    expect(card.locator(".badge")).to_have_text("Succeeded")
    wait_for_page(
        page, "document.querySelector('.dream-card img').naturalWidth === 1280", timeout=15_000
    )
    save_screenshot(page, tmp_path, "history.png")


def test_history_badges_update_live(page: Page, portal: str):
    start_dream(page, portal, "watcher@example.com", "Eileen waits for the launch")
    # Straight to the history while it renders: its badge must change without a reload.
    page.get_by_role("link", name="History").click()
    page.evaluate("window.__historyToken = 'same page'")
    badge = page.locator(".dream-card .badge").first
    expect(badge).to_have_text("Succeeded", timeout=90_000)
    assert page.evaluate("window.__historyToken") == "same page"
    expect(page.locator(".dream-card img").first).to_be_visible()


def test_cancel_from_the_page(page: Page, portal: str):
    start_dream(page, portal, "canceller@example.com", "Eileen changes her mind")
    started = time.monotonic()
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator("#dream .badge")).to_have_text("Cancelled")
    expect(page.get_by_role("button", name="Retry")).to_be_visible()
    assert page.locator("#dream video").count() == 0
    assert time.monotonic() - started < 30


def test_page_reconnects_and_catches_up_after_the_server_restarts(page: Page, portal_server):
    page.add_init_script(RECORD_PROGRESS)
    start_dream(page, portal_server.url, "restarter@example.com", "Eileen survives a power cut")
    wait_for_page(page, "window.__progressSeen.some(v => v > 0 && v < 100)", timeout=60_000)
    token = page.evaluate("window.__pageToken")

    # The server dies mid-render: the page says it lost its connection and dims the figures
    # instead of showing a frozen "Running 51 %" as if live.
    portal_server.stop()
    notice = page.get_by_role("status").filter(has_text="Connection to the server lost")
    expect(notice).to_be_visible(timeout=10_000)
    expect(page.locator("#dream")).to_have_class(re.compile(r"\bstale\b"))
    page.screenshot(path=str(SCREENSHOTS / "connection-lost.png"))
    # The new process resumes the dream from the database; the page reconnects by itself.
    portal_server.start()

    try:
        expect(page.locator("#dream .badge")).to_have_text("Succeeded", timeout=90_000)
    except AssertionError as error:
        # Say why it did not succeed: the dream's own error and what the server logged.
        shown = page.locator("#dream .error").text_content()
        log = portal_server.log_path.read_text()[-4000:]
        raise AssertionError(f"{error}\nThe dream's error: {shown}\nServer log:\n{log}") from None
    expect(page.locator("#dream video")).to_be_attached()
    expect(notice).to_be_hidden()
    assert page.evaluate("window.__pageToken") == token, "the page reloaded"


def test_failure_shows_the_stage_and_reason_then_retry_is_offered(page: Page, portal_server):
    sign_up(page, portal_server.url, "unlucky@example.com")
    create_character(page, portal_server.url)
    # The photos vanish from storage behind the portal's back (a disk mishap).
    for photo in (portal_server.home / "media" / "characters").rglob("*.jpg"):
        if not photo.name.endswith("-thumb.jpg"):
            photo.unlink()
    page.add_init_script(RECORD_PROGRESS)
    click_link(page, "Dream with Eileen")
    page.get_by_label("Prompt").fill("Eileen tries anyway")
    page.get_by_role("button", name="Dream it").click()
    token = page.evaluate("window.__pageToken")

    expect(page.locator("#dream .badge")).to_have_text("Failed", timeout=60_000)
    expect(page.locator("#dream .error")).to_have_text(
        "Failed while preparing: A reference image file is missing."
    )
    expect(page.get_by_role("button", name="Retry")).to_be_visible()
    expect(page.get_by_role("button", name="Cancel")).to_be_hidden()
    assert page.evaluate("window.__pageToken") == token, "the page reloaded"


def test_a_tab_left_open_after_signing_out_stops_receiving(page: Page, portal: str):
    """On a shared computer: signing out in one tab must end the live feed of the user's jobs
    in the others, and they must not keep trying to reconnect."""
    start_dream(page, portal, "leaver@example.com", "Eileen says goodbye")
    other_tab = page.context.new_page()
    other_tab.add_init_script(RECORD_SOCKETS)
    other_tab.goto(f"{portal}/history/")
    wait_for_page(other_tab, "window.__sockets.length === 1 && window.__sockets[0].opened")

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()

    wait_for_page(other_tab, "window.__sockets[0].closedWith === 4401", timeout=10_000)
    other_tab.wait_for_timeout(2_000)  # a page that reconnects tries again after 0.5 s
    assert other_tab.evaluate("window.__sockets.length") == 1


def test_a_phone_sees_the_whole_navigation_without_scrolling_sideways(page: Page, portal: str):
    """At 390 px (a phone) the email and "Log out" used to be off-screen with a sideways
    scroll; the navigation now wraps."""
    page.set_viewport_size({"width": 390, "height": 844})
    # Our stylesheet arriving late, as on a loaded machine: measured before it applied, the
    # page overflowed by 511 px (pico's navigation does not wrap).
    page.route("**/dreamsite.css", lambda route: (time.sleep(0.5), route.continue_()))
    sign_up(page, portal, "a.rather.long.address.for.a.phone@example.com")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    for name in ("Log out",):
        box = page.get_by_role("button", name=name).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    email = page.get_by_role("link", name="a.rather.long.address.for.a.phone@example.com")
    box = email.bounding_box()
    assert box and box["x"] + box["width"] <= 390, box
    page.screenshot(path=str(SCREENSHOTS / "history-390px.png"), full_page=True)


def test_the_prompt_box_takes_no_more_than_its_counter_allows(page: Page, portal: str):
    """The box accepted 5,000 characters while its counter said 512 (the animatic's limit)."""
    sign_up(page, portal, "wordy@example.com")
    create_character(page, portal)
    click_link(page, "Dream with Eileen")
    prompt = page.get_by_label("Prompt")
    expect(page.locator("#prompt-limit")).to_have_text("512")
    prompt.fill("a" * 600)
    assert len(prompt.input_value()) == 512
    assert page.locator("#prompt-count").inner_text() == "512"
