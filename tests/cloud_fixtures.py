"""Fixtures for the cloud backends: moto's S3 server and the fake Bedrock, both real HTTP on
localhost, and settings that point the app at them. No test reaches AWS."""

from __future__ import annotations

import os
import socket
import tempfile
import uuid
from pathlib import Path

import boto3
import pytest
from PIL import Image

from tests.fake_bedrock import FakeBedrock
from tests.support import PHOTOS

# Whatever the developer's shell holds, tests sign with dummy keys and never ask EC2 metadata.
for _name, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_DEFAULT_REGION": "us-east-1",
}.items():
    os.environ[_name] = _value
os.environ.pop("AWS_PROFILE", None)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def s3_client(endpoint: str):
    return boto3.client("s3", region_name="us-east-1", endpoint_url=endpoint)


@pytest.fixture(scope="session")
def moto_s3() -> str:
    """moto's S3 server on a free localhost port; its URL."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="session")
def provider_video() -> bytes:
    """A real 6 s 1280×720 H.264 MP4 (an animatic of two fixture photos) for the fake
    provider to "generate"."""
    from generation.animatic_render import AnimaticRenderer

    images = [Image.open(PHOTOS / name).convert("RGB") for name in ("astronaut.png", "chelsea.png")]
    with tempfile.TemporaryDirectory() as folder:
        renderer = AnimaticRenderer(
            images=images, prompt="", seed=7, duration=6.0, width=1280, height=720, fps=24
        )
        video, poster = Path(folder) / "v.mp4", Path(folder) / "p.jpg"
        renderer.write(
            video_path=video, poster_path=poster, last_frame_path=poster.with_name("last.jpg")
        )
        return video.read_bytes()


@pytest.fixture
def fake_bedrock(moto_s3, provider_video):
    fake = FakeBedrock(s3_endpoint=moto_s3, output_video=provider_video).start()
    yield fake
    fake.stop()


@pytest.fixture
def cloud(settings, moto_s3, fake_bedrock) -> FakeBedrock:
    """Nova Reel and Luma Ray2 configured against the fake Bedrock, writing into a fresh
    output bucket on moto; polls 50 ms apart."""
    from generation import aws

    bucket = f"bedrock-output-{uuid.uuid4().hex[:10]}"
    s3_client(moto_s3).create_bucket(Bucket=bucket)
    settings.NOVA_REEL_OUTPUT_S3_URI = f"s3://{bucket}/nova-reel/"
    settings.LUMA_RAY2_OUTPUT_S3_URI = f"s3://{bucket}/luma/"
    settings.AWS_S3_ENDPOINT_URL = moto_s3
    settings.BEDROCK_ENDPOINT_URL = fake_bedrock.url
    settings.BEDROCK_CONTROL_ENDPOINT_URL = fake_bedrock.url
    settings.BEDROCK_POLL_SECONDS = [0.05]
    settings.BEDROCK_BUSY_RETRY_SECONDS = 0.05
    fake_bedrock.output_bucket = bucket
    aws.forget_clients()
    yield fake_bedrock
    aws.forget_clients()


def s3_media_storage(bucket: str, endpoint: str) -> dict:
    """The STORAGES entry that keeps media in ``bucket`` on ``endpoint``, as the production
    settings build it (STORAGE_BACKEND=s3)."""
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "region_name": "us-east-1",
            "endpoint_url": endpoint,
            "addressing_style": "path",
            "signature_version": "s3v4",
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": 300,
            "file_overwrite": False,
        },
    }


def fresh_bucket(endpoint: str, prefix: str = "media") -> str:
    bucket = f"{prefix}-{uuid.uuid4().hex[:10]}"
    s3_client(endpoint).create_bucket(Bucket=bucket)
    return bucket


@pytest.fixture
def s3_media(settings, moto_s3) -> str:
    """All media in a fresh private bucket on moto through django-storages; its name."""
    bucket = fresh_bucket(moto_s3)
    settings.STORAGES = {**settings.STORAGES, "default": s3_media_storage(bucket, moto_s3)}
    return bucket


def bucket_keys(endpoint: str, bucket: str) -> list[str]:
    response = s3_client(endpoint).list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in response.get("Contents", []))
