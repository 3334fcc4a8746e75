"""The production topology end to end: two daphne web processes and Dramatiq worker processes
sharing PostgreSQL and Redis (broker, channel layer, cache), nothing in-process. A dream
submitted through one web process is watched live through the other; Redis, PostgreSQL or
RabbitMQ restarted under a running render loses nothing and the page catches up by itself."""

from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.test_dream_story import (
    RECORD_PROGRESS,
    click_link,
    create_character,
    save_screenshot,
    screenshot_mid_render,
    sign_up,
)
from tests.portal import Portal
from tests.processes import (
    PostgresServer,
    RabbitmqVhost,
    RedisServer,
    ScratchDatabase,
    SweeperProcess,
    WorkerProcess,
)
from tests.support import wait_for, wait_for_page

pytestmark = [pytest.mark.browser, pytest.mark.services]

# Counts the page's websocket connections that opened, so a test knows the page is listening
# (and, after a Redis restart, that it reconnected).
COUNT_SOCKETS = """
window.__socketsOpened = 0;
const NativeWebSocket = window.WebSocket;
window.WebSocket = class extends NativeWebSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener("open", () => { window.__socketsOpened += 1; });
  }
};
"""


@dataclass
class Topology:
    """Web and worker processes on one scratch database and one private Redis."""

    home: Path
    env: dict[str, str]
    redis: RedisServer
    web: list[Portal] = field(default_factory=list)
    workers: list[WorkerProcess] = field(default_factory=list)
    sweeper: SweeperProcess | None = None

    def start_web(self) -> Portal:
        # Each web process migrates first, as a release step would; the sweeper then starts.
        portal = Portal(self.home / f"web-{len(self.web)}", extra_env=self.env, server="daphne")
        portal.start()
        self.web.append(portal)
        self.sweeper = self.sweeper or SweeperProcess(self.home, self.env)
        return portal

    def start_worker(self) -> WorkerProcess:
        worker = WorkerProcess(("default", "media", "cloud"), self.home, self.env)
        self.workers.append(worker)
        return worker

    def videos(self) -> list[Path]:
        return list((self.home / "media").rglob("*.mp4"))

    def logs(self) -> str:
        return "\n".join(
            [portal.log_path.read_text()[-3000:] for portal in self.web]
            + [worker.log()[-3000:] for worker in self.workers]
        )


@contextmanager
def running_topology(home: Path, database_url: str, broker_url: str | None = None):
    """A Topology on ``database_url`` and a private Redis (also the broker unless
    ``broker_url`` names another); every process stopped after."""
    for folder in ("web-0", "web-1", "media"):
        (home / folder).mkdir()
    redis = RedisServer(home).start()
    env = {
        "DEBUG": "true",
        "EMBEDDED_WORKERS": "false",
        "DATABASE_URL": database_url,
        # The pool production runs with (on by default only with DEBUG off).
        "DB_POOL_MAX_SIZE": "4",
        "DRAMATIQ_BROKER_URL": broker_url or redis.url(0),
        "CHANNEL_LAYER_URL": redis.url(1),
        "CACHE_URL": redis.url(2),
        "MEDIA_ROOT": str(home / "media"),
        "STORAGE_BACKEND": "local",
        "SWEEP_QUEUED_SECONDS": "10",
    }
    topology = Topology(home=home, env=env, redis=redis)
    try:
        yield topology
    finally:
        sweeper = [topology.sweeper] if topology.sweeper else []
        for process in [*topology.workers, *topology.web, *sweeper]:
            process.stop()
        redis.stop()


@pytest.fixture
def topology(tmp_path_factory):
    """On a scratch database of the suite's PostgreSQL server."""
    database = ScratchDatabase(os.environ["DATABASE_URL"])
    try:
        with running_topology(tmp_path_factory.mktemp("topology"), database.url) as topology:
            yield topology
    finally:
        database.drop()


@pytest.fixture
def rabbitmq():
    """A private virtual host on the local RabbitMQ, whose node the test may restart."""
    vhost = RabbitmqVhost()
    yield vhost
    vhost.remove()


