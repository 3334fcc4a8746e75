"""The GPU render's heartbeat: the sweeper sees the latest stage repeated while a long call
reports nothing, and a cancel met by a repeat ends the beating without an alarm."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from generation.gpu import heartbeat
from generation.video import RenderCanceled


@pytest.fixture
def fast_beats(monkeypatch):
    monkeypatch.setattr(heartbeat, "HEARTBEAT_SECONDS", 0.02)


def test_the_latest_stage_is_repeated_while_a_long_call_reports_nothing(fast_beats):
    reports: list[tuple[str, float]] = []
    with heartbeat.heartbeat(lambda stage, fraction: reports.append((stage, fraction))) as report:
        report("loading the model", 0.0)
        time.sleep(0.3)  # the long call: weights loading, say
        report("rendering", 0.5)
        time.sleep(0.3)
    count = len(reports)
    time.sleep(0.1)
    assert reports.count(("loading the model", 0.0)) > 3
    assert reports.count(("rendering", 0.5)) > 3
    assert reports.index(("rendering", 0.5)) > reports.index(("loading the model", 0.0))
    assert len(reports) == count, "the heartbeat went on after the render ended"


def test_a_cancel_met_by_a_repeat_ends_the_beating_quietly(fast_beats, caplog):
    canceled = threading.Event()
    reports: list[str] = []

    def progress(stage: str, fraction: float) -> None:
        reports.append(stage)
        if canceled.is_set():
            raise RenderCanceled()

    with caplog.at_level(logging.WARNING), heartbeat.heartbeat(progress) as report:
        report("rendering", 0.1)
        canceled.set()
        time.sleep(0.3)
        beats_after_cancel = reports.count("rendering") - 1
    assert beats_after_cancel == 1, "the beating went on after meeting the cancel"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
