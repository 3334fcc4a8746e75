"""Choosing photos for a character in the real portal: a bad file among good ones is taken
out on the spot, with the reason, and the good ones stay chosen."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_dream_story import SCREENSHOTS, click_link, sign_up
from tests.support import photo_path

pytestmark = pytest.mark.browser


def photo(name: str, mime_type: str) -> dict:
    """A real fixture photo as a file payload (Playwright takes paths or payloads, not both)."""
    return {"name": name, "mimeType": mime_type, "buffer": photo_path(name).read_bytes()}


def test_a_bad_file_is_left_out_and_the_good_photos_stay_chosen(page: Page, portal: str):
    sign_up(page, portal, "picker@example.com")
    page.get_by_role("link", name="Characters").click()
    click_link(page, "New character")
    page.get_by_label("Name").fill("Eileen")
    picker = page.locator("input[type=file]")
    picker.set_input_files(
        [
            photo("astronaut.png", "image/png"),
            {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not a photo"},
            {"name": "broken.png", "mimeType": "image/png", "buffer": b"\x89PNG broken"},
            photo("rocket.jpg", "image/jpeg"),
        ]
    )
    problems = page.locator(".upload-problems")
    expect(problems).to_contain_text("“notes.txt” is not a JPEG, PNG or WebP photo")
    expect(problems).to_contain_text("“broken.png” cannot be read as an image")
    assert picker.evaluate("input => Array.from(input.files).map(f => f.name)") == [
        "astronaut.png",
        "rocket.jpg",
    ]
    page.screenshot(path=str(SCREENSHOTS / "upload-left-out.png"), full_page=True)
    page.get_by_role("button", name="Create character").click()
    expect(page.get_by_role("heading", name="Eileen")).to_be_visible()
    assert page.locator(".reference-images img").count() == 2
