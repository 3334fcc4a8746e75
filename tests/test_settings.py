"""Settings read from the environment: the clip backends' new name and its old alias."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def clip_backends(**env: str) -> list[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("CLIP_BACKENDS", "DREAM_BACKENDS")}
    script = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps(settings.CLIP_BACKENDS))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "dreamsite.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, ["animatic", "nova-reel", "luma-ray2", "wan-flf2v", "ltx-video"]),
        ({"CLIP_BACKENDS": "animatic,luma-ray2"}, ["animatic", "luma-ray2"]),
        # The old name still works for a release, and the new one wins when both are set.
        ({"DREAM_BACKENDS": "animatic"}, ["animatic"]),
        ({"DREAM_BACKENDS": "animatic", "CLIP_BACKENDS": "nova-reel"}, ["nova-reel"]),
    ],
)
def test_clip_backends_and_the_old_dream_backends_name(env, expected):
    assert clip_backends(**env) == expected
