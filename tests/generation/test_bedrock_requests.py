"""The exact requests sent to Bedrock for every task type (botocore's Stubber at the client),
and our own validation refusing what AWS documents as invalid before anything is sent."""

from __future__ import annotations

import base64
import io
from datetime import UTC, datetime

import pytest
from botocore.stub import Stubber
from PIL import Image

from generation import aws
from generation.luma_ray2 import LumaRay2Backend
from generation.nova_reel import NovaReelBackend, text_video_input
from generation.video import ClipRequest, InvalidClipRequest
from tests.support import PHOTOS

OUTPUT = "s3://bedrock-output/nova-reel/"
ARN = "arn:aws:bedrock:us-east-1:123456789012:async-invoke/abc123def456"


@pytest.fixture
def configured(settings):
    settings.NOVA_REEL_OUTPUT_S3_URI = OUTPUT
    settings.LUMA_RAY2_OUTPUT_S3_URI = "s3://bedrock-output-west/luma/"
    settings.BEDROCK_ENDPOINT_URL = ""
    aws.forget_clients()
    yield settings
    aws.forget_clients()


def stubbed_start(backend, request, expected_input, token="dreamsite-0123"):
    client = aws.client("bedrock-runtime", backend.region)
    with Stubber(client) as stub:
        stub.add_response(
            "start_async_invoke",
            {"invocationArn": ARN},
            {
                "modelId": backend.model_id,
                "modelInput": expected_input,
                "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": backend.output_s3_uri}},
                "clientRequestToken": token,
            },
        )
        assert backend.start(request, client_token=token) == ARN
        stub.assert_no_pending_responses()


def clip(*, first_frame: bool = False, **fields) -> ClipRequest:
    """A request; ``first_frame`` opens it on a real photo of a cat."""
    values = {
        "prompt": "A cat naps in a sunbeam",
        "seed": 7,
        "duration_seconds": 6.0,
        "first_frame": PHOTOS / "chelsea.png" if first_frame else None,
    }
    values.update(fields)
    return ClipRequest(**values)


def test_nova_text_video_without_image(configured):
    stubbed_start(
        NovaReelBackend(),
        clip(first_frame=False),
        {
            "taskType": "TEXT_VIDEO",
            "textToVideoParams": {"text": "A cat naps in a sunbeam"},
            "videoGenerationConfig": {
                "durationSeconds": 6,
                "fps": 24,
                "dimension": "1280x720",
                "seed": 7,
            },
        },
    )


def test_nova_text_video_opens_on_the_photo_cropped_to_exactly_1280x720(configured):
    backend = NovaReelBackend()
    body = backend.model_input(clip(first_frame=True))
    (image,) = body["textToVideoParams"]["images"]
    assert image["format"] == "png"
    decoded = Image.open(io.BytesIO(base64.b64decode(image["source"]["bytes"])))
    assert (decoded.format, decoded.mode, decoded.size) == ("PNG", "RGB", (1280, 720))
    # It is the photo (a cat, mostly warm colours), cropped rather than squashed or padded.
    red, green, blue = decoded.resize((1, 1)).getpixel((0, 0))
    assert red > blue
    stubbed_start(backend, clip(first_frame=True), body)


def test_nova_multi_shot_automated_for_long_videos(configured):
    prompt = "A long journey. " * 200  # 3200 characters: over 512, within 4000
    stubbed_start(
        NovaReelBackend(),
        clip(prompt=prompt, duration_seconds=18.0, first_frame=True),
        {
            "taskType": "MULTI_SHOT_AUTOMATED",
            "multiShotAutomatedParams": {"text": prompt.strip()},
            "videoGenerationConfig": {
                "durationSeconds": 18,
                "fps": 24,
                "dimension": "1280x720",
                "seed": 7,
            },
        },
    )


def test_luma_ray2_body_with_first_keyframe(configured):
    backend = LumaRay2Backend()
    request = clip(duration_seconds=5.0, aspect_ratio="1:1", first_frame=True)
    body = backend.model_input(request)
    frame = body["keyframes"]["frame0"]
    assert frame["type"] == "image" and frame["source"]["media_type"] == "image/jpeg"
    decoded = Image.open(io.BytesIO(base64.b64decode(frame["source"]["data"])))
    assert decoded.size == (720, 720)
    assert {k: v for k, v in body.items() if k != "keyframes"} == {
        "prompt": "A cat naps in a sunbeam",
        "aspect_ratio": "1:1",
        "loop": False,
        "duration": "5s",
        "resolution": "720p",
    }
    assert backend.region == "us-west-2"
    stubbed_start(backend, request, body)


def test_luma_ray2_ends_on_the_last_frame_it_is_given(configured):
    """Luma Ray2 is the Bedrock model that takes a closing image too (``frame1``): a film's
    scene can end where the next one begins."""
    backend = LumaRay2Backend()
    assert backend.capabilities.takes_last_frame
    request = clip(
        duration_seconds=9.0,
        aspect_ratio="16:9",
        first_frame=True,
        last_frame=PHOTOS / "rocket.jpg",
    )
    body = backend.model_input(request)
    opening, closing = (
        Image.open(io.BytesIO(base64.b64decode(body["keyframes"][slot]["source"]["data"])))
        for slot in ("frame0", "frame1")
    )
    assert opening.size == closing.size == (1280, 720)
    # Two different photos: the cat (warm) opens, the rocket closes.
    assert opening.resize((1, 1)).getpixel((0, 0)) != closing.resize((1, 1)).getpixel((0, 0))
    stubbed_start(backend, request, body)


