"""Digest fault probe: `raqib digest send` killed, raced and cut off, then every recipient's mail
and channel messages counted. Prints the README's reliability rows (fault, runs, lost,
duplicated) for SQLite and PostgreSQL.

Each run: a fresh database with five flagged articles (three stories' worth of copies), three
e-mail recipients and one chat channel (a JSON webhook) on an immediate digest, an SMTP sink and
a webhook receiver on 127.0.0.1 — then the fault, then `raqib digest send` again until nothing
is pending. "Lost" counts messages never received and articles in no message; "duplicated"
counts copies beyond the first, and says when they are the documented window (killed after the
service accepted, before raqib recorded it: the same message again).
"""

from __future__ import annotations

import argparse
import random
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest_smtp import SmtpServer, free_port  # noqa: E402
from tests.conftest_webhook import WebhookReceiver  # noqa: E402
from tests.test_digest_faults import Setup  # noqa: E402

CLAIM_TIMEOUT = 2.0  # outbox.claim_timeout of the probe's configuration (Setup's default)


def finish(setup: Setup, rounds: int = 4) -> None:
    """`digest send` until nothing is pending (a dead sender's claim lapses in between)."""
    for _ in range(rounds):
        if not setup.repo.outbox.pending():
            return
        time.sleep(CLAIM_TIMEOUT + 0.5)
        setup.send()


def kill(point: str) -> Callable[[Setup], None]:
    def fault(setup: Setup) -> None:
        assert setup.send(point).returncode == -signal.SIGKILL, point
    return fault


def random_kill(setup: Setup) -> None:
    setup.smtp.handler.delay = setup.webhook.delay = 0.2
    process = setup.start_sending()
    time.sleep(random.uniform(2.0, 6.0))  # start-up is ~2-3 s here: kills land all along
    process.send_signal(signal.SIGKILL)
    process.communicate()
    setup.smtp.handler.delay = setup.webhook.delay = 0.0


def two_senders(setup: Setup) -> None:
    setup.smtp.handler.delay = setup.webhook.delay = 0.3
    processes = [setup.start_sending(), setup.start_sending()]
    for process in processes:
        process.communicate(timeout=300)


def outage(setup: Setup) -> None:
    setup.smtp.stop()
    setup.webhook.stop()
    setup.send()
    setup.smtp.start()
    setup.webhook.start()


FAULTS: list[tuple[str, Callable[[Setup], None], bool]] = [
    # (name, fault, whether one duplicate of the same message is the documented window)
    ("kill -9 between building and sending", kill("digest:after-build"), False),
    ("kill -9 after claiming, before sending", kill("digest:after-claim"), False),
    ("kill -9 after SMTP accepted, before recording", kill("digest:after-send:1"), True),
    ("kill -9 after the webhook accepted, before recording", kill("digest:after-send:4"), True),
    ("kill -9 at a random moment of `digest send`", random_kill, True),
    ("two `digest send` at once (slow SMTP and webhook)", two_senders, False),
    ("SMTP and webhook down, then up", outage, False),
]


def postgres_database() -> tuple[str, Callable[[], None]]:
    import psycopg

    name = f"raqib_probe_{uuid.uuid4().hex[:10]}"
    admin = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", drop


def probe(database: str, fault: Callable[[Setup], None]) -> tuple[int, int, dict]:
    with tempfile.TemporaryDirectory() as scratch:
        if database == "sqlite":
            url, drop = f"sqlite:///{scratch}/probe.db", (lambda: None)
        else:
            url, drop = postgres_database()
        smtp, webhook = SmtpServer(free_port()), WebhookReceiver(free_port())
        smtp.start()
        webhook.start()
        setup = Setup(Path(scratch), url, smtp, webhook)
        try:
            fault(setup)
            setup.send()
            finish(setup)
            return setup.tally()
        finally:
            setup.repo.close()
            smtp.stop()
            webhook.stop()
            drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="runs of each fault per database")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--seed", type=int, default=20)
    args = parser.parse_args()
    random.seed(args.seed)
    print("| fault | database | runs | messages | lost | duplicated |")
    print("|---|---|---|---|---|---|")
    for name, fault, window in FAULTS:
        for database in args.databases.split(","):
            messages = lost = copies = 0
            for _ in range(args.runs):
                expected, missing, extra = probe(database, fault)
                messages, lost = messages + expected, lost + missing
                copies += sum(extra.values())
            note = (f"{copies} (the documented window: the same message again)"
                    if copies and window else str(copies))
            print(f"| {name} | {database} | {args.runs} | {messages} | {lost} | {note} |",
                  flush=True)


if __name__ == "__main__":
    main()
