"""The step runner (pipeline.steps): with workers, a step starts once its inputs exist and
a worker is free, the earliest declared of the ready steps first, never more at once
than there are workers; the results do not depend on the worker count."""

from __future__ import annotations

import threading
import time

import pytest

from pipeline import steps
from pipeline.scoring import churn
from pipeline.steps import Skipped, Step, run_steps


class Recorder:
    """Steps that note when they start and how many run at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started: list[str] = []
        self.running = 0
        self.most = 0

    def step(self, name: str, inputs: tuple[str, ...], seconds: float = 0.0) -> Step:
        def run(*args: object) -> str:
            with self.lock:
                self.started.append(name)
                self.running += 1
                self.most = max(self.most, self.running)
            time.sleep(seconds)
            with self.lock:
                self.running -= 1
            return name

        return Step(name, run, inputs)


def test_a_step_found_ready_late_starts_before_later_declared_ones():
    # "chain" is declared first but needs "quick"; "slow" holds the other worker. When
    # "quick" ends, "chain" takes the free worker ahead of "tail_1" and "tail_2", which
    # were ready from the start (a queue would have run them first).
    r = Recorder()
    steps = [
        r.step("quick", ("x",)),
        r.step("chain", ("quick",)),
        r.step("slow", ("x",), seconds=0.3),
        r.step("tail_1", ("x",)),
        r.step("tail_2", ("x",)),
    ]
    run_steps(steps, {"x": 0}, ["chain"], workers=2)
    assert r.started[:2] == ["quick", "slow"]
    assert r.started.index("chain") < r.started.index("tail_1") < r.started.index("tail_2")


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_never_more_steps_at_once_than_workers(workers):
    r = Recorder()
    steps = [r.step(f"s{i}", ("x",), seconds=0.02) for i in range(8)]
    run_steps(steps, {"x": 0}, [f"s{i}" for i in range(8)], workers=workers)
    assert r.most == workers
    assert sorted(r.started) == sorted(f"s{i}" for i in range(8))


def test_the_results_and_skips_are_the_same_with_any_worker_count():
    steps = [
        Step("double", lambda x: 2 * x, ("x",)),
        Step("none", lambda x: Skipped("nothing to do"), ("x",)),
        Step("after_none", lambda n: n, ("none",)),
        Step(
            "fallback",
            lambda n, d: d if isinstance(n, Skipped) else n,
            ("none", "double"),
            takes_skipped=True,
        ),
        Step("sum", lambda d, f: d + f, ("double", "fallback")),
    ]
    keep = ["sum", "after_none"]
    one = run_steps(steps, {"x": 3}, keep, workers=1)
    assert one == {"sum": 12, "after_none": Skipped("nothing to do")}
    assert run_steps(steps, {"x": 3}, keep, workers=2) == one


@pytest.mark.parametrize(
    ("cpus", "workers", "cores"),
    [(2, 2, 1), (8, 2, 4), (2, 1, 2), (3, 2, 1), (1, 4, 1), (None, 2, 1)],
)
def test_steps_side_by_side_share_the_cores(monkeypatch, cpus, workers, cores):
    monkeypatch.setattr(steps.os, "cpu_count", lambda: cpus)
    assert steps.cores_per_worker(workers) == cores


def test_a_model_step_takes_its_share_of_the_cores_only_for_a_large_bank():
    big = churn.PARALLEL_MIN_ROWS
    assert churn.model_threads(big, 4) == 4
    assert churn.model_threads(big, 1) == 1
    assert churn.model_threads(big - 1, 4) == 1  # waking threads would cost more
