"""Crawls under faults (issue 20): killed with SIGKILL at chosen points (monitor.faults), run twice
at once, on a full disk — and then counted: every text stored exactly once, none missing, the
rules' matches stored, no run left `running`. Few repetitions here; many in
benchmarks/bench_faults.py."""

from __future__ import annotations

import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from storage.repository import Repository
from tests.conftest import ROOT
from tests.faults_web import RULES, NewsSite, OutageProxy, crawl, many_articles, tally

ARTICLES = 30


@pytest.fixture
def site():
    news = NewsSite(many_articles(ARTICLES))
    yield news
    news.stop()


def _config(site: NewsSite, tmp_path, database_url: str, **crawl_settings):
    # A generous timeout: on a loaded machine a timed-out page is a (recorded) failure, not
    # what these tests count.
    return site.config(tmp_path / "config", database_url, rules=RULES, retry_times=0,
                       extraction_workers=0, **{"download_timeout": 30, **crawl_settings})


def _killed_then_crawled_again(site, tmp_path, database_url, fault):
    config_dir = _config(site, tmp_path, database_url)
    killed = crawl(config_dir, fault=fault)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    before = tally(database_url, site, config_dir)
    assert before.open_runs == 1  # the killed crawl's run, left `running`
    again = crawl(config_dir)
    assert again.returncode == 0, again.stderr[-3000:]
    after = tally(database_url, site, config_dir)
    repository = Repository(database_url, create=False)
    try:
        runs = repository.runs.recent("waha")
    finally:
        repository.close()
    # The next crawl of the source closed the killed crawl's run, with why.
    assert [run.status for run in runs] == ["ok", "failed"]
    assert "killed" in runs[1].error
    return before, after


@pytest.mark.parametrize("fault", ["crawl:mid-discovery", "db:before-commit:12",
                                   "crawl:after-article-commit:7"])
def test_a_crawl_killed_at_a_fault_point_loses_and_duplicates_nothing(site, tmp_path, fault):
    before, after = _killed_then_crawled_again(site, tmp_path, f"sqlite:///{tmp_path}/raqib.db",
                                               fault)
    assert before.stored < ARTICLES
    assert (after.stored, after.lost, after.duplicated, after.open_runs) == (ARTICLES, 0, 0, 0)
    assert after.matches_missing == 0  # an article and its matches: one transaction
    # No article was downloaded more than twice (once by the killed crawl, once after).
    assert max(site.fetched().values()) <= 2


# Killed during an article's commit, or inside its transaction between the article and its
# matches (issue 20 point 3): no match is lost, the article and its matches go together.
@pytest.mark.parametrize("fault", ["db:before-commit:12", "store:after-article:7"])
def test_a_kill_between_an_article_and_its_matches_loses_no_match(site, tmp_path, fault):
    _, after = _killed_then_crawled_again(site, tmp_path, f"sqlite:///{tmp_path}/raqib.db", fault)
    assert (after.stored, after.lost, after.duplicated, after.matches_missing) == \
        (ARTICLES, 0, 0, 0)


@pytest.mark.postgres
def test_a_crawl_killed_during_a_commit_on_postgresql_loses_nothing(site, tmp_path,
                                                                    postgres_url):
    _, after = _killed_then_crawled_again(site, tmp_path, postgres_url, "db:before-commit:12")
    assert (after.stored, after.lost, after.duplicated, after.open_runs) == (ARTICLES, 0, 0, 0)


def _two_crawls_at_once(config_dir):
    first = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "--config-dir", str(config_dir), "crawl"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env=_env())
    second = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "--config-dir", str(config_dir), "crawl"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env=_env())
    done = [(p.wait(300), *p.communicate()) for p in (first, second)]
    return [(returncode, other.pid, stderr)
            for (returncode, _, stderr), other in zip(done, (second, first), strict=True)]


def _env() -> dict:
    import os

    return {**{k: v for k, v in os.environ.items() if k != "RAQIB_FAULT"},
            "PYTHONPATH": str(ROOT)}


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgresql",
                                                             marks=pytest.mark.postgres)])
def test_two_crawls_at_once_store_and_download_each_article_once(site, tmp_path, database,
                                                                 request):
    database_url = (f"sqlite:///{tmp_path}/new.db" if database == "sqlite"
                    else request.getfixturevalue("postgres_url"))
    config_dir = _config(site, tmp_path, database_url)
    done = _two_crawls_at_once(config_dir)  # on a new database: both create the schema
    for returncode, other, stderr in done:
        assert "already exists" not in stderr and "Traceback" not in stderr, stderr[-3000:]
        # Each ran, or said plainly which crawl ran instead (and exited 1: not crawled).
        assert returncode == 0 or (returncode == 1 and f"another crawl of waha is running (pid "
                                   f"{other} on host " in stderr), stderr[-3000:]
    after = tally(database_url, site, config_dir)
    assert after.intact and after.stored == ARTICLES, after
    assert set(site.fetched().values()) == {1}  # no article downloaded twice


