"""``perfgate import FILE...``: bring pytest-benchmark or perfgate JSON into the store."""

from __future__ import annotations

from pathlib import Path

import click
from rich.text import Text

from perfgate.cli._common import handle_errors, out
from perfgate.report._escape import terminal_text

__all__ = ["import_cmd"]


@click.command("import")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(dir_okay=False, path_type=Path))
@click.option("--store", "store_url", metavar="URL", envvar="PERFGATE_STORE",
              help="History store URL (default sqlite:///.perfgate/history.db; env "
                   "PERFGATE_STORE).")
@handle_errors
def import_cmd(files: tuple[Path, ...], store_url: str | None) -> None:
    """Import result FILES (pytest-benchmark saved JSON, or perfgate JSON) into the store.

    Every file is read before anything is written: a bad file imports nothing.
    """
    from perfgate.store import import_file, open_store

    loaded = [(f, *import_file(f)) for f in files]
    with open_store(store_url) as store:
        for f, rs, source in loaded:
            run_id = store.save(rs, source=source)
            commit = (rs.environment.git_commit or "no commit")[:10]
            out.print(Text(terminal_text(
                f"{f}: {len(rs.results)} result(s) from {source} ({commit}) "
                f"saved as run {run_id} in {store.display_url}")))
