"""In-process faults: seeded fractions, delays, exceptions and hangs, sync and async."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

import perfgate as pg
from perfgate import UsageError


def _double(x: int) -> int:
    return 2 * x


async def _adouble(x: int) -> int:
    return 2 * x


def test_raises_on_a_seeded_fraction() -> None:
    f = pg.faulty(_double, raises=ConnectionError("down"), fraction=0.25, seed=3)
    outcomes = []
    for i in range(400):
        try:
            outcomes.append(f(i) == 2 * i)
        except ConnectionError:
            outcomes.append(False)
    assert f.calls == 400 and f.faulted == outcomes.count(False)
    assert 70 < f.faulted < 130
    g = pg.faulty(_double, raises=ConnectionError, fraction=0.25, seed=3)
    again = []
    for i in range(400):
        try:
            again.append(g(i) == 2 * i)
        except ConnectionError:
            again.append(False)
    assert again == outcomes  # same seed, same calls hit
    assert f.__name__ == "_double"


def test_delay_and_switching_off() -> None:
    f = pg.faulty(_double, delay="20ms")
    t = time.perf_counter()
    assert f(2) == 4
    assert time.perf_counter() - t >= 0.02
    with f.active(False):
        assert f(3) == 6
    assert f.faulted == 1 and f.calls == 2


def test_hang_times_out_and_release_ends_it() -> None:
    f = pg.faulty(_double, hang="10s")
    f.release()  # a hang already released returns at once: no test waits 10 s
    with pytest.raises(TimeoutError, match="no answer in 10s"):
        f(1)
    g = pg.faulty(_double, hang="10s")
    started = threading.Event()
    box: list[BaseException] = []

    def call() -> None:
        started.set()
        try:
            g(1)
        except TimeoutError as e:
            box.append(e)

    th = threading.Thread(target=call)
    th.start()
    started.wait(5)
    g.release()
    th.join(5)
    assert isinstance(box[0], TimeoutError)


def test_async_functions_get_async_faults() -> None:
    f = pg.faulty(_adouble, delay="10ms")
    assert asyncio.run(f(4)) == 8
    h = pg.faulty(_adouble, hang="10s")

    async def main() -> None:
        task = asyncio.create_task(h(1))
        await asyncio.sleep(0)  # let it start hanging
        h.release()
        with pytest.raises(TimeoutError):
            await task

    asyncio.run(main())
    r = pg.faulty(_adouble, raises=ValueError("bad"))
    with pytest.raises(ValueError, match="bad"):
        asyncio.run(r(1))


def test_as_a_fault_for_schedules() -> None:
    f = pg.faulty(_double, raises=RuntimeError, enabled=False)
    assert f(1) == 2
    with f, pytest.raises(RuntimeError):
        f(1)
    assert f(1) == 2


@pytest.mark.parametrize(("kwargs", "message"), [
    ({}, "exactly one of"),
    ({"delay": "1s", "hang": "1s"}, "exactly one of"),
    ({"delay": "soon"}, "not a duration"),
    ({"raises": 42}, "not an exception"),
    ({"delay": "1s", "fraction": 1.5}, "between 0 and 1"),
])
def test_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        pg.faulty(_double, **kwargs)
