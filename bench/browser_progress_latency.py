"""Benchmark: time from the worker publishing a progress event to the browser receiving it,
end to end in the embedded mode: worker thread -> channel layer -> daphne -> websocket ->
Debian's chromium. Target (issue 2): within 100 ms.

It starts a real portal (manage.py runserver, in-process workers) on a free loopback port,
signs up, creates a character from two fixture photos and renders a few dreams while the page
records, for every event, its arrival time minus the event's ``published_at`` (same machine,
same clock). Bounded: --dreams renders (default 3), each at most 120 s.
Run: .venv/bin/python bench/browser_progress_latency.py [--dreams 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.portal import CHROMIUM_ARGS, Portal  # noqa: E402

PHOTOS = ROOT.parent / "shared" / "fixtures" / "images"
PASSWORD = "benchmark passphrase 12"

# Wraps the page's WebSocket so every dream event's delay is recorded in milliseconds.
RECORD_DELAYS = """
window.__delays = [];
const NativeWebSocket = window.WebSocket;
window.WebSocket = function (...args) {
  const socket = new NativeWebSocket(...args);
  socket.addEventListener("message", (message) => {
    const data = JSON.parse(message.data);
    if (data.event && data.event.published_at) {
      window.__delays.push(Date.now() - data.event.published_at * 1000);
    }
  });
  return socket;
};
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dreams", type=int, default=3)
    options = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="dreamsite-bench-"))
    portal = Portal(home)
    portal.start()
    delays: list[float] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                args=CHROMIUM_ARGS,
            )
            page = browser.new_page()
            page.add_init_script(RECORD_DELAYS)
            page.goto(f"{portal.url}/accounts/signup/")
            page.fill("input[name=email]", "bench@example.com")
            page.fill("input[name=password1]", PASSWORD)
            page.fill("input[name=password2]", PASSWORD)
            page.locator("main button[type=submit]").click()
            page.goto(f"{portal.url}/characters/new/")
            page.fill("input[name=name]", "Eileen")
            page.set_input_files(
                "input[name=images]", [PHOTOS / "astronaut.png", PHOTOS / "chelsea.png"]
            )
            page.locator("main button[type=submit]").click()
            for number in range(options.dreams):
                page.goto(f"{portal.url}/dreams/new/")
                page.fill("textarea[name=prompt]", f"Benchmark dream number {number}")
                page.locator("main button[type=submit]").click()
                page.wait_for_selector("#dream video", state="attached", timeout=120_000)
                delays.extend(page.evaluate("window.__delays"))
            browser.close()
    finally:
        portal.stop()
        shutil.rmtree(home, ignore_errors=True)

    ordered = sorted(delays)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print("worker publish -> browser websocket message, embedded mode (runserver/daphne)")
    print(
        f"events {len(ordered)} over {options.dreams} dreams: p50 {p50:.1f} ms"
        f"  p99 {p99:.1f} ms  max {ordered[-1]:.1f} ms  (target: within 100 ms)"
    )


if __name__ == "__main__":
    main()
