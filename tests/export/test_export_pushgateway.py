"""The final numbers pushed to a real Pushgateway, and an unreachable one as a warning."""

from __future__ import annotations

import pytest
from _scrape import free_port, scrape, total

import perfgate as pg
from _load_servers import Server, always


@pytest.mark.slow
def test_push_at_the_end_reaches_a_real_pushgateway(pushgateway: str) -> None:
    with Server(always(200)) as srv:
        r = pg.load(srv.url, vus=2, iterations=300, processes=1, tick=0.1,
                    pushgateway=pushgateway, name="pushed")
    assert r.error is None
    assert not [w for w in r.warnings if w.startswith("pushgateway")], r.warnings
    got = scrape(f"{pushgateway}/metrics")
    assert total(got, "perfgate_requests_total", job="perfgate", scenario="pushed") == 300
    assert total(got, "perfgate_requests_total", outcome="ok") == r.metrics["count.ok"].value
    assert total(got, "perfgate_latency_seconds_count", job="perfgate") == r.metrics["latency"].n


def test_an_unreachable_pushgateway_is_a_warning_not_a_failed_run() -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with Server(always(200)) as srv:
        r = pg.load(srv.url, vus=1, iterations=50, processes=1, pushgateway=dead)
    assert r.error is None
    assert r.metrics["requests"].value == 50  # the result is whole
    assert any(w.startswith(f"pushgateway {dead}: the push failed") for w in r.warnings)
