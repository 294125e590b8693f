"""Reading Prometheus text exposition back, for the export tests."""

from __future__ import annotations

import socket
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

Sample = tuple[str, tuple[tuple[str, str], ...]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scrape(url: str) -> dict[Sample, float]:
    """Every sample of an exposition: (name, sorted labels) -> value."""
    with urllib.request.urlopen(url, timeout=10) as r:
        text = r.read().decode()
    out: dict[Sample, float] = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = float(s.value)
    return out


def total(samples: dict[Sample, float], name: str, **match: str) -> float:
    """The sum of ``name`` over the samples whose labels include ``match``."""
    return sum(v for (n, labels), v in samples.items()
               if n == name and all((k, m) in labels for k, m in match.items()))
