"""Shared fixtures: users, characters from the real fixture photos, a private media folder per
test, and a Dramatiq worker on the in-process broker that runs the real actors."""

from __future__ import annotations

import os
from pathlib import Path

import dramatiq
import pytest

from tests.support import PASSWORD, photo_upload, start_worker, stop_worker

#: Modules whose tests behave the same whatever the database, broker, channel layer and
#: storage: pure generation code, files on disk, settings, the GPU pipelines' own code, and
#: flows that only use the broker to run their steps (films' rendering and storyboard, the GPU
#: clips, the operator's commands). The production pass leaves them out; the set-ups' own
#: seams are tested there by the modules not named here: jobs on each broker (test_dream_jobs,
#: test_worker_faults, test_sweeper, test_cloud_dreams, test_film_cloud, the GPU queue in both),
#: rows locked and counted on PostgreSQL (test_ledger, test_history_queries), files on S3
#: (uploads, deletes, file links, isolation), the Redis channel layer (test_websocket). A test
#: marked ``seam`` runs in both passes though its module is named here.
SAME_ON_EVERY_SETUP = {
    "test_animatic.py", "test_bedrock_requests.py", "test_captions.py", "test_chapters.py",
    "test_cloud_operator.py",  # its S3 tests put media on moto's S3 in both passes
    "test_film_render.py", "test_film_steps.py", "test_film_storyboard.py",
    "test_film_revisions.py", "test_film_writers.py",  # their seams are marked seam
    "test_pipeline.py",
    "test_gpu_clips.py", "test_gpu_heartbeat.py", "test_gpu_keyframes.py", "test_layout.py",
    "test_licences.py", "test_looks.py", "test_narration.py", "test_settings.py",
    "test_reading_path.py", "test_script_writers.py", "test_static_paths.py",
    "test_subtitle_scripts.py", "test_write_script_command.py",
}  # fmt: skip


def pytest_collection_modifyitems(config, items):
    """Tests marked ``services`` need PostgreSQL and a real broker: they run in `make test`'s
    production pass (TEST_SERVICES=1), which .ci/run always runs. Tests that behave the same
    on every set-up are marked ``embedded`` (the production pass leaves them out): browser
    tests (their portal runs the embedded mode) and ``SAME_ON_EVERY_SETUP``. Browser tests
    run one at a time, in one pytest-xdist group."""
    for item in items:
        path = Path(str(item.fspath))
        browser = path.parent.name == "browser"
        if browser:
            item.add_marker(pytest.mark.xdist_group("browser"))
        same = path.name in SAME_ON_EVERY_SETUP and "seam" not in item.keywords
        if "services" not in item.keywords and (browser or same):
            item.add_marker(pytest.mark.embedded)
    if os.environ.get("TEST_SERVICES"):
        return
    skip = pytest.mark.skip(reason="runs in the production pass (make test-services)")
    for item in items:
        if "services" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """The SQLite test database is a file (so threads share it); make sure its folder exists."""
    from django.conf import settings

    test_name = settings.DATABASES["default"].get("TEST", {}).get("NAME")
    if test_name:
        Path(test_name).parent.mkdir(parents=True, exist_ok=True)


@pytest.fixture(autouse=True)
def fresh_cache():
    """allauth counts rate limits in the cache: no test inherits another's failed logins."""
    from django.core.cache import caches

    for alias in ("default", "fragments"):
        caches[alias].clear()


#: The services pass keeps media on S3 (moto's server on localhost), as production does.
S3_MEDIA = os.environ.get("TEST_STORAGE") == "s3"


@pytest.fixture(autouse=True)
def media_root(request, settings, tmp_path) -> Path:
    """Every test writes media into its own empty place: a folder, and with TEST_STORAGE=s3
    a fresh private bucket on moto instead (``media_env`` tells worker processes which).
    Tests marked ``local_media`` keep the folder."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    if S3_MEDIA and not request.node.get_closest_marker("local_media"):
        from tests.cloud_fixtures import fresh_bucket, s3_media_storage

        endpoint = request.getfixturevalue("moto_s3")
        settings.STORAGES = {
            **settings.STORAGES,
            "default": s3_media_storage(fresh_bucket(endpoint), endpoint),
        }
    return root


@pytest.fixture
def media_env(media_root, settings) -> dict[str, str]:
    """Environment that puts another process's media where this test's is."""
    storage = settings.STORAGES["default"]
    if storage["BACKEND"] == "storages.backends.s3.S3Storage":
        return {
            "STORAGE_BACKEND": "s3",
            "AWS_STORAGE_BUCKET_NAME": storage["OPTIONS"]["bucket_name"],
            "AWS_S3_ENDPOINT_URL": storage["OPTIONS"]["endpoint_url"],
        }
    return {"STORAGE_BACKEND": "local", "MEDIA_ROOT": str(media_root)}


@pytest.fixture
def make_user(django_user_model):
    counter = iter(range(1, 1000))

    def make(email: str | None = None):
        return django_user_model.objects.create_user(
            email=email or f"person{next(counter)}@example.com", password=PASSWORD
        )

    return make


@pytest.fixture
def user(make_user):
    return make_user("alice@example.com")


@pytest.fixture
def other_user(make_user):
    return make_user("mallory@example.com")


@pytest.fixture
def alice_client(client, user):
    client.force_login(user)
    return client


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory):
    """Folders of tiny random-weight Wan, LTX-Video and FLUX.2 [klein] pipelines
    (tests/gpu_models.py)."""
    from tests.gpu_models import build_tiny_flux2_klein, build_tiny_ltx, build_tiny_wan

    folder = tmp_path_factory.mktemp("weights")
    return {
        "wan": build_tiny_wan(folder / "wan"),
        "ltx": build_tiny_ltx(folder / "ltx"),
        "flux2": build_tiny_flux2_klein(folder / "flux2"),
    }


@pytest.fixture
def operator_client(django_user_model):
    """A client signed in as a superuser (the operator, in the admin)."""
    from django.test import Client

    operator = django_user_model.objects.create_superuser(
        email="ops@example.com", password="operator password 1"
    )
    client = Client()
    client.force_login(operator)
    return client


@pytest.fixture
def make_character():
    from characters.services import create_character

    def make(owner, name: str = "Eileen", photos: tuple[str, ...] = ("astronaut.png",)):
        return create_character(
            owner=owner,
            name=name,
            description="A test pilot.",
            uploads=[photo_upload(photo) for photo in photos],
        )

    return make


@pytest.fixture
def make_dream():
    """Create a dream row directly, in any state (no render is enqueued)."""
    from dreams.models import Dream

    def make(owner, character=None, prompt="walking", **fields):
        fields.setdefault("backend", "animatic")
        fields.setdefault("seed", 1)
        return Dream.objects.create(
            owner=owner,
            character=character,
            character_name=character.name if character else "X",
            prompt=prompt,
            **fields,
        )

    return make


@pytest.fixture
def broker():
    """The in-process stub broker, emptied before and after the test."""
    stub = dramatiq.get_broker()
    stub.flush_all()
    yield stub
    stub.flush_all()


@pytest.fixture
def worker(broker):
    """A real Dramatiq worker running the project's actors in this process."""
    running = start_worker(broker)
    yield running
    stop_worker(running)


from tests.cloud_fixtures import cloud, fake_bedrock, moto_s3, provider_video, s3_media  # noqa: E402,F401
from tests.writer_fixtures import claude  # noqa: E402,F401
