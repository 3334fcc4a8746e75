"""Reliability: the process running a film killed with SIGKILL at every stage, and what is left
after; in the production set-up (a separate worker process on the Redis broker, the sweeper
beside it) and in the embedded mode (one portal process running the jobs in its threads,
resuming unfinished ones when it starts), both on PostgreSQL with media on local disk.

Each case makes a three-scene film on the offline animatic backend, waits until the film
reaches the stage, kills the worker (or the portal) with ``kill -9``, starts another, and
waits for the film. It is right when it succeeded with no false failure (no scene
failed, no error), its MP4 decodes whole with the length of its scenes, no file in its folder
is one that no row names (the pieces' cache apart, where nothing is empty or half-written), and
deleting it leaves nothing in storage. Stages: the storyboard being prepared, a chained clip, an
unchained clip, the pieces made while clips render, the assembly's pieces, the sound (narration
and music mixed), the join, the cut being stored, and a scene's re-render.

Prints one line per case (stage, seconds from the kill to the finished film, the killed
scene's attempts, files left) and ends non-zero when a case is wrong. About 25 minutes.

Run: .venv/bin/python bench/film_kill_matrix.py [-k 'embedded and storyboard']
(needs PostgreSQL and Redis on localhost, as ``make test-services``)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVICES = {
    "TEST_SERVICES": "1",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/dreamsite",
    "DRAMATIQ_BROKER_URL": "redis://127.0.0.1:6379/1",
    "CHANNEL_LAYER_URL": "redis://127.0.0.1:6379/2",
    "CACHE_URL": "redis://127.0.0.1:6379/3",
}
#: Short allowances, so a case takes seconds, not the production defaults' minutes.
FAST = {"DRAMATIQ_HEARTBEAT_TIMEOUT_MS": "2000"}
SWEEP = {"SWEEP_RENDER_STALL_SECONDS": "3", "SWEEP_CLOUD_STALL_SECONDS": "3"}

pytestmark = [pytest.mark.django_db(transaction=True)]


def _database_url() -> str:
    from django.db import connection

    db = connection.settings_dict
    return f"postgres://{db['USER'] or 'postgres'}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


class SeparateWorker:
    """The production set-up: a worker process on the Redis broker, the sweeper beside it."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        from tests.processes import SweeperProcess

        self.home, self.env = home, env
        self.sweeper = SweeperProcess(home, {**env, **SWEEP})
        self.worker = None

    def start(self) -> None:
        from tests.processes import WorkerProcess

        self.worker = WorkerProcess(("media",), self.home, {**self.env, **FAST})

    def kill(self) -> None:
        self.worker.kill()

    def sent(self) -> None:
        """A service here sent a message: the worker receives it through the broker."""

    def log(self) -> str:
        return self.worker.log()[-3000:]

    def stop(self) -> None:
        self.worker.stop()
        self.sweeper.stop()


class EmbeddedPortal:
    """The embedded mode: one portal process runs the jobs in its own threads, on this
    database and media folder, and resumes unfinished ones when it starts."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        from tests.portal import Portal

        self.portal = Portal(home, {**env, "EMBEDDED_WORKERS": "true", "DRAMATIQ_BROKER_URL": ""})

    def start(self) -> None:
        self.portal.start()

    def kill(self) -> None:
        self.portal.process.kill()  # SIGKILL
        self.portal.process.wait()
        self.portal.process = None

    def sent(self) -> None:
        """A service here sent a message into this process's broker, which the portal does
        not share: a restart makes the portal resume the job from the database."""
        self.portal.restart()

    def log(self) -> str:
        return self.portal.log_path.read_text()[-3000:]

    def stop(self) -> None:
        self.portal.stop()


@pytest.fixture(params=["separate worker", "embedded"])
def runner(request, tmp_path, broker, media_root):
    env = {"DATABASE_URL": _database_url(), "STORAGE_BACKEND": "local"}
    env["MEDIA_ROOT"] = str(media_root)
    kind = SeparateWorker if request.param == "separate worker" else EmbeddedPortal
    running = kind(tmp_path, env)
    yield running
    running.stop()


def _film(pk):
    from films.models import Film

    return Film.objects.get(pk=pk)


def _scenes(film):
    from films.models import Scene

    return list(Scene.objects.filter(film_id=film.pk).order_by("position"))


def _stage_reached(film, stage: str) -> bool:
    """Whether ``film`` is at ``stage`` now (checked every few milliseconds)."""
    from django.core.files.storage import default_storage

    from jobs.models import JobStatus

    film = _film(film.pk)
    scenes = _scenes(film)
    if stage == "storyboard":
        return bool(scenes[0].narration_key) and not scenes[-1].narration_key
    if stage in ("chained clip", "unchained clip", "re-render"):
        return any(s.status == JobStatus.RUNNING and s.progress > 0.2 for s in scenes[1:])
    if stage == "early pieces":
        pieces = f"films/{film.public_id}/pieces"
        return film.stage.startswith("rendering clips") and _files(pieces) != []
    if stage == "storing":
        _, names = default_storage.listdir(f"films/{film.public_id}")
        return not film.video and any(n.startswith("film-") for n in names)
    return film.stage == stage


def _files(folder: str) -> list[str]:
    from tests.support import stored_files

    try:
        return [str(name) for name in stored_files(folder)]
    except FileNotFoundError:
        return []


def _decoded_seconds(path: Path) -> float:
    """The MP4's length in seconds, decoding every frame; raises when ffmpeg finds an error."""
    import imageio_ffmpeg

    run = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0 and not run.stderr.strip(), run.stderr
    _, seconds = imageio_ffmpeg.count_frames_and_secs(str(path))
    return float(seconds)


