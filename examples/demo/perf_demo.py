"""The demo suite that `perfgate demo` runs: a small order-processing service, measured.

Every case here is written the way a team would write its own suite file.
"""

from __future__ import annotations

import asyncio
import json
import threading

import perfgate as pg

ORDERS = [{"id": i, "sku": i % 17, "qty": 1 + i % 5, "price": 9.99 + i % 7} for i in range(2_000)]
PAYLOAD = json.dumps(ORDERS)


@pg.bench(checks=["median < 50ms", "alloc_bytes <= 5MB"])
def parse_orders() -> None:
    """Decode a 2,000-order JSON payload."""
    json.loads(PAYLOAD)


@pg.bench(setup=lambda: list(reversed(ORDERS)), checks=["p(95) < 20ms warn 10ms"])
def sort_orders(orders: list[dict[str, float]]) -> None:
    """Sort orders by price (the setup builds the list once, untimed)."""
    sorted(orders, key=lambda o: o["price"])


@pg.bench(checks=["median < 100ms", "time.total < 100ms"])
def import_batch() -> None:
    """One import in named phases: parse, validate, total."""
    with pg.phase("parse"):
        rows = json.loads(PAYLOAD)
    with pg.phase("validate"):
        bad = [r for r in rows if r["qty"] <= 0]
    with pg.phase("total"):
        sum(r["qty"] * r["price"] for r in rows if r not in bad)


@pg.bench(checks=["median < 5ms"])
async def async_lookup() -> None:
    """An async call path: ten concurrent awaits on the loop."""
    await asyncio.gather(*(asyncio.sleep(0) for _ in range(10)))


class Shift:
    """A shift that two nurses may try to swap at the same instant: one must win."""

    def __init__(self) -> None:
        self.owner = "alice"
        self._lock = threading.Lock()

    def swap(self, new_owner: str) -> None:
        if not self._lock.acquire(blocking=False):
            raise SwapConflict("another swap is in progress")
        try:
            if self.owner != "alice":
                raise SwapConflict("already swapped")
            self.owner = new_owner
        finally:
            self._lock.release()


class SwapConflict(Exception):
    pass


SHIFT = Shift()


@pg.burst_case(n=10, checks=["count(ok) == 1", "count(SwapConflict) == 9"])
def swap_same_shift() -> None:
    """Ten concurrent swaps of one shift: exactly one wins, nine get a clean error."""
    SHIFT.swap("bob")
