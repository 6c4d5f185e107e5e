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


def open_repository(config: Config) -> Repository:
    """The repository on the configured database (migrated to the newest schema)."""
    from storage.db import engine_from_settings
    from storage.repository import Repository

    return Repository(engine_from_settings(config.settings.database_url, config.settings.database))


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