def test_nova_reel_takes_no_closing_image(configured):
    assert not NovaReelBackend().capabilities.takes_last_frame
    body = NovaReelBackend().model_input(clip(last_frame=PHOTOS / "rocket.jpg"))
    assert "images" not in body["textToVideoParams"]


def test_status_and_list_calls(configured):
    backend = NovaReelBackend()
    client = aws.client("bedrock-runtime", backend.region)
    now = datetime(2026, 11, 21, tzinfo=UTC)
    with Stubber(client) as stub:
        stub.add_response(
            "get_async_invoke",
            {
                "invocationArn": ARN,
                "modelArn": "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-reel-v1:1",
                "status": "Failed",
                "failureMessage": "blocked",
                "submitTime": now,
                "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": OUTPUT}},
            },
            {"invocationArn": ARN},
        )
        stub.add_response(
            "list_async_invokes",
            {
                "asyncInvokeSummaries": [
                    {
                        "invocationArn": ARN,
                        "modelArn": "m",
                        "clientRequestToken": "dreamsite-0123",
                        "status": "InProgress",
                        "submitTime": now,
                        "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": OUTPUT}},
                    }
                ]
            },
            {"submitTimeAfter": now, "sortBy": "SubmissionTime", "sortOrder": "Descending"},
        )
        state = backend.check(ARN)
        assert (state.status, state.failure_message) == ("Failed", "blocked")
        assert backend.output_folder(ARN, state) == ("bedrock-output", "nova-reel/abc123def456/")
        assert backend.find(client_token="dreamsite-0123", submitted_after=now) == ARN


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"prompt": "x" * 513},
            "The prompt is 513 characters; Amazon Nova Reel accepts at most 512",
        ),
        ({"prompt": "  "}, "Write a prompt"),
        ({"duration_seconds": 15.0}, "makes clips of 6, 12, 18"),
        ({"duration_seconds": 126.0}, "not 126"),
        ({"duration_seconds": 18.0, "prompt": "y" * 4001}, "at most 4000 for a 18 s clip"),
        ({"aspect_ratio": "9:16"}, "makes 16:9 video, not 9:16"),
        ({"seed": 2_147_483_647}, "The seed must be between 0 and 2147483646."),
    ],
)
def test_nova_refuses_what_aws_documents_as_invalid(configured, fields, message):
    with pytest.raises(InvalidClipRequest) as refused:
        NovaReelBackend().validate(clip(**fields))
    assert message in refused.value.message


def test_nova_v1_0_takes_6_seconds_only(configured):
    configured.NOVA_REEL_MODEL_ID = "amazon.nova-reel-v1:0"
    backend = NovaReelBackend()
    assert backend.capabilities.durations_seconds == (6.0,)
    with pytest.raises(InvalidClipRequest, match="makes clips of 6 seconds, not 18"):
        backend.validate(clip(duration_seconds=18.0))


def test_an_opening_image_of_the_wrong_size_is_refused():
    # The real photo as stored (512×512), not cropped: AWS would refuse it, so do we.
    photo = (PHOTOS / "astronaut.png").read_bytes()
    with pytest.raises(InvalidClipRequest, match="exactly 1280×720 pixels, not 512×512"):
        text_video_input(prompt="hello", seed=1, image_png=photo)


def test_a_transparent_opening_image_is_refused():
    buffer = io.BytesIO()
    photo = Image.open(PHOTOS / "chelsea.png").convert("RGBA").resize((1280, 720))
    photo.putpixel((0, 0), (0, 0, 0, 0))
    photo.save(buffer, "PNG")
    with pytest.raises(InvalidClipRequest, match="transparent pixels"):
        text_video_input(prompt="hello", seed=1, image_png=buffer.getvalue())


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"duration_seconds": 6.0}, "makes clips of 5, 9 seconds, not 6"),
        ({"duration_seconds": 5.0, "aspect_ratio": "5:4"}, "not 5:4"),
        ({"duration_seconds": 5.0, "prompt": "z" * 5001}, "at most 5000"),
    ],
)
def test_luma_refuses_what_aws_documents_as_invalid(configured, fields, message):
    with pytest.raises(InvalidClipRequest) as refused:
        LumaRay2Backend().validate(clip(**fields))
    assert message in refused.value.message


def test_errors_are_classified_for_what_the_user_can_do():
    from botocore.exceptions import ClientError

    def error(status, code, message):
        return ClientError(
            {
                "Error": {"Code": code, "Message": message},
                "ResponseMetadata": {"HTTPStatusCode": status},
            },
            "StartAsyncInvoke",
        )

    blocked = error(
        400, "ValidationException", "This request has been blocked by our content filters."
    )
    assert isinstance(aws.classify(blocked), aws.ContentFiltered)
    malformed = error(400, "ValidationException", "Malformed input request: seed out of range")
    assert isinstance(aws.classify(malformed), aws.ProviderRejected)
    assert isinstance(aws.classify(error(429, "ThrottlingException", "slow")), aws.ProviderBusy)
    quota = error(400, "ServiceQuotaExceededException", "too many jobs")
    assert isinstance(aws.classify(quota), aws.ProviderBusy)
    denied = error(403, "AccessDeniedException", "no access")
    assert isinstance(aws.classify(denied), aws.ProviderUnavailable)
