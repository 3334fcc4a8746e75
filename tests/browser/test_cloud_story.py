"""A new user's cloud dream in the browser: Nova Reel through the fake Bedrock, media in a
private bucket on moto's S3 server, the video played from a presigned URL."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_dream_story import click_link, create_character, save_screenshot, sign_up
from tests.cloud_fixtures import s3_client
from tests.portal import Portal
from tests.support import wait_for_page

pytestmark = pytest.mark.browser


@pytest.fixture
def cloud_portal(tmp_path_factory, moto_s3, fake_bedrock):
    media, output = f"media-{uuid.uuid4().hex[:8]}", f"output-{uuid.uuid4().hex[:8]}"
    for bucket in (media, output):
        s3_client(moto_s3).create_bucket(Bucket=bucket)
    fake_bedrock.in_progress_polls = 8
    server = Portal(
        tmp_path_factory.mktemp("cloud-portal"),
        extra_env={
            "STORAGE_BACKEND": "s3",
            "AWS_STORAGE_BUCKET_NAME": media,
            "AWS_S3_ENDPOINT_URL": moto_s3,
            "NOVA_REEL_OUTPUT_S3_URI": f"s3://{output}/nova-reel/",
            "LUMA_RAY2_OUTPUT_S3_URI": f"s3://{output}/luma/",
            "BEDROCK_ENDPOINT_URL": fake_bedrock.url,
            "BEDROCK_CONTROL_ENDPOINT_URL": fake_bedrock.url,
            "BEDROCK_POLL_SECONDS": "0.4",
        },
    )
    server.start()
    yield server.url
    server.stop()


def test_cloud_dream_shows_cost_estimates_progress_and_plays_from_s3(
    page: Page, cloud_portal: str, moto_s3: str, fake_bedrock, tmp_path
):
    presigned = []
    page.on(
        "response",
        lambda r: (
            presigned.append(r.status) if r.url.startswith(moto_s3) and ".mp4" in r.url else None
        ),
    )
    sign_up(page, cloud_portal, "cloudy@example.com")
    create_character(page, cloud_portal)
    click_link(page, "Dream with Eileen")

    # Only what each backend takes is offered, and the cost shows before submitting.
    page.get_by_role("radio", name="Luma Ray2").check()
    expect(page.locator("#id_duration option:not([disabled])")).to_have_text(["5 s", "9 s"])
    expect(page.locator("#cost-value")).to_have_text("$7.50")
    page.get_by_role("radio", name="Amazon Nova Reel").check()
    expect(page.locator("#id_aspect_ratio option:not([disabled])")).to_have_text(["16:9"])
    page.locator("#id_duration").select_option("6")
    expect(page.locator("#cost-value")).to_have_text("$0.48")
    expect(page.locator("#cost-estimate")).to_contain_text("$10.00 of your $10.00 daily budget")
    page.locator("#id_duration").select_option("30")
    expect(page.locator("#cost-value")).to_have_text("$2.40")
    expect(page.locator("#first-frame-row")).to_be_hidden()
    expect(page.locator("#prompt-limit")).to_have_text("4000")
    page.locator("#id_duration").select_option("6")
    expect(page.locator("#first-frame-row")).to_be_visible()
    page.get_by_label("Prompt").fill("Eileen waves to the cat from the station window")
    save_screenshot(page, tmp_path, "cloud-dream-form.png")
    page.get_by_role("button", name="Dream it").click()

    expect(
        page.get_by_text("the provider may still finish the video and bill for it")
    ).to_be_visible()
    expect(page.locator("#dream [data-field=stage]")).to_have_text(
        "generating (estimate)", timeout=30_000
    )
    save_screenshot(page, tmp_path, "cloud-dream-generating.png")
    video = page.locator("#dream video")
    expect(video).to_be_attached(timeout=60_000)
    wait_for_page(page, "document.querySelector('#dream video').readyState >= 2", timeout=30_000)
    duration = page.evaluate("document.querySelector('#dream video').duration")
    assert duration == pytest.approx(6.0, abs=0.1)
    expect(page.locator("#dream [data-field=cost-label]")).to_have_text("Cost")
    expect(page.locator("#dream [data-field=cost]")).to_have_text("$0.48")
    # The bytes came from the bucket through a presigned URL, not through Dreamsite.
    assert presigned and all(status in (200, 206) for status in presigned), presigned
    assert fake_bedrock.start_count() == 1
    page.evaluate(
        "(() => { const v = document.querySelector('#dream video'); v.muted = true; v.play(); })()"
    )
    wait_for_page(page, "document.querySelector('#dream video').currentTime > 1.5", timeout=15_000)
    page.evaluate("document.querySelector('#dream video').pause()")
    page.locator("#dream video").scroll_into_view_if_needed()
    save_screenshot(page, tmp_path, "cloud-dream-finished.png")
