"""`raqib worker` and `raqib db`: distributed crawl workers and database maintenance."""

from __future__ import annotations

import argparse
import logging

from monitor.commands import EXIT_OK, err, open_repository, parse_count
from monitor.config import Config


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register this group's sub-commands on `raqib`'s command parser."""
    worker = commands.add_parser(
        "worker", help="a distributed crawl worker (Celery), for more than one machine",
        description="Run crawl jobs from settings.yaml's broker_url (env RAQIB_BROKER_URL) until "
                    "SIGTERM: `raqib run` with the same broker enqueues one job per source due, "
                    "any worker runs it (each crawl in a child process). Needs PostgreSQL when "
                    "workers run on more than one machine.")
    worker.add_argument("--concurrency", type=parse_count, metavar="N",
                        help="crawls at once (default, or 0: settings.yaml's "
                             "daemon.max_parallel_crawls)")
    worker.set_defaults(handler=cmd_worker)

    database = commands.add_parser(
        "db", help="database maintenance: migrate, reindex",
        description="The database raqib uses (--db, RAQIB_DATABASE_URL or settings.yaml's "
                    "database_url).").add_subparsers(
        dest="db_command", metavar="SUBCOMMAND", required=True)
    database.add_parser(
        "upgrade", help="apply the migrations (Alembic), or create the schema",
        description="Bring the database to this raqib's schema: create it in an empty "
                    "database (a new SQLite file included), or apply the migrations of a newer "
                    "raqib. A database newer than this raqib, or with tables that are not "
                    "raqib's, is refused and left untouched.").set_defaults(
        handler=cmd_db_upgrade)
    database.add_parser(
        "reindex", help="rebuild the full-text index of stored articles (for `raqib web`)",
        description="Empty and rebuild the search index from every stored article, in one "
                    "transaction: needed only after an upgrade that changes how Arabic text is "
                    "normalised (the release notes say so). Searches see the old index until it "
                    "is done.").set_defaults(handler=cmd_db_reindex)


def cmd_worker(args: argparse.Namespace, config: Config) -> int:
    from monitor.daemon.workers import run_worker
    from storage.db import engine_from_settings
    from storage.repository import Repository

    # The database first, as `raqib run` does: a schema this raqib cannot use (older, newer,
    # not raqib's) is one line and exit 2 now, not a failure in every crawl job taken.
    Repository(engine_from_settings(config.settings.database_url,
                                    config.settings.database)).close()

    if args.verbose == 0:  # a worker's log says which crawl it took and how it ended
        logging.getLogger("monitor").setLevel(logging.INFO)
    return run_worker(config, concurrency=args.concurrency)


def cmd_db_upgrade(args: argparse.Namespace, config: Config) -> int:
    from storage import schema
    from storage.db import display_url, engine_from_settings

    engine = engine_from_settings(config.settings.database_url, config.settings.database)
    try:
        before = schema.current_revision(engine)
        revision = schema.upgrade_to_head(engine)
    finally:
        engine.dispose()
    note = "already up to date" if before == revision else f"was {before or 'empty'}"
    print(f"database at revision {revision} ({note}): {display_url(engine)}")
    return EXIT_OK


def cmd_db_reindex(args: argparse.Namespace, config: Config) -> int:
    from storage import search_index

    repository = open_repository(config)
    with repository.engine.begin() as connection:
        search_index.clear(connection)
        done = search_index.rebuild(connection, progress=lambda n: n % 10_000 == 0 and err(
            f"indexed {n:,} articles…"))
    print(f"search index rebuilt: {done:,} articles")
    return EXIT_OK