@pytest.fixture
def postgres():
    """A private PostgreSQL server the test may restart."""
    server = PostgresServer().start()
    yield server
    server.remove()


@dataclass
class WatchedRender:
    """Dreams a new user submitted (their page paths, in order), the first one's page in a
    second tab, mid-render, and the one worker rendering them."""

    paths: list[str]
    watched: Page
    token: float
    worker: WorkerProcess


def start_watched_render(
    context: BrowserContext, topology: Topology, email: str, prompts: list[str]
) -> WatchedRender:
    """Sign up on a new web process, submit one dream per prompt (the later ones wait behind
    the first: one worker, one thread), watch the first and return once it is rendering."""
    web = topology.start_web()
    page = context.new_page()
    sign_up(page, web.url, email)
    create_character(page, web.url)
    character_url = page.url
    paths = []
    for prompt in prompts:
        page.goto(character_url)
        paths.append(submit_dream(page, prompt))
    watched = watch(context, f"{web.url}{paths[0]}")
    token = watched.evaluate("window.__pageToken")
    worker = topology.start_worker()
    wait_for_page(watched, "window.__progressSeen.some(v => v > 0 && v < 100)", timeout=90_000)
    return WatchedRender(paths=paths, watched=watched, token=token, worker=worker)


def assert_caught_up(render: WatchedRender) -> None:
    """The watched page shows the finished dream and its player, without having reloaded."""
    expect(render.watched.locator("#dream .badge")).to_have_text("Succeeded", timeout=120_000)
    expect(render.watched.locator("#dream video")).to_be_attached()
    assert render.watched.evaluate("window.__pageToken") == render.token, "the page reloaded"


def assert_succeeded(context: BrowserContext, url: str) -> None:
    page = context.new_page()
    page.goto(url)
    expect(page.locator("#dream .badge")).to_have_text("Succeeded", timeout=120_000)


def redelivered_and_ignored(worker: WorkerProcess, job_id: str) -> bool:
    """Whether ``worker`` logged a message for ``job_id`` that found its job already done."""
    lines = [json.loads(line) for line in worker.log().splitlines() if line.startswith("{")]
    return any(
        line.get("job_id") == job_id and "nothing to do" in line["message"] for line in lines
    )


def submit_dream(page: Page, prompt: str) -> str:
    """From a character's page: ask for a dream; the path of its page."""
    click_link(page, "Dream with Eileen")
    page.get_by_label("Prompt").fill(prompt)
    page.get_by_role("button", name="Dream it").click()
    expect(page.get_by_role("heading", name="Eileen")).to_be_visible()
    return urlparse(page.url).path


def watch(context: BrowserContext, url: str) -> Page:
    """A second page of the same user on ``url``, recording its progress bar and sockets."""
    page = context.new_page()
    page.add_init_script(RECORD_PROGRESS + COUNT_SOCKETS)
    page.goto(url)
    wait_for_page(page, "window.__socketsOpened >= 1")
    return page


