"""The `raqib` command line: parses arguments, calls the domain code, prints.

Domain errors become one clear line and an exit code: 0 success, 1 a source or job failed,
2 a usage or configuration error.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from sqlalchemy.exc import SQLAlchemyError

from monitor.commands import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    crawl,
    demo,
    digest,
    err,
    ops,
    rules,
    sources,
    web,
)
from monitor.config import Config, ConfigError, load_config

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "UsageError", "build_parser", "main"]

log = logging.getLogger("raqib")

DESCRIPTION = """\
raqib (رقيب) watches Gulf news sources — GCC government portals, news agencies and
newspapers — stores every new article once, and flags the ones your watch rules match.

first steps:
  raqib demo                   crawl a bundled sample of news sites on 127.0.0.1 (no network)
  raqib sources list           the configured sources and their last crawls
  raqib crawl                  crawl every enabled source once, print a summary
  raqib crawl wam okaz         crawl only these sources
  raqib items --flagged        articles that matched a watch rule, newest first
  raqib run                    the daemon: crawl each source on its schedule, send digests
  raqib web                    the web view on http://127.0.0.1:8080/ (inbox, search, feeds)

configuration lives in a directory with sources.yaml, rules.yaml and settings.yaml
(--config-dir, or RAQIB_CONFIG_DIR; default: the shipped config/). The database is
settings.yaml's database_url (--db, or RAQIB_DATABASE_URL; default: SQLite ./data/raqib.db).
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="raqib", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config-dir", metavar="DIR",
                        help="configuration directory (env RAQIB_CONFIG_DIR; default: shipped config/)")
    parser.add_argument("--db", metavar="URL",
                        help="database URL (env RAQIB_DATABASE_URL; default: settings.yaml database_url)")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more log output (-vv for Scrapy's own logs)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    # Each group adds its commands in turn: `raqib --help` lists them in this order.
    for group in (demo, crawl, sources, digest, rules, web, ops):
        group.add_commands(commands)
    return parser


_LIBRARIES = ("scrapy", "twisted", "filelock", "trafilatura", "htmldate", "asyncio", "apscheduler",
              "py.warnings")


class _QuietLibraries(logging.Filter):
    """Drops libraries' records below a level, whatever levels they give their own loggers
    (Scrapy resets its loggers to DEBUG when a crawl starts)."""

    def __init__(self, names: tuple[str, ...], below: int) -> None:
        super().__init__()
        self.names, self.below = names, below

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= self.below or record.name.split(".")[0] not in self.names


def _configure_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    # Libraries' chatter is for -vv; at the default level per-page crawl warnings are counted
    # in the summary instead of printed, and our own warnings about sources always show.
    quiet = (*_LIBRARIES, "crawler") if verbosity == 0 else _LIBRARIES
    for handler in logging.root.handlers:
        below = {0: logging.CRITICAL, 1: logging.ERROR}.get(verbosity, logging.DEBUG)
        handler.addFilter(_QuietLibraries(quiet, below))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `raqib` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_USAGE
    _configure_logging(args.verbose)
    handler: Callable[[argparse.Namespace, Config], int] = args.handler
    try:
        config = load_config(args.config_dir, database_url=args.db)
        for warning in config.warnings:
            log.warning(warning)
        return handler(args, config)
    except (ConfigError, UsageError) as exc:
        err(f"raqib: error: {exc}")
        return EXIT_USAGE
    except SQLAlchemyError as exc:
        err(f"raqib: database error: {str(exc).splitlines()[0]}")
        return EXIT_FAILED
    except KeyboardInterrupt:
        err("raqib: interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
