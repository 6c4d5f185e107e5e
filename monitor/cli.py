"""The `raqib` command line: parses arguments, calls the domain code, prints.

Domain errors become one clear line and an exit code: 0 success, 1 a source or job failed,
2 a usage or configuration error.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence

from sqlalchemy.exc import SQLAlchemyError

from monitor.commands import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
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
from storage.db import SchemaError, display_url

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
settings.yaml's database_url (--db, or RAQIB_DATABASE_URL); the shipped one is the SQLite file
./data/raqib.db under the directory raqib runs in (an absolute path is used as written).
The options below go before the command or after it. `raqib COMMAND --help` explains each
command. Exit codes: 0 done, 1 a source or message failed, 2 a usage, configuration or
database error, 130 stopped by Ctrl-C.
"""


def _global_options(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument("--config-dir", metavar="DIR", default=default,
                        help="configuration directory (env RAQIB_CONFIG_DIR; default: the "
                             "shipped config/)")
    parser.add_argument("--db", metavar="URL", default=default,
                        help="database URL, sqlite:///FILE or postgresql+psycopg://USER@HOST/NAME "
                             "(env RAQIB_DATABASE_URL; default: settings.yaml's database_url)")
    parser.add_argument("-v", "--verbose", action="count", default=default,
                        help="more log output (-vv: libraries' too, Scrapy's among them)")


class _SubcommandParser(argparse.ArgumentParser):
    """Every sub-command also takes the global options (`raqib demo --db URL` as well as
    `raqib --db URL demo`); given there, they win over the ones before it."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if kwargs.get("add_help", True):
            options = self.add_argument_group("global options (also before the command)")
            _global_options(options, argparse.SUPPRESS)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="raqib", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    _global_options(parser, None)
    parser.set_defaults(verbose=0)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND",
                                     parser_class=_SubcommandParser)

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
    config: Config | None = None
    try:
        config = load_config(args.config_dir, database_url=args.db)
        for warning in config.warnings:
            log.warning(warning)
        code = handler(args, config)
        sys.stdout.flush()  # a reader gone (`| head`) shows here, not at the interpreter's exit
        return code
    except BrokenPipeError:
        return _reader_gone()
    except (ConfigError, UsageError, SchemaError) as exc:
        err(f"raqib: error: {exc}")
        return EXIT_USAGE
    except SQLAlchemyError as exc:
        # The database cannot be used as configured (unreachable, refused, wrong name): a
        # configuration problem, not a failed source.
        where = f" ({display_url(config.settings.database_url)})" if config else ""
        err(f"raqib: database error{where}: {redact_database_error(exc)}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        err("raqib: interrupted")
        return EXIT_INTERRUPTED


def _reader_gone() -> int:
    """The reader of standard output went away (`raqib items | head -1`): stop quietly.

    Standard output is pointed at /dev/null so that the interpreter's last flush of what is
    still buffered does not fail again with a traceback.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_OK


def redact_database_error(exc: SQLAlchemyError) -> str:
    """The first line of a database error, without SQLAlchemy's statement and link."""
    message = str(getattr(exc, "orig", None) or exc).strip()
    return (message.splitlines() or [type(exc).__name__])[0]


if __name__ == "__main__":
    sys.exit(main())
