"""The crawl pipeline under faults: a killed extraction process, a kill between an article and
its matches. Every article is stored once, with its matches, whatever dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from monitor.demo.sites import SampleArticle, article_page, news_sitemap
from monitor.demo.web import LocalWeb, Page, Site
from storage.repository import Repository
from tests.conftest import ROOT, run_cli
from tests.fixture_web import write_config

STORIES = [a for a in yaml.safe_load(
    (Path(__file__).parent / "neardup" / "stories_gcc_egov.yaml").read_text(encoding="utf-8")
)["articles"].values()]
RULES = """rules:
  - id: egov
    name: e-government
    query: "~حكومة ~إلكترونية OR ~حكومة ~رقمية"
  - id: meeting
    name: meetings
    query: "اجتماع* OR اجتماعها"
"""


def _site(pages: int, delay: float) -> tuple[LocalWeb, list[dict]]:
    """One local site of `pages` distinct Arabic articles (each a labelled story with a report
    line of its own), behind a news sitemap."""
    web = LocalWeb([Site("wakala")]).start()
    site, items = web["wakala"], []
    for k in range(pages):
        story = STORIES[k % len(STORIES)]
        paragraphs = (*story["text"].split("\n")[:-1],
                      f"وهذا هو التقرير رقم {k} من سلسلة تقارير المراسل عن أعمال اللجان.")
        article = SampleArticle(slug=str(k), site="wakala", title=story["title"], dateline="",
                                jsonld_date="2025-01-14T09:00:00+03:00",
                                paragraphs=tuple(p for p in paragraphs if p.strip()))
        site.add(article.path, Page(article_page(article, site.url(article.path), "وكالة", "ar"),
                                    delay=delay))
        items.append((site.url(article.path), story["title"], "2025-01-14T09:00:00+03:00"))
    site.add("/sitemap.xml", Page(news_sitemap(items), content_type="application/xml"))
    return web, [{"id": "wakala", "name": "wakala", "country": "SA", "language": "ar",
                  "kind": "agency", "sitemaps": [site.url("/sitemap.xml")]}]


def _children(pid: int) -> list[int]:
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as children:
                found += [int(child) for child in children.read().split()]
        except FileNotFoundError:
            continue
    return found


def _stored(url: str) -> int:
    repository = Repository(url, check=False)
    try:
        return repository.articles.count()
    except Exception:  # noqa: BLE001 (the schema may not be there yet)
        return 0
    finally:
        repository.close()


def _check_every_article_stored_with_its_matches(url: str, pages: int, config_dir: Path) -> None:
    from monitor.config import load_config

    rules = load_config(config_dir).rule_set()
    repository = Repository(url)
    try:
        articles = repository.articles.find(limit=None)
        assert len(articles) == pages
        assert len({a.url for a in articles}) == pages
        for article in articles:
            expected = sorted(m.rule_id for m in rules.evaluate(
                article.title or "", article.text, article.language, source="wakala",
                country="SA", kind="agency"))
            assert article.rules == expected, article.url
        assert sum(1 for a in articles if a.rules) >= pages // 2
        outcomes = {u.url: u.outcome for u in repository.crawl.seen_urls("wakala")}
        assert sorted(set(outcomes.values())) == ["article"]
    finally:
        repository.close()


def test_a_killed_extraction_process_loses_no_article(tmp_path):
    pages = 40
    web, sources = _site(pages, delay=0.15)
    url = f"sqlite:///{tmp_path}/crawl.db"
    config_dir = write_config(tmp_path / "config", sources, url, rules=RULES,
                              extraction_workers=2, concurrency_per_site=2, download_timeout=30)
    try:
        command = [sys.executable, "-m", "monitor.cli", "--config-dir", str(config_dir),
                   "crawl", "--json"]
        crawl = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        killed = None
        deadline = time.monotonic() + 120
        while killed is None and crawl.poll() is None and time.monotonic() < deadline:
            workers = [pid for pid in _children(crawl.pid)
                       if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]
            if workers and _stored(url) >= 3:
                killed = workers[0]
                os.kill(killed, signal.SIGKILL)  # as the OOM killer would
            time.sleep(0.05)
        out, err = crawl.communicate(timeout=300)
        assert killed is not None, "the crawl ended before a worker could be killed"
        assert crawl.returncode == 0, err[-3000:]
        report = yaml.safe_load(out)[0]
        assert report["failed"] == 0 and report["new"] == pages, report
        _check_every_article_stored_with_its_matches(url, pages, config_dir)
    finally:
        web.stop()


@pytest.mark.parametrize("point", ["store:after-article", "store:before-commit"])
def test_a_kill_between_an_article_and_its_matches_leaves_neither(database_url, tmp_path, point):
    pages = 12
    web, sources = _site(pages, delay=0)
    config_dir = write_config(tmp_path / "config", sources, database_url, rules=RULES,
                              extraction_workers=1, download_timeout=30)
    try:
        killed = run_cli("crawl", "--json", config_dir=config_dir, env={"RAQIB_FAULT": f"{point}:4"})
        assert killed.returncode == -signal.SIGKILL
        before = _stored(database_url)
        assert before == 3  # three whole articles committed; the fourth died in its transaction
        again = run_cli("crawl", "--json", config_dir=config_dir)
        assert again.returncode == 0, again.stderr[-3000:]
        _check_every_article_stored_with_its_matches(database_url, pages, config_dir)
    finally:
        web.stop()


def _pid_of_worker() -> int:
    return os.getpid()


def test_the_rules_run_in_the_extraction_worker_and_a_dead_worker_is_replaced():
    from concurrent.futures.process import BrokenProcessPool
    from datetime import UTC, datetime

    from crawler.extraction import PRIMED, process_page
    from crawler.pool import ExtractionPool
    from monitor.config import load_config, shipped_config_dir

    story = STORIES[0]
    page = SampleArticle(slug="p", site="p", title=story["title"], dateline="",
                         jsonld_date="2025-01-14T09:00:00+03:00",
                         paragraphs=tuple(p for p in story["text"].split("\n") if p.strip()))
    html = article_page(page, "https://p.example/p", "ب", "ar")
    rules = load_config(shipped_config_dir()).rule_set()
    options = {"timezone": "Asia/Riyadh", "fetched_at": datetime(2025, 1, 14, tzinfo=UTC),
               "source": "spa", "country": "SA", "kind": "agency"}
    pool = ExtractionPool(1, rules)
    try:
        # The worker was handed the rule set once, at its start: pages go without it.
        done = pool.submit(process_page, html, "https://p.example/p", rules=PRIMED,
                           **options).result(timeout=120)
        assert "gcc-egov-committee" in [match["rule_id"] for match in done.matches]
        assert done.sketch is not None and done.terms
        worker = pool.submit(_pid_of_worker).result(timeout=60)
        assert worker != os.getpid()
        generation = pool.generation
        os.kill(worker, signal.SIGKILL)  # as the OOM killer would
        with pytest.raises(BrokenProcessPool):
            pool.submit(process_page, html, "https://p.example/p", rules=PRIMED,
                        **options).result(timeout=60)
        pool.restart(generation)
        pool.restart(generation)  # a second page noticing the same death restarts nothing
        assert pool.restarts == 1
        again = pool.submit(process_page, html, "https://p.example/p", rules=PRIMED,
                            **options).result(timeout=120)
        assert again.matches == done.matches and again.sketch == done.sketch
    finally:
        pool.shutdown()
