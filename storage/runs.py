"""Room `repo.runs`: crawl runs of each source, and the health state the daemon gives a source."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update

from storage.db import Database
from storage.models import Article, CrawlRun, RuleMatchRow, SeenUrl, SourceHealth, utcnow
from storage.records import HealthState, RunRecord, RunSummary

# A run that ended well: `ok` (a crawl), `unchanged` (the daemon's poll gate found every
# discovery page not modified and started no crawl). `running` and `interrupted` (stopped with
# the daemon, not the source's fault) say nothing of a source's health; anything else failed.
HEALTHY_STATUSES = ("ok", "unchanged")
NEUTRAL_STATUSES = ("running", "interrupted")


def _record(run: CrawlRun) -> RunRecord:
    return RunRecord(run.id, run.source, run.started_at, run.finished_at, run.status,
                     dict(run.counts or {}), run.error)


class CrawlRuns:
    """Each crawl of a source as a run row, and the alert state of each source."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def start(self, source: str) -> int:
        """Record a crawl of `source` as running; returns the run's id."""
        with self._db.session() as session:
            run = CrawlRun(source=source, started_at=utcnow(), status="running", counts={})
            session.add(run)
            session.flush()
            return run.id

    def finish(self, run_id: int, status: str, counts: dict, error: str | None = None) -> None:
        """Record how a running crawl ended (`ok` or `failed`) and its counts."""
        with self._db.session() as session:
            session.execute(update(CrawlRun).where(CrawlRun.id == run_id).values(
                status=status, counts=counts, error=error, finished_at=utcnow()))

    def abandon_running(self, reason: str, source: str | None = None) -> int:
        """Mark runs left `running` by a dead or killed process as failed; returns how many."""
        query = update(CrawlRun).where(CrawlRun.status == "running")
        if source:
            query = query.where(CrawlRun.source == source)
        with self._db.session() as session:
            result = session.execute(query.values(status="failed", error=reason,
                                                  finished_at=utcnow()))
            return result.rowcount or 0

    def close_running(self, source: str, since: datetime, status: str, counts: dict,
                      error: str, closing: tuple[str, ...] = ("running",)) -> int:
        """Record how the runs of a source left `running` (or another of `closing`) since
        `since` ended, when their crawl was stopped before it could say: status, counts and
        why. Returns how many."""
        query = update(CrawlRun).where(CrawlRun.status.in_(closing), CrawlRun.source == source,
                                       CrawlRun.started_at >= since)
        with self._db.session() as session:
            result = session.execute(query.values(status=status, counts=counts, error=error,
                                                  finished_at=utcnow()))
            return result.rowcount or 0

    def stored_since(self, source: str, since: datetime) -> dict[str, int]:
        """What the database holds of a source's crawl since `since`: articles stored (`new`)
        and flagged, URLs settled as duplicates or not articles, downloads failed."""
        with self._db.session() as session:
            new = session.scalar(select(func.count(Article.id)).where(
                Article.source == source, Article.fetched_at >= since)) or 0
            flagged = session.scalar(select(func.count(func.distinct(RuleMatchRow.article_id)))
                                     .join(Article, Article.id == RuleMatchRow.article_id)
                                     .where(Article.source == source,
                                            Article.fetched_at >= since)) or 0
            outcomes = dict(session.execute(
                select(SeenUrl.outcome, func.count()).where(
                    SeenUrl.source == source, SeenUrl.last_seen >= since,
                    SeenUrl.outcome.in_(("duplicate", "not_article", "failed", "gone")))
                .group_by(SeenUrl.outcome)).all())
        return {"new": new, "duplicate": outcomes.get("duplicate", 0),
                "not_article": outcomes.get("not_article", 0),
                "failed": outcomes.get("failed", 0) + outcomes.get("gone", 0), "flagged": flagged}

    def record_failed(self, source: str, started_at: datetime, error: str) -> None:
        """A crawl that died before it could record itself (it never started, or crashed)."""
        with self._db.session() as session:
            session.add(CrawlRun(source=source, started_at=started_at, finished_at=utcnow(),
                                 status="failed", counts={}, error=error))

    def record(self, source: str, started_at: datetime, finished_at: datetime | None,
               status: str, counts: dict | None = None, error: str | None = None) -> int:
        """A run as given, with its own times (seeding a database: tests, benchmarks); its id."""
        with self._db.session() as session:
            run = CrawlRun(source=source, started_at=started_at, finished_at=finished_at,
                           status=status, counts=counts or {}, error=error)
            session.add(run)
            session.flush()
            return run.id

    def recent(self, source: str, limit: int = 20) -> list[RunRecord]:
        """A source's runs, newest first."""
        with self._db.session() as session:
            return [_record(run) for run in session.scalars(
                select(CrawlRun).where(CrawlRun.source == source)
                .order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc()).limit(limit))]

    def summary(self, source: str) -> RunSummary:
        """Last run, last new article and consecutive failures of a source."""
        runs = self.recent(source, limit=50)
        summary = RunSummary(source)
        finished = [run for run in runs if run.status not in NEUTRAL_STATUSES]
        if runs:
            summary.last_run_at, summary.last_status = runs[0].started_at, runs[0].status
        for run in finished:
            if run.status in HEALTHY_STATUSES:
                break
            summary.consecutive_failures += 1
            summary.consecutive_warnings += run.status == "warning"
            summary.last_error = summary.last_error or run.error
        with self._db.session() as session:
            summary.first_run_at = session.scalar(
                select(func.min(CrawlRun.started_at)).where(CrawlRun.source == source))
            summary.last_new_article_at = session.scalar(
                select(func.max(Article.fetched_at)).where(Article.source == source))
            summary.articles = session.scalar(
                select(func.count(Article.id)).where(Article.source == source)) or 0
        return summary

    def health_state(self, source: str) -> HealthState | None:
        """The alert state last recorded for a source (None: never recorded, i.e. ok)."""
        with self._db.session() as session:
            row = session.get(SourceHealth, source)
            return HealthState(row.source, row.state, row.problem, row.changed_at) if row else None

    def set_health_state(self, source: str, state: str, problem: str | None) -> None:
        """Record a source's new alert state."""
        self._db.upsert(SourceHealth, source=source, state=state, problem=problem,
                        changed_at=utcnow())
