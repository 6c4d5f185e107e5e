"""Values longer than the schema keeps (issue 21 point 6), on SQLite and on PostgreSQL — which,
unlike SQLite, refuses them: an over-long rel=canonical or link is a counted, recorded refusal
before storage, and an over-long ETag is not kept (the validators that fit are)."""

from __future__ import annotations

import pytest

from storage.records import Validators
from storage.repository import Repository
from tests.fixture_web import write_config
from tests.hostile import sites
from tests.hostile.conftest import CRAWL, run_measured


def test_validators_that_fit_are_kept_and_the_others_dropped(database_url):
    repository = Repository(database_url)
    feed = "https://example.test/rss.xml"
    try:
        repository.crawl.save_validators(feed, Validators('"' + "e" * 600 + '"',
                                                          "Mon, 03 Jun 2024 08:00:00 GMT"))
        assert repository.crawl.validators(feed) == Validators(None, "Mon, 03 Jun 2024 08:00:00 GMT")
        repository.crawl.save_validators(feed, Validators('"short"', "x" * 200))
        assert repository.crawl.validators(feed) == Validators('"short"', None)
        # Neither fits: none kept, and none of the older ones either.
        repository.crawl.save_validators(feed, Validators("e" * 600, "x" * 200))
        assert repository.crawl.validators(feed) is None
        # An address too long to be a key is neither recorded nor an error.
        long_url = "https://example.test/" + "a" * 3000
        repository.crawl.save_validators(long_url, Validators('"v"', None))
        repository.crawl.record_outcome(long_url, "s", "failed", error="x")
        assert repository.crawl.queue([long_url, feed + "?q"], "s") == 1
        assert repository.crawl.validators(long_url) is None
        assert [row.url for row in repository.crawl.seen_urls()] == [feed + "?q"]
    finally:
        repository.close()


@pytest.mark.postgres
def test_a_crawl_of_over_long_values_on_postgresql_refuses_and_records_them(
        hostile_web, postgres_url, tmp_path):
    attacks = {"longurls": hostile_web.attacks["longurls"]}
    config_dir = write_config(tmp_path / "config", sites.sources_yaml(attacks), postgres_url,
                              **CRAWL)
    for _ in range(2):  # the second crawl reads the feed again: its ETag was not kept
        run = run_measured("--config-dir", str(config_dir), "-v", "crawl",
                           env=hostile_web.environment())
        assert run.returncode == 0, run.stderr[-3000:]
        assert "Traceback" not in run.stderr and "DataError" not in run.stderr
    repository = Repository(postgres_url, create=False)
    try:
        runs = repository.runs.recent("longurls")
        # The second crawl's only article download is the over-long canonical again, failed
        # again: a source whose every article failed is a warning (issue 25 point 3).
        assert [run.status for run in runs] == ["warning", "ok"]
        assert runs[0].counts["url_too_long"] == 2 and runs[0].counts.get("not_modified", 0) == 0
        paths = {a.url.split(f":{hostile_web.port}", 1)[-1] for a in repository.articles.find()}
        assert paths == {"/news/ok.html"}
        seen = {row.url.split(f":{hostile_web.port}", 1)[-1]: row
                for row in repository.crawl.seen_urls()}
        assert seen["/news/canonical.html"].outcome == "failed"
        assert seen["/news/canonical.html"].last_error == "URL too long"
        assert seen["/news/canonical.html"].attempts == 2
        assert repository.crawl.validators(hostile_web.url("longurls.test", "/rss.xml")) is None
    finally:
        repository.close()
