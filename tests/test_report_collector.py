"""The render worker's garbage-collection policy (pipeline.report.render.collected_once):
the collector is paused while a report renders, runs once on what it allocated, and is
left as it was found -- even when rendering fails."""

from __future__ import annotations

import gc

import pytest

from pipeline.report.render import collected_once


class Node:
    """An object in a reference cycle: only the cyclic collector frees it."""

    def __init__(self) -> None:
        self.me = self


def test_the_collector_is_paused_while_rendering_and_frees_the_reports_cycles_after():
    assert gc.isenabled()
    gc.collect()
    with collected_once():
        assert not gc.isenabled()
        cycles = [Node() for _ in range(1000)]
        before = sum(isinstance(o, Node) for o in gc.get_objects(generation=0))
        del cycles  # a report's objects die together: only cycles are left
    assert gc.isenabled()
    assert before == 1000
    assert not any(isinstance(o, Node) for o in gc.get_objects())


def test_the_collector_comes_back_when_rendering_fails():
    with pytest.raises(RuntimeError), collected_once():
        raise RuntimeError("a template error")
    assert gc.isenabled()


def test_a_collector_switched_off_by_the_caller_stays_off():
    gc.disable()
    try:
        with collected_once():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
