"""The `raqib` sub-commands, a module per group, each with `add_commands(subparsers)`.

This module holds what the groups share: exit codes, `UsageError`, the `--since` argument type,
opening the repository, and the output helpers. Handlers take (args, config) and return an exit
code; `monitor.cli` turns their errors into one line.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from monitor.config import Config, parse_duration

if TYPE_CHECKING:
    from storage.repository import Repository

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A command-line value that cannot be used."""


def parse_since(value: str) -> datetime:
    """An ISO date/time, or a duration back from now such as 24h or 7d."""
    if re.fullmatch(r"\d+(\.\d+)?\s*[smhd]", value.strip()):
        return datetime.now(UTC) - timedelta(seconds=parse_duration(value))
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"invalid date {value!r}: use YYYY-MM-DD, an ISO date-time, or 24h / 7d") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def open_repository(config: Config, *, write: bool) -> Repository:
    """The repository on the configured database.

    A command that writes gives a new, empty database raqib's schema. One that only reads never
    creates anything: with no SQLite file yet it reads an empty database in memory and says
    which file it looked for. An older, newer or foreign schema is a SchemaError (exit 2).
    """
    from storage.db import engine_from_settings, sqlite_file
    from storage.repository import Repository

    url = config.settings.database_url
    path = sqlite_file(url)
    if not write and path is not None and not path.exists():
        err(f"raqib: no database at {path.resolve()} yet: nothing is stored "
            "(`raqib crawl` creates it; --db or RAQIB_DATABASE_URL chooses another)")
        return Repository("sqlite://")
    return Repository(engine_from_settings(url, config.settings.database), create=write)


def err(line: str) -> None:
    """One line to standard error, at once (progress and errors; stdout is the result)."""
    print(line, file=sys.stderr, flush=True)


def clip(text: str, width: int) -> str:
    """`text` on one line, cut to `width` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def when(moment: datetime | None) -> str:
    """A moment as a table shows it, or a dash."""
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "—"


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Columns padded to their widest cell, under a header and a rule of dashes."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
    for row in [headers, ["-" * w for w in widths], *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip())

