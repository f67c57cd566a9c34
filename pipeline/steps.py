"""A stage's computation as data: named steps, their inputs and outputs, and one runner.

A step is a pure function; its inputs are named values (given by the stage's edge, or
outputs of other steps). The list of steps reads top to bottom as the computation does,
and `run_steps` runs it: in that order on one thread, or, with `workers` > 1, each step
once its inputs exist and a worker is free (the earliest declared first), independent
steps side by side. Either way every step sees the same inputs, so the results are the
same; only the wall time differs. This is the one place a stage's work runs
concurrently -- the steps themselves know nothing of it.

Three things the runner does for the steps, so they stay plain functions:
- an input named `engine` (pipeline.engine.Engine) is given to each step as a cursor of
  its own (an engine serves one thread at a time), closed when the step ends;
- `limits` caps the native thread pools (OpenMP, BLAS) a step's libraries start, by
  threadpoolctl (a value may name an input, resolved when the step runs);
- a step may return `Skipped(reason)`: steps that need its outputs are not run and pass
  the same `Skipped` on, except steps that take it (`takes_skipped`), which say what
  happens instead (a fallback).
Values no later step needs are dropped as soon as their last consumer has run, so
large intermediates (model matrices) do not all live at once. Each step's time is
logged (debug) and, on a terminal, a progress bar counts the steps done.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from threadpoolctl import threadpool_limits

from pipeline.console import progress

ENGINE = "engine"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Skipped:
    """What a step returns when the work that depends on it cannot be done, and why."""

    reason: str


@dataclass(frozen=True)
class Step:
    """`outputs = func(*inputs)`; one output name means the return value is that output,
    several mean it returns a tuple of them."""

    name: str
    func: Callable[..., Any]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...] = ()
    limits: Mapping[str, int | str | None] = field(default_factory=dict)
    takes_skipped: bool = False

    @property
    def produces(self) -> tuple[str, ...]:
        return self.outputs or (self.name,)


def cores_per_worker(workers: int) -> int:
    """The CPU cores each of `workers` steps running side by side may give its native
    thread pools (at least one): more would oversubscribe the machine."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def check_steps(steps: Sequence[Step], given: Sequence[str]) -> None:
    """ValueError unless every input is given or produced by an earlier step, and every
    output is produced once: the declared order is then an order that can run."""
    known = set(given)
    for step in steps:
        missing = [i for i in step.inputs if i not in known]
        if missing:
            raise ValueError(f"step {step.name}: inputs {missing} are neither given nor earlier")
        clash = [o for o in step.produces if o in known]
        if clash:
            raise ValueError(f"step {step.name}: outputs {clash} already exist")
        known.update(step.produces)


def run_steps(
    steps: Sequence[Step],
    given: Mapping[str, Any],
    keep: Sequence[str],
    workers: int = 1,
) -> dict[str, Any]:
    """Run `steps` on the `given` values; return the `keep` values.

    A failing step's error propagates once the steps already running have finished;
    with several failures, the one of the earliest declared step is raised (the one a
    run on one thread would have met first).
    """
    check_steps(steps, list(given))
    values: dict[str, Any] = dict(given)
    consumers = {name: 0 for name in values}
    for step in steps:
        for name in step.produces:
            consumers[name] = 0
        for name in step.inputs:
            consumers[name] += 1
    pinned = set(keep) | set(given)

    def done(step: Step, result: Any) -> None:
        advance(item=step.name)
        if isinstance(result, Skipped) or len(step.produces) == 1:
            result = (result,) * len(step.produces)
        values.update(zip(step.produces, result, strict=True))
        for name in step.inputs:
            consumers[name] -= 1
            if consumers[name] == 0 and name not in pinned:
                values.pop(name, None)

    with progress("steps", len(steps)) as advance:
        if workers <= 1:
            for step in steps:
                done(step, _call(step, *_arguments(step, values)))
        else:
            _run_parallel(steps, values, done, workers)
    return {name: values[name] for name in keep}


def _arguments(step: Step, values: Mapping[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """The step's input values, and its thread limits with named ones resolved."""
    limits = {api: values[v] if isinstance(v, str) else v for api, v in step.limits.items()}
    return [values[name] for name in step.inputs], limits


def _run_parallel(steps, values, done, workers: int) -> None:
    """Start a step only when a worker is free, the earliest declared of those ready
    first: the declared order is the priority (a queue would run steps in the order they
    became ready, so a long chain found ready late waits behind short steps)."""
    pending = list(steps)
    running: dict[Future, Step] = {}
    errors: dict[int, BaseException] = {}
    order = {step.name: i for i, step in enumerate(steps)}
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="step") as pool:
        while pending or running:
            ready = [] if errors else [s for s in pending if all(i in values for i in s.inputs)]
            for step in ready[: workers - len(running)]:
                pending.remove(step)
                running[pool.submit(_call, step, *_arguments(step, values))] = step
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                step = running.pop(future)
                error = future.exception()
                if error is not None:
                    errors[order[step.name]] = error
                else:
                    done(step, future.result())
    if errors:
        raise errors[min(errors)]


def _call(step: Step, args: list[Any], limits: Mapping[str, int | None]) -> Any:
    skipped = next((a for a in args if isinstance(a, Skipped)), None)
    if skipped is not None and not step.takes_skipped:
        return skipped
    cursors = []
    for i, name in enumerate(step.inputs):
        if name == ENGINE:
            args[i] = args[i].cursor()
            cursors.append(args[i])
    started = time.perf_counter()
    try:
        with ExitStack() as stack:
            for api, limit in limits.items():
                stack.enter_context(threadpool_limits(limits=limit, user_api=api))
            return step.func(*args)
    finally:
        for cursor in cursors:
            cursor.close()
        log.debug("step %s: %.2fs", step.name, time.perf_counter() - started)
