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
    items,
    ops,
    rules,
    sources,
    web,
)
from monitor.config import Config, ConfigError, load_config
from monitor.logs import configure_logging
from storage.db import SchemaError

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
    for group in (demo, crawl, items, sources, digest, rules, web, ops):
        group.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `raqib` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_USAGE
    configure_logging(args.verbose)
    handler: Callable[[argparse.Namespace, Config], int] = args.handler
    try:
        config = load_config(args.config_dir, database_url=args.db)
        for warning in config.warnings:
            log.warning(warning)
        return handler(args, config)
    except (ConfigError, UsageError, SchemaError) as exc:
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