def test_dream_submitted_on_one_web_process_is_watched_live_on_another(
    context: BrowserContext, topology: Topology, tmp_path
):
    web_a, web_b = topology.start_web(), topology.start_web()
    page_a = context.new_page()
    sign_up(page_a, web_a.url, "traveller@example.com")
    create_character(page_a, web_a.url)
    dream_path = submit_dream(page_a, "Eileen crosses from one server to the other")

    # Web B knows the session (same database) and the dream, still waiting for a worker.
    page_b = watch(context, f"{web_b.url}{dream_path}")
    expect(page_b.locator("#dream .badge")).to_have_text("Queued")
    token = page_b.evaluate("window.__pageToken")
    topology.start_worker()
    topology.start_worker()

    screenshot_mid_render(page_b, tmp_path, "topology-rendering.png")
    expect(page_b.locator("#dream video")).to_be_attached(timeout=120_000)
    expect(page_b.locator("#dream .badge")).to_have_text("Succeeded")
    seen = page_b.evaluate("window.__progressSeen")
    assert any(0 < value < 100 for value in seen), (seen, topology.logs())
    assert page_b.evaluate("window.__pageToken") == token, "page B reloaded"
    # The video plays from web B, whichever worker made it and whichever server took the job.
    try:
        wait_for_page(page_b, "document.querySelector('#dream video').readyState >= 2")
    except AssertionError as error:
        # It failed once beside heavy film tests: say what the element and the servers saw.
        state = page_b.evaluate(
            "(() => { const v = document.querySelector('#dream video'); return {ready:"
            " v.readyState, network: v.networkState, error: v.error && v.error.code, src:"
            " v.currentSrc, buffered: v.buffered.length, hidden: document.hidden}; })()"
        )
        raise AssertionError(f"{error}: {state}\n{topology.logs()}") from None
    assert page_b.evaluate("document.querySelector('#dream video').duration") == pytest.approx(
        6.0, abs=0.1
    )
    save_screenshot(page_b, tmp_path, "topology-finished.png")
    expect(page_a.locator("#dream .badge")).to_have_text("Succeeded")
    assert len(topology.videos()) == 1, topology.videos()


def test_restarting_redis_mid_render_loses_no_dream_and_the_page_catches_up(
    context: BrowserContext, topology: Topology, tmp_path
):
    render = start_watched_render(
        context,
        topology,
        "steady@example.com",
        ["Eileen keeps going through the storm", "Eileen waits her turn"],
    )

    # Redis goes away and comes back empty: messages, group memberships, everything.
    topology.redis.stop()
    time.sleep(2)
    topology.redis.start()

    assert_caught_up(render)
    assert render.watched.evaluate("window.__socketsOpened") >= 2, "the page never reconnected"
    save_screenshot(render.watched, tmp_path, "redis-restart-caught-up.png")
    assert_succeeded(context, f"{topology.web[0].url}{render.paths[1]}")
    # The outage did fall inside the renders: their progress could not be published then.
    assert "Could not publish progress" in render.worker.log()
    assert len(topology.videos()) == 2, (topology.videos(), topology.logs())


def test_restarting_postgresql_mid_render_loses_no_dream(
    context: BrowserContext, postgres: PostgresServer, tmp_path_factory
):
    with running_topology(tmp_path_factory.mktemp("topology"), postgres.url) as topology:
        render = start_watched_render(
            context, topology, "patient@example.com", ["Eileen waits out the power cut"]
        )

        # Every open connection is cut; the render's next write fails and the job is retried.
        postgres.stop()
        time.sleep(2)
        postgres.start()

        assert_caught_up(render)
        # The same page still works against the restarted database (pooled connections).
        render.watched.reload()
        expect(render.watched.locator("#dream .badge")).to_have_text("Succeeded")
        assert len(topology.videos()) == 1, topology.logs()
        # The fault fell inside the render: its first attempt failed and the retry finished it.
        assert "Rendering on animatic, attempt 2" in render.worker.log()


def test_restarting_rabbitmq_mid_render_loses_no_dream(
    context: BrowserContext, rabbitmq: RabbitmqVhost, tmp_path_factory
):
    database = ScratchDatabase(os.environ["DATABASE_URL"])
    home = tmp_path_factory.mktemp("topology")
    try:
        with running_topology(home, database.url, broker_url=rabbitmq.url) as topology:
            render = start_watched_render(
                context,
                topology,
                "durable@example.com",
                ["Eileen rides out the broker restart", "Eileen is next in line"],
            )

            # Every connection to the broker closes; queued and unacknowledged messages are
            # durable and come back to the reconnected worker.
            rabbitmq.restart_broker()

            assert_caught_up(render)
            assert_succeeded(context, f"{topology.web[0].url}{render.paths[1]}")
            # The message unacknowledged when the broker went away comes back; the job it
            # names is done, so it does nothing. (The scratch database numbers dreams from 1.)
            wait_for(lambda: redelivered_and_ignored(render.worker, "dream-1"), timeout=60)
            assert len(topology.videos()) == 2, (topology.videos(), topology.logs())
    finally:
        database.drop()
