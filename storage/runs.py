"""Part of `Repository`: crawl runs and source health."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update

from storage.models import Article, CrawlRun, SourceHealth, utcnow


@dataclass
class RunSummary:
    """One source's crawl history, as `raqib sources list` shows it."""

    source: str
    last_run_at: datetime | None = None
    last_status: str | None = None
    last_new_article_at: datetime | None = None
    consecutive_failures: int = 0
    articles: int = 0
    last_error: str | None = None
    first_run_at: datetime | None = None


class CrawlRuns:
    """Each crawl of a source as a run row, and the health state the daemon gives a source."""

    def start_run(self, source: str) -> int:
        with self.session() as session:
            run = CrawlRun(source=source, started_at=utcnow(), status="running", counts={})
            session.add(run)
            session.flush()
            return run.id

    def finish_run(self, run_id: int, status: str, counts: dict, error: str | None = None) -> None:
        with self.session() as session:
            session.execute(update(CrawlRun).where(CrawlRun.id == run_id).values(
                status=status, counts=counts, error=error, finished_at=utcnow()))

    def abandon_running(self, reason: str, source: str | None = None) -> int:
        """Mark runs left `running` by a dead or killed process as failed; returns how many."""
        query = update(CrawlRun).where(CrawlRun.status == "running")
        if source:
            query = query.where(CrawlRun.source == source)
        with self.session() as session:
            result = session.execute(query.values(status="failed", error=reason,
                                                  finished_at=utcnow()))
            return result.rowcount or 0

    def record_failed_run(self, source: str, started_at: datetime, error: str) -> None:
        """A crawl that died before it could record itself (it never started, or crashed)."""
        with self.session() as session:
            session.add(CrawlRun(source=source, started_at=started_at, finished_at=utcnow(),
                                 status="failed", counts={}, error=error))

    def recent_runs(self, source: str, limit: int = 20) -> list[CrawlRun]:
        with self.session() as session:
            return list(session.scalars(select(CrawlRun).where(CrawlRun.source == source)
                                        .order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc())
                                        .limit(limit)))

    def run_summary(self, source: str) -> RunSummary:
        """Last run, last new article and consecutive failures of a source."""
        runs = self.recent_runs(source, limit=50)
        summary = RunSummary(source)
        finished = [run for run in runs if run.status != "running"]
        if runs:
            summary.last_run_at, summary.last_status = runs[0].started_at, runs[0].status
        for run in finished:
            if run.status == "ok":
                break
            summary.consecutive_failures += 1
            summary.last_error = summary.last_error or run.error
        with self.session() as session:
            summary.first_run_at = session.scalar(
                select(func.min(CrawlRun.started_at)).where(CrawlRun.source == source))
            summary.last_new_article_at = session.scalar(
                select(func.max(Article.fetched_at)).where(Article.source == source))
            summary.articles = session.scalar(
                select(func.count(Article.id)).where(Article.source == source)) or 0
        return summary

    def health_state(self, source: str) -> SourceHealth | None:
        with self.session() as session:
            return session.get(SourceHealth, source)

    def set_health_state(self, source: str, state: str, problem: str | None) -> None:
        self._upsert(SourceHealth, source=source, state=state, problem=problem,
                     changed_at=utcnow())
