"""A new user has a language model describe their character from its photos and write their
film, in Debian's chromium against the real
server: Claude on a fake Bedrock (real HTTP on localhost, the Converse API) takes two seconds
to write; the film page says it is writing, then shows the model's storyboard without a
reload by hand; the user has the model rewrite one scene and sees only it change."""

from __future__ import annotations

import copy

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_dream_story import save_screenshot, sign_up
from tests.browser.test_film_story import create_character, headings
from tests.fake_bedrock import FakeBedrock
from tests.portal import Portal

pytestmark = pytest.mark.browser

SHEET = {
    "appearance": "A woman in a white space suit with a gold visor.",
    "personality": "Calm, methodical, quietly funny.",
    "description": "An astronaut in a white suit with a mirrored gold visor.",
}
HEADINGS = ["EXT. AIRFIELD - DAWN", "INT. HANGAR - DAY", "EXT. HARBOUR - DUSK"]
SCRIPT = {
    "title": "The Night Runway",
    "logline": "A test pilot follows an old map to a harbour nobody remembers.",
    "scenes": [
        {
            "heading": heading,
            "shot": "Eileen, in her flight suit, studies a creased map under a hangar lamp.",
            "narration": "Eileen had flown every route on the chart but one.",
            "first_frame": "A pilot in a flight suit holds a creased map.",
            "last_frame": "The pilot looks up from the map toward the open hangar door.",
            "cast": ["Eileen"],
            "framing": "medium",
            "duration_seconds": 10,
        }
        for heading in HEADINGS
    ],
}


@pytest.fixture
def writer_portal(tmp_path_factory):
    # Only Converse is used: the fake's S3 side is never reached.
    fake = FakeBedrock(s3_endpoint="http://127.0.0.1:9", converse_delay_seconds=2.0).start()
    server = Portal(
        tmp_path_factory.mktemp("writer-portal"),
        extra_env={
            "BEDROCK_WRITER_REGION": "us-east-1",
            "BEDROCK_ENDPOINT_URL": fake.url,
            "SCRIPT_WRITERS": "template,claude",
        },
    )
    server.start()
    yield server.url, fake
    server.stop()
    fake.stop()


def test_a_new_user_watches_a_model_write_the_storyboard(page: Page, writer_portal, tmp_path):
    portal, fake = writer_portal
    rewritten = copy.deepcopy(SCRIPT)
    rewritten["scenes"][1]["heading"] = "INT. HANGAR - A STORM OUTSIDE"
    rewritten["scenes"][0]["heading"] = "IGNORED"  # only the scene asked for changes
    fake.scripts += [SHEET, SCRIPT, rewritten]
    sign_up(page, portal, "writer@example.com")
    create_character(page, "Eileen", ("astronaut.png", "rocket.jpg"))

    page.get_by_role("button", name="Describe from the photos with Claude (Bedrock)").click()
    expect(page.get_by_text("The sheet was written from the photos")).to_be_visible()
    expect(page.get_by_label("Appearance")).to_have_value(SHEET["appearance"])
    expect(page.get_by_label("Personality")).to_have_value(SHEET["personality"])
    page.get_by_label("Personality").fill("Calm, and stubborn about maps.")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_label("Personality")).to_have_value("Calm, and stubborn about maps.")
    save_screenshot(page, tmp_path, "character-sheet.png")

    page.get_by_role("link", name="New film").click()
    page.locator("textarea[name=idea]").fill("A test pilot follows an old map to a lost harbour.")
    page.get_by_role("checkbox", name="Eileen").check()
    page.locator("input[name=target_seconds]").fill("30")
    page.locator("input[name=scene_count]").fill("3")
    page.get_by_role("radio", name="Claude (Bedrock)").check()
    page.get_by_role("button", name="Write the storyboard").click()

    expect(page.get_by_text("Writing the script with Claude (Bedrock)…")).to_be_visible()
    expect(page.get_by_role("button", name="Write it with the template")).to_be_visible()
    save_screenshot(page, tmp_path, "film-writing.png")

    # The script arrives over the websocket and the page shows its storyboard.
    expect(page.get_by_role("heading", name="The Night Runway")).to_be_visible(timeout=30_000)
    expect(page.locator(".scene-card")).to_have_count(3)
    assert headings(page) == HEADINGS
    expect(page.get_by_text("Writing the script with")).to_have_count(0)
    save_screenshot(page, tmp_path, "film-written.png")
    assert fake.converses[0]["messages"][0]["content"][0]["image"]["format"] == "jpeg"
    request = fake.converses[1]
    assert "outputConfig" in request
    # The script writer was given the sheet, with the personality as the user corrected it.
    assert f"Eileen: {SHEET['description']} Appearance:" in str(request)
    assert "Personality: Calm, and stubborn about maps." in str(request)

    card = page.locator(".scene-card").nth(1)
    card.get_by_role("button", name="Rewrite…").click()
    card.get_by_label("What should change?").fill("a storm is coming")
    card.get_by_role("button", name="Rewrite scene 2 with Claude (Bedrock)").click()
    expect(page.get_by_text("Rewriting scene 2 with Claude (Bedrock)…")).to_be_visible()
    save_screenshot(page, tmp_path, "film-rewriting-scene.png")
    expect(page.get_by_text("INT. HANGAR - A STORM OUTSIDE")).to_be_visible(timeout=30_000)
    assert headings(page) == [HEADINGS[0], "INT. HANGAR - A STORM OUTSIDE", HEADINGS[2]]
    assert "a storm is coming" in str(fake.converses[2])
