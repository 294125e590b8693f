"""Outputs and disks (issue 12, point 4): every output is attempted on its own.

A full disk (a real 256 KiB tmpfs, filled), a read-only directory, an unopenable
``$GITHUB_STEP_SUMMARY``: each failing output is one line on stderr naming it, the exit code
is 2, every later output is still written, and no ``.tmp`` file is left behind — for
``bench``, ``compare``, ``history``, ``report`` and ``import`` alike.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from rbhelp import DEADLINE, no_traceback, run, start

from perfgate import Environment, Metric, Result, ResultSet, write_json
from perfgate.store import open_store

pytestmark = pytest.mark.slow

BENCH = ["bench", "mod:f", "--max-time", "0.05", "--warmup", "0", "--no-memory"]


def _target(tmp_path: Path) -> None:
    (tmp_path / "mod.py").write_text("def f():\n    return sum(range(10))\n")


def _fill(mnt: Path) -> None:
    """Fill the filesystem to the last byte."""
    fd = os.open(mnt / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)


def _stored(db: Path) -> int:
    with sqlite3.connect(db) as c:
        return int(c.execute("SELECT count(*) FROM runs").fetchone()[0])


def _errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_a_full_disk_fails_its_outputs_alone(tmp_path: Path, tmpfs: Path) -> None:
    _target(tmp_path)
    _fill(tmpfs)
    done = run([*BENCH, "--json", str(tmpfs / "r.json"), "--store", "sqlite:///ok/h.db",
                "--junit", str(tmpfs / "r.xml"), "--markdown", "ok/r.md",
                "--html", str(tmpfs / "r.html")], tmp_path)
    assert done.code == 2, done.both
    no_traceback(done)
    errors = _errors(done.err)
    assert len(errors) == 3, done.err
    assert all("No space left on device" in e for e in errors)
    assert [e.split(":")[1].strip() for e in errors] == ["--json", "--junit", "--html"]
    assert _stored(tmp_path / "ok" / "h.db") == 1  # the outputs after the failures
    assert (tmp_path / "ok" / "r.md").stat().st_size > 0
    assert sorted(p.name for p in tmpfs.iterdir()) == ["filler"]  # no .tmp left


def test_a_read_only_directory_fails_its_outputs_alone(tmp_path: Path,
                                                       readonly_dir: Path) -> None:
    _target(tmp_path)
    ro = readonly_dir
    done = run([*BENCH, "--json", "r.json", "--store", f"sqlite:///{ro}/h.db",
                "--junit", str(ro / "r.xml"), "--markdown", str(ro / "r.md"),
                "--html", "r.html"], tmp_path)
    assert done.code == 2, done.both
    no_traceback(done)
    errors = _errors(done.err)
    assert [e.split(":")[1].strip() for e in errors] == ["--store", "--junit", "--markdown"]
    assert json.loads((tmp_path / "r.json").read_text())["results"][0]["name"] == "f"
    assert (tmp_path / "r.html").stat().st_size > 0
    assert list(ro.iterdir()) == []


def test_an_unopenable_step_summary_is_an_error_and_later_outputs_follow(
        tmp_path: Path) -> None:
    _target(tmp_path)
    (tmp_path / "summary-is-a-dir").mkdir()
    done = run([*BENCH, "--markdown", "r.md", "--html", "r.html"], tmp_path,
               {"GITHUB_STEP_SUMMARY": str(tmp_path / "summary-is-a-dir")})
    assert done.code == 2, done.both
    no_traceback(done)
    assert _errors(done.err)[0].startswith("error: $GITHUB_STEP_SUMMARY: cannot write")
    assert (tmp_path / "r.md").exists() and (tmp_path / "r.html").exists()


def _results(path: Path, scale: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    pm = list(1e-3 * scale * np.exp(rng.normal(0, 0.01, 20)))
    write_json(path, ResultSet(environment=Environment(git_commit="c"), results=(
        Result(name="parse", kind="bench", metrics={
            "time": Metric(unit="s", kind="distribution", median=float(np.median(pm)),
                           n=20, extra={"process_medians": pm})}),)))


def test_compare_outputs_are_attempted_one_by_one(tmp_path: Path,
                                                  readonly_dir: Path) -> None:
    _results(tmp_path / "a.json", 1.0, 1)
    _results(tmp_path / "b.json", 1.0, 2)
    done = run(["compare", "a.json", "b.json", "--json", str(readonly_dir / "c.json"),
                "--junit", str(readonly_dir / "c.xml"), "--markdown", "c.md",
                "--html", "c.html"], tmp_path)
    assert done.code == 2, done.both
    no_traceback(done)
    assert [e.split(":")[1].strip() for e in _errors(done.err)] == ["--json", "--junit"]
    assert (tmp_path / "c.md").exists() and (tmp_path / "c.html").exists()


def test_history_and_report_html_to_an_unwritable_path(tmp_path: Path,
                                                       readonly_dir: Path) -> None:
    _results(tmp_path / "a.json", 1.0, 1)
    from perfgate.model import read_json

    with open_store(f"sqlite:///{tmp_path}/h.db") as store:
        store.save(read_json(tmp_path / "a.json"))
    done = run(["history", "--store", "sqlite:///h.db", "--html",
                str(readonly_dir / "h.html")], tmp_path)
    assert done.code == 2, done.both
    no_traceback(done)
    assert _errors(done.err)[0].startswith("error: --html: cannot write")
    assert "runs in sqlite:///h.db" in done.out  # the table is still shown
    done = run(["report", "a.json", "--html", str(readonly_dir / "r.html")], tmp_path)
    assert done.code == 2, done.both
    no_traceback(done)
    assert _errors(done.err)[0].startswith("error: --html: cannot write")


def test_import_into_a_store_that_cannot_be_created(tmp_path: Path,
                                                    readonly_dir: Path) -> None:
    _results(tmp_path / "a.json", 1.0, 1)
    done = run(["import", "a.json", "--store", f"sqlite:///{readonly_dir}/sub/h.db"],
               tmp_path)
    assert done.code == 2, done.both
    no_traceback(done)
    assert "cannot create" in done.err


def test_a_reader_that_goes_away_costs_no_output(tmp_path: Path) -> None:
    """``perfgate bench … | head -c 1``: stdout breaks at the table; the files still come."""
    _target(tmp_path)
    proc = start([*BENCH, "--json", "r.json", "--html", "r.html"], tmp_path)
    assert proc.stdout is not None
    proc.stdout.close()  # the reader leaves before anything is printed
    proc.stdout = None
    _, raw = proc.communicate(timeout=DEADLINE)
    stderr, code = raw.decode(errors="replace"), proc.returncode
    assert code == 0, stderr
    assert "Traceback" not in stderr
    assert (tmp_path / "r.json").exists() and (tmp_path / "r.html").exists()


def test_outputs_into_a_fifo_and_through_a_symlink(tmp_path: Path) -> None:
    """A path that is not a regular file (``/dev/stdout``, a FIFO) is written into, never
    replaced by a renamed file (as root, that would replace a device node); a symlink keeps
    pointing where it did and its target gets the content."""
    import threading

    _target(tmp_path)
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()), daemon=True)
    reader.start()
    (tmp_path / "real").mkdir()
    (tmp_path / "link.xml").symlink_to(tmp_path / "real" / "r.xml")
    done = run([*BENCH, "--json", str(fifo), "--junit", "link.xml"], tmp_path)
    reader.join(DEADLINE)
    assert done.code == 0, done.both
    assert json.loads(got[0])["results"][0]["name"] == "f"
    assert fifo.is_fifo()
    assert (tmp_path / "link.xml").is_symlink()
    assert (tmp_path / "real" / "r.xml").read_text().startswith("<?xml")


def test_a_store_on_a_full_disk_keeps_its_runs(tmp_path: Path, tmpfs: Path) -> None:
    _target(tmp_path)
    url = f"sqlite:///{tmpfs}/h.db"
    assert run([*BENCH, "--store", url], tmp_path).code == 0
    _fill(tmpfs)
    done = run([*BENCH, "--store", url, "--json", "r.json"], tmp_path)
    assert done.code == 2, done.both
    no_traceback(done)
    assert _errors(done.err)[0].startswith("error: --store: ")
    assert (tmp_path / "r.json").exists()
    (tmpfs / "filler").unlink()
    with sqlite3.connect(tmpfs / "h.db") as c:
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert c.execute("SELECT count(*) FROM runs").fetchone()[0] == 1
    c.close()
