"""The web view's reads (storage.browse) against what they must equal: listings read source by
source give what one walk gives, per-day counts are every article's day in the reader's zone,
failures in a row are counted past the first few runs. SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import true

import storage.browse as browse
from storage.browse import Filters
from storage.models import CrawlRun
from storage.records import NewArticle
from storage.repository import Repository
from tests.conftest import _postgres_database

SOURCES = ("spa", "wam", "qna", "kuna", "bna")
RIYADH = timedelta(hours=3)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def repository(request, tmp_path):
    urls = (iter([f"sqlite:///{tmp_path}/raqib.db"]) if request.param == "sqlite"
            else _postgres_database())
    repository = Repository(next(urls))
    yield repository
    repository.close()
    for _rest in urls:  # drops the PostgreSQL database
        pass


def _store(repository: Repository, number: int, source: str, fetched: datetime,
           published: datetime | None, language: str = "ar") -> int:
    text = f"اجتماع لجنة الحكومة الإلكترونية رقم {number} في مجلس التعاون"
    result = repository.articles.save(NewArticle(
        source=source, url=f"https://{source}.example/{number}",
        fetched_url=f"https://{source}.example/{number}", title=f"خبر رقم {number}", text=text,
        language=language, content_fingerprint=hashlib.sha256(text.encode()).hexdigest(),
        fetched_at=fetched, published_at=published))
    return result.article_id


def _listing(repository: Repository, filters: Filters, pages: int = 6) -> list[list[int]]:
    found, before = [], None
    for _ in range(pages):
        page = repository.browse.inbox(filters, before=before, limit=7)
        found.append([sorted(a.id for a in copies)[0] for copies in page.stories])
        before = page.next_before
        if before is None:
            break
    return found


def _flagged_rows(repository: Repository, filters: Filters, batch: int) -> list[int]:
    with repository.db.session() as session:
        return [row.id for row in repository.browse._flagged_rows(session, filters, true(),
                                                                  batch)]


def test_a_few_sources_read_one_by_one_list_what_one_walk_lists(repository, monkeypatch):
    rng = random.Random(5)
    now = datetime.now(UTC).replace(microsecond=0)
    for number in range(160):
        moment = now - timedelta(minutes=rng.randrange(0, 20_000))
        published = None if number % 5 == 0 else moment - timedelta(minutes=rng.randrange(90))
        if number % 9 == 0:  # ties on the time: the id decides
            published = now - timedelta(days=2)
        # one busy source, so that its rows are read further than the first few
        source = SOURCES[0] if number % 5 else rng.choice(SOURCES[1:])
        article = _store(repository, number, source, moment, published)
        if number % 3:
            rule = "gcc-egov-committee" if number % 4 else "gcc-egov-authorities"
            repository.articles.save_matches(article, [{"rule_id": rule, "clauses": [],
                                                        "snippets": []}])
    for sources in (SOURCES[:2], SOURCES[1:], SOURCES):
        for rules in (None, ("gcc-egov-authorities",)):
            filters = Filters(sources=sources, rules=rules)
            merged = _listing(repository, filters)
            rows = [_flagged_rows(repository, filters, batch) for batch in (40, 100)]
            monkeypatch.setattr(browse, "_MERGED_SOURCES", 0)  # one walk of all articles
            walked = _listing(repository, filters)
            assert rows == [_flagged_rows(repository, filters, batch) for batch in (40, 100)]
            monkeypatch.undo()
            assert merged == walked
            if rules is None and SOURCES[0] in sources:  # past the busy source's first reads
                assert sum(map(len, merged)) >= 40


def test_articles_per_day_in_the_readers_zone_and_todays_at_once(repository):
    now = datetime.now(UTC).replace(microsecond=0)
    local_midnight = (now + RIYADH).replace(hour=0, minute=0, second=0) - RIYADH
    moments = {"spa": [local_midnight - timedelta(seconds=1),  # yesterday, in Riyadh
                       local_midnight, local_midnight - timedelta(days=3, hours=5),
                       local_midnight - timedelta(days=29, hours=-1),  # the chart's first day
                       local_midnight - timedelta(days=29, seconds=1)],  # before the chart
               "wam": [local_midnight - timedelta(days=1, hours=2)] * 3}
    number = 0
    for source, when in moments.items():
        for moment in when:
            if moment <= now:
                _store(repository, number, source, moment, moment)
                number += 1
    expected = {source: [0] * 30 for source in SOURCES}
    for source, when in moments.items():
        for moment in when:
            back = (local_midnight - moment).total_seconds() / 86400
            at = 29 if moment >= local_midnight else 28 - int(back)
            if moment <= now and 0 <= at:
                expected[source][at] += 1
    activity = repository.browse.source_activity(SOURCES, days=30, now=now, utc_offset=RIYADH)
    assert {source: activity[source].per_day for source in SOURCES} == expected
    # The days before today are kept for a while; an article stored today counts at once.
    _store(repository, number, "qna", now, now)
    expected["qna"][29] += 1
    activity = repository.browse.source_activity(SOURCES, days=30, now=now, utc_offset=RIYADH)
    assert {source: activity[source].per_day for source in SOURCES} == expected


def test_failures_in_a_row_are_counted_past_the_first_runs(repository):
    now = datetime.now(UTC).replace(microsecond=0)
    outcomes = {"spa": ["failed"] * 7 + ["ok", "failed"], "wam": ["running", "failed", "ok"],
                "qna": ["ok"] + ["failed"] * 5, "kuna": ["failed"] * 25,
                "bna": ["warning", "failed", "warning", "ok"]}
    with repository.db.session() as session:
        for source, statuses in outcomes.items():
            for back, status in enumerate(statuses):  # newest first
                started = now - timedelta(hours=6 * back)
                session.add(CrawlRun(source=source, started_at=started, status=status,
                                     finished_at=started + timedelta(seconds=30),
                                     error=f"HTTP 503 ({back})" if status == "failed" else None,
                                     counts={}))
    activity = repository.browse.source_activity(SOURCES, days=30, now=now, utc_offset=RIYADH)
    assert activity["spa"].consecutive_failures == 7
    assert activity["spa"].last_error == "HTTP 503 (0)"
    assert (activity["wam"].consecutive_failures, activity["wam"].running) == (1, True)
    assert activity["qna"].consecutive_failures == 0 and activity["qna"].last_status == "ok"
    assert activity["kuna"].consecutive_failures == 20  # counted up to 20
    assert (activity["bna"].consecutive_failures, activity["bna"].consecutive_warnings) == (3, 2)
    assert activity["spa"].consecutive_warnings == 0
