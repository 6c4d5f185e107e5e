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
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a program stopped by Ctrl-C


class UsageError(Exception):
    """A command-line value that cannot be used."""


MAX_COUNT = 1_000_000_000  # larger numbers of articles are a typing mistake, not a wish


def parse_since(value: str) -> datetime:
    """An ISO date/time, or a duration back from now such as 24h or 7d."""
    if re.fullmatch(r"\d+(\.\d+)?\s*[smhd]", value.strip()):
        try:
            return datetime.now(UTC) - timedelta(seconds=parse_duration(value))
        except OverflowError:
            raise argparse.ArgumentTypeError(
                f"{value!r} reaches back before the year 1: give a date instead") from None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"invalid date {value!r}: use YYYY-MM-DD, an ISO date-time, or 24h / 7d") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_count(value: str) -> int:
    """A number of articles: 0 (no limit) or more, up to a billion."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative: give 0 (no limit) or more")
    if number > MAX_COUNT:
        raise argparse.ArgumentTypeError(f"{value} is too large: give 0 (no limit) or up to "
                                         f"{MAX_COUNT:,}")
    return number


def parse_id(value: str) -> int:
    """A stored article's id: a positive whole number."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an article id (a number)") from None
    if not 0 < number < 2**63:
        raise argparse.ArgumentTypeError(f"{value} is not an article id (`raqib items` lists "
                                         "them)")
    return number


def open_repository(config: Config) -> Repository:
    """The repository on the configured database, for every command but those that create it.

    Only `crawl`, `run`, `worker`, `db upgrade` and `demo` create a database. Any other command
    finding no SQLite file says which file it looked for and works on an empty database in
    memory; an empty PostgreSQL database, an older, newer or foreign schema is a SchemaError
    (exit 2).
    """
    from storage.db import engine_from_settings, sqlite_file
    from storage.repository import Repository

    url = config.settings.database_url
    path = sqlite_file(url)
    if path is not None and not path.exists():
        err(f"raqib: no database at {path} yet: nothing is stored (`raqib crawl` creates it "
            "there; --db or RAQIB_DATABASE_URL chooses another)")
        return Repository("sqlite://")
    return Repository(engine_from_settings(url, config.settings.database), create=False)


def check_ids(config: Config, repository: Repository, *, source: str | None = None,
              rule: str | None = None) -> None:
    """Refuse a source or rule id that is neither configured nor in stored articles, with the
    known ids (a typing mistake must not look like "nothing matched")."""
    if source and not any(s.id == source for s in config.sources) \
            and not repository.articles.find(source=source, limit=1):
        config.source(source)  # ConfigError: "no source 'x' (known: …)"
    if rule and not any(r.id == rule for r in config.rules) \
            and not repository.articles.find(rule=rule, limit=1):
        known = ", ".join(r.id for r in config.rules) or "none"
        raise UsageError(f"no rule '{rule}' (known: {known})")


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