def test_a_full_disk_fails_the_source_loudly(site, tmp_path):
    database_url = f"sqlite:///{tmp_path}/raqib.db"
    config_dir = _config(site, tmp_path, database_url)
    Repository(database_url).close()  # the schema, then room for only a few articles
    limit = (tmp_path / "raqib.db").stat().st_size + 120_000

    def small_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail (EFBIG)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "--config-dir", str(config_dir), "crawl"],
        capture_output=True, text=True, cwd=ROOT, env=_env(), preexec_fn=small_disk,
        timeout=300)
    assert done.returncode == 1, done.stderr[-3000:]
    assert "waha: FAILED: " in done.stderr and "storage error(s), pages not stored" in done.stderr
    repository = Repository(database_url, create=False)
    try:
        run = repository.runs.recent("waha", limit=1)[0]
        stored = repository.articles.count("waha")
        # No validators kept: the next crawl reads the feed in full, not a 304.
        validators = repository.crawl.validators(site.site.url("/rss.xml"))
    finally:
        repository.close()
    assert stored < ARTICLES and validators is None
    if run.status == "running":  # the disk had no room for the run's own record either
        assert "the run could not be recorded" in done.stderr
    else:
        assert run.status == "failed" and "storage error" in run.error
        # Every fetched page is accounted for: stored, or counted as a storage error.
        assert run.counts["new"] + run.counts["storage_errors"] >= run.counts["fetched"] - \
            run.counts["duplicate"] - run.counts["not_article"] - run.counts["failed"]
    # With room again, the next crawl stores the rest, each once.
    again = crawl(config_dir)
    assert again.returncode == 0, again.stderr[-3000:]
    after = tally(database_url, site, config_dir)
    assert (after.stored, after.lost, after.duplicated, after.open_runs) == (ARTICLES, 0, 0, 0)


def test_a_second_daemon_on_one_sqlite_file_refuses_naming_the_first(tmp_path):
    from tests.fixture_web import write_config

    database_url = f"sqlite:///{tmp_path}/raqib.db"
    config_dir = write_config(tmp_path / "config", [], database_url, rules="rules: []\n")
    command = [sys.executable, "-m", "monitor.cli", "--config-dir", str(config_dir), "run"]
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True, cwd=ROOT, env=_env())
    try:
        deadline = time.monotonic() + 60
        repository = Repository(database_url)
        try:
            while repository.locks.holder("scheduler") is None:
                assert first.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        finally:
            repository.close()
        refused = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, cwd=ROOT, env=_env())
        _, stderr = refused.communicate(timeout=60)
        assert refused.returncode == 2
        # The refused daemon removed its configuration snapshot.
        assert not list(Path(tempfile.gettempdir()).glob(f"raqib-config-{refused.pid}-*"))
        lines = stderr.strip().splitlines()
        assert len(lines) == 1, stderr
        assert lines[0].startswith("raqib: error: a raqib run already runs on ")
        assert f"pid {first.pid} on host " in lines[0] and "raqib run" in lines[0]
        assert first.poll() is None  # the first goes on
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(60)


@pytest.mark.postgres
def test_a_database_outage_fails_the_source_loudly_and_the_next_crawl_stores_the_rest(
        site, tmp_path, postgres_url):
    for article in site.articles:  # a crawl of a few seconds, for the outage to fall into
        site.site.pages[article.path].delay = 0.15
    proxy = OutageProxy()
    try:
        database_url = proxy.url(postgres_url)
        config_dir = _config(site, tmp_path, database_url, concurrency_per_site=1)
        Repository(database_url).close()
        running = subprocess.Popen(
            [sys.executable, "-m", "monitor.cli", "--config-dir", str(config_dir), "crawl"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=_env())
        direct = Repository(postgres_url, create=False)
        try:
            deadline = time.monotonic() + 120
            while direct.articles.count("waha") < 5 and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            direct.close()
        proxy.down()
        time.sleep(2)
        proxy.up()
        _, stderr = running.communicate(timeout=300)
        assert running.returncode == 1, stderr[-3000:]
        assert "waha: FAILED: " in stderr and "storage error" in stderr, stderr[-3000:]
        for _ in range(2):  # the next crawls store what the outage lost
            again = crawl(config_dir)
            assert again.returncode == 0, again.stderr[-3000:]
        after = tally(postgres_url, site, config_dir)
        assert (after.stored, after.lost, after.duplicated, after.open_runs) == (ARTICLES, 0, 0, 0)
    finally:
        proxy.stop()


def test_snapshots_of_daemons_that_died_are_removed_by_the_next(tmp_path):
    from monitor.config import load_config
    from monitor.daemon.crawls import ConfigSnapshot
    from tests.fixture_web import write_config

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = Path(tempfile.mkdtemp(prefix=f"raqib-config-{dead.pid}-"))
    config = load_config(write_config(tmp_path / "config", [], f"sqlite:///{tmp_path}/r.db"))
    snapshot = ConfigSnapshot(config)
    try:
        assert not stale.exists()
        assert snapshot.directory.exists() and (snapshot.directory / "sources.yaml").exists()
        ConfigSnapshot._remove_stale()  # a live daemon's snapshot is left alone
        assert snapshot.directory.exists()
    finally:
        snapshot.remove()


def test_a_crawl_child_that_fails_before_writing_is_logged_with_its_reason(site, tmp_path,
                                                                           caplog):
    import logging

    from monitor.daemon import Daemon
    from monitor.daemon.crawls import crawl_in_child

    database_url = f"sqlite:///{tmp_path}/raqib.db"
    config_dir = _config(site, tmp_path, database_url)

    def unreachable_database(source):  # the child cannot open its database: it writes nothing
        return crawl_in_child(source.id, config_dir=config_dir,
                              database_url="postgresql+psycopg://nobody@127.0.0.1:9/none",
                              time_limit=120)

    daemon = Daemon(config_dir, database_url, dispatch=unreachable_database)
    try:
        with caplog.at_level(logging.INFO, logger="monitor"):
            outcome = daemon.crawl_source("waha")
    finally:
        daemon.repository.close()
        daemon.snapshot.remove()
    assert outcome.status == "failed" and outcome.error
    line = next(r.getMessage() for r in caplog.records
                if r.getMessage().startswith("crawl waha: failed"))
    assert line != "crawl waha: failed {}" and outcome.error in line
    assert "127.0.0.1" in line and "9" in line  # what could not be reached