def _unnamed(film) -> list[str]:
    """Files in the film's folder no row names, and empty or temporary pieces."""
    from films.files import FILM_FILE_FIELDS, scene_file_names

    film = _film(film.pk)
    named = {getattr(film, f).name for f in FILM_FILE_FIELDS if getattr(film, f)}
    for scene in _scenes(film):
        named.update(scene_file_names(scene))
    folder = f"films/{film.public_id}"
    from django.core.files.storage import default_storage

    wrong = []
    for name in _files(folder):
        if name.startswith(f"{folder}/pieces/"):
            if default_storage.size(name) == 0 or not name.endswith((".mp4", ".m4a", ".wav")):
                wrong.append(name)
        elif name not in named:
            wrong.append(name)
    return wrong


STAGES = [
    "storyboard",
    "chained clip",
    "unchained clip",
    "early pieces",
    "encoding the scenes and transitions",
    "mixing the sound",
    "joining the scenes",
    "storing",
    "re-render",
]


@pytest.mark.parametrize("stage", STAGES)
def test_a_film_killed_at_this_stage_ends_right(stage, user, make_character, runner):
    from django.core.files.storage import default_storage

    from films import services
    from jobs.models import JobStatus
    from tests.film_fixtures import make_cast, make_film
    from tests.support import wait_for

    film = make_film(
        user, make_cast(make_character, user), music_mood="wonder",
        chaining=stage != "unchained clip",
    )  # fmt: skip
    runner.start()
    if stage != "storyboard":
        wait_for(lambda: all(s.narration_key for s in _scenes(film)), timeout=120)
        services.render_film(film=_film(film.pk))
        runner.sent()
    if stage == "re-render":
        wait_for(lambda: _film(film.pk).status == JobStatus.SUCCEEDED, timeout=240)
        services.rerender_scene(scene=_scenes(film)[1])
        runner.sent()
    ended = (JobStatus.SUCCEEDED, JobStatus.FAILED)
    wait_for(
        lambda: _stage_reached(film, stage) or _film(film.pk).status in ended,
        timeout=240, interval=0.005,
    )  # fmt: skip
    if not _stage_reached(film, stage):
        # A stage whose work was done early (the sound while clips render) may go by between
        # two looks: nothing was killed, so nothing was measured.
        pytest.skip(f"the film went through {stage!r} between two looks")
    runner.kill()
    killed_at = time.monotonic()
    runner.start()
    if stage == "storyboard":
        wait_for(lambda: all(s.narration_key for s in _scenes(film)), timeout=120)
        services.render_film(film=_film(film.pk))
        runner.sent()
    done = wait_for(
        lambda: (f := _film(film.pk)).status in (JobStatus.SUCCEEDED, JobStatus.FAILED) and f,
        timeout=300,
    )
    seconds = time.monotonic() - killed_at
    scenes = _scenes(done)
    planned = done.duration_seconds or 0.0  # the cut's layout, from the clips' lengths
    with default_storage.open(done.video.name, "rb") as video, open("/tmp/cut.mp4", "wb") as out:
        out.write(video.read())
    length = _decoded_seconds(Path("/tmp/cut.mp4"))
    left = _unnamed(done)
    folder = f"films/{done.public_id}"
    services.delete_film(film=done)
    after_delete = _files(folder)
    line = {
        "mode": type(runner).__name__, "stage": stage, "status": done.status, "error": done.error,
        "recovered_s": round(seconds, 1), "attempts": [s.attempts for s in scenes],
        "length_s": round(length, 2), "planned_s": round(planned, 2),
        "unnamed": left, "after_delete": after_delete,
    }  # fmt: skip
    print("\nKILL " + json.dumps(line), flush=True)
    assert done.status == JobStatus.SUCCEEDED, (done.error, runner.log())
    assert not any(s.error for s in scenes)
    assert abs(length - planned) < 0.25
    assert left == [] and after_delete == []


if __name__ == "__main__":
    os.environ.update({key: os.environ.get(key, value) for key, value in SERVICES.items()})
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    options = ["-p", "tests.worker_env", "-p", "tests.conftest", "-p", "no:cacheprovider"]
    options += ["-s", "-q", "-m", "", "-o", "addopts="]
    sys.exit(pytest.main([__file__, *options, *sys.argv[1:]]))
