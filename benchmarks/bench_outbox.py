"""Outbox benchmark: what exactly-once sending costs, and what the daemon's idle `outbox` job
costs every minute, on SQLite and PostgreSQL.

1. Delivery: N pending messages sent through the claim protocol (claim in a write transaction,
   send, record) to a sender that accepts at once — milliseconds of wall and CPU per message,
   the bookkeeping alone.
2. The outbox job with nothing new and nothing due — as the daemon runs it every minute with
   nothing flagged (the matches' version checked, nothing built, nothing due), and as a full
   build pass (every 10 minutes, or after a flag) — over a database holding the
   matches of the volume check's weeks (default 15 days of 600 matched articles a day, four
   immediate digests of two rules, each to two addresses and a channel): the build checks of
   every recipient and the volume check of every digest's rules — wall and CPU per run (best
   of five), what the daemon spends every minute.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.config import Config, load_config  # noqa: E402
from monitor.digest.run import retry_policy, run_outbox, send_pending  # noqa: E402
from storage.records import NewArticle, NewMessage  # noqa: E402
from storage.repository import Repository  # noqa: E402
from tests.test_digests import RULES, SOURCES  # noqa: E402

RULE_IDS = ["gcc-egov-committee", "egov-events"]
SETTINGS = """
smtp: {host: 127.0.0.1, port: 9, starttls: false, from: "raqib <raqib@example.org>"}
digests:
""" + "".join(f"""
  - id: d{n}
    rules: [gcc-egov-committee, egov-events]
    recipients: [a{n}@example.org, b{n}@example.org]
    channels: [{{url_env: RAQIB_BENCH_HOOK{n}}}]
    schedule: immediate
""" for n in range(4))


class Accepting:
    """A mail sender that accepts every message at once."""

    def send(self, message) -> None:
        pass


def config_in(directory: Path) -> Config:
    directory.mkdir()
    (directory / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    (directory / "rules.yaml").write_text(RULES, encoding="utf-8")
    (directory / "settings.yaml").write_text(SETTINGS, encoding="utf-8")
    return load_config(directory)


def seed_matches(repo: Repository, days: int, per_day: int, now: datetime) -> None:
    for day in range(days):
        for n in range(per_day):
            at = now - timedelta(days=day, minutes=n)
            url = f"https://spa.example/{day}/{n}"
            saved = repo.articles.save(NewArticle(
                source="spa", url=url, fetched_url=url, title=f"اجتماع {day} {n}", text="نص",
                language="ar", content_fingerprint=hashlib.sha256(url.encode()).hexdigest(),
                fetched_at=at, published_at=at))
            repo.articles.save_matches(saved.article_id,
                                       [{"rule_id": RULE_IDS[n % 2], "snippets": []}])


def timed(work) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def mark_all_sent(config: Config, repo: Repository, now: datetime) -> None:
    """Every recipient and channel has had every match: one message each, accepted."""
    for digest in config.settings.digests:
        for recipient in [*digest.recipients, *(c.url_env for c in digest.channels)]:
            repo.outbox.build(digest.id, recipient, digest.rules,
                              lambda _articles, d=digest, r=recipient: [NewMessage(
                                  d.id, r, f"<{uuid.uuid4().hex}@x>", "s", "t", stories=0)],
                              created_at=now, limit=None)
    for message, _count in repo.outbox.pending():
        repo.outbox.deliver(message.id, lambda _entry: None, policy=retry_policy(config))


def bench(url: str, directory: Path, messages: int, days: int, per_day: int) -> dict:
    config = config_in(directory / "config")
    repo = Repository(url)
    now = datetime.now(UTC)
    repo.outbox.add([NewMessage("d0", "a0@example.org", f"<{uuid.uuid4().hex}@x>", "s", "t",
                                kind="volume") for _ in range(messages)])
    wall, cpu = timed(lambda: send_pending(config, repo, Accepting()))
    assert not repo.outbox.pending()
    result = {"deliver_ms": 1000 * wall / messages, "deliver_cpu_ms": 1000 * cpu / messages}
    seed_matches(repo, days, per_day, now - timedelta(hours=1))
    mark_all_sent(config, repo, now)
    runs = [timed(lambda: run_outbox(config, repo, now=now)) for _ in range(5)]
    assert not repo.outbox.pending()
    result["build_ms"] = 1000 * min(wall for wall, _ in runs)
    result["build_cpu_ms"] = 1000 * min(cpu for _, cpu in runs)

    def idle() -> None:  # what the daemon does in a minute with nothing flagged
        repo.articles.matches_version()
        run_outbox(config, repo, now=now, build=False)
    runs = [timed(idle) for _ in range(5)]
    result["idle_ms"] = 1000 * min(wall for wall, _ in runs)
    result["idle_cpu_ms"] = 1000 * min(cpu for _, cpu in runs)
    result["matches"] = repo.articles.count()
    repo.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--days", type=int, default=15)
    parser.add_argument("--per-day", type=int, default=600)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    print("| database | delivery ms/message (CPU) | outbox job, nothing flagged: ms (CPU) | "
          "outbox job, full build pass: ms (CPU) | articles |")
    print("|---|---|---|---|---|")
    for database in args.databases.split(","):
        with tempfile.TemporaryDirectory() as scratch:
            if database == "sqlite":
                url, drop = f"sqlite:///{scratch}/bench.db", None
            else:
                from benchmarks.bench_digest_faults import postgres_database

                url, drop = postgres_database()
            try:
                r = bench(url, Path(scratch), args.messages, args.days, args.per_day)
            finally:
                if drop:
                    drop()
        print(f"| {database} | {r['deliver_ms']:.1f} ({r['deliver_cpu_ms']:.1f}) | "
              f"{r['idle_ms']:.1f} ({r['idle_cpu_ms']:.1f}) | "
              f"{r['build_ms']:.0f} ({r['build_cpu_ms']:.0f}) | {r['matches']:,} |", flush=True)


if __name__ == "__main__":
    main()
