"""Scale benchmark: articles stored per second with 1, 2 and 4 `raqib worker` processes.

A local web of news sites (every article a distinct text; agency stories with a line of their
own, so that near-duplicate clustering does its real work) is crawled through Redis by N
workers of one crawl each, into SQLite and into PostgreSQL; then once by a single
`raqib crawl` of every source in one process, for comparison. Prints one line per run.

    python benchmarks/bench_scale.py [--sites 16] [--articles 20] [--workers 1 2 4]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
import redis  # noqa: E402

from monitor.config import load_config  # noqa: E402
from monitor.daemon.workers import CrawlQueue  # noqa: E402
from monitor.demo.sites import article_page, rss_feed  # noqa: E402
from monitor.demo.web import LocalWeb, Page, Site, wait_for  # noqa: E402
from storage.repository import Repository  # noqa: E402
from tests.conftest import run_cli  # noqa: E402
from tests.test_distributed import STORIES, _language, broker_config, start_raqib  # noqa: E402

REDIS = "redis://127.0.0.1:6379/14"
ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


def scale_web(sites: int, articles: int) -> tuple[LocalWeb, list[dict]]:
    """Started sites of `articles` distinct articles each, and their sources."""
    from dataclasses import replace

    web = LocalWeb([Site(f"news{i:02d}") for i in range(sites)]).start()
    sources = []
    for i in range(sites):
        site = web[f"news{i:02d}"]
        items = []
        for k in range(articles):
            story = STORIES[(i + k) % len(STORIES)]
            line = (f"وأفاد مراسل الصحيفة رقم {i} في تقريره رقم {k} بتفاصيل إضافية."
                    if _language(story) == "ar" else
                    f"Correspondent {i} added details in report number {k}.")
            story = replace(story, title=f"{story.title} ({i}-{k})",
                            paragraphs=(*story.paragraphs, line))
            path = f"/news/{k}.html"
            site.add(path, article_page(story, site.url(path), site.name, _language(story)))
            items.append((site.url(path), story.title, "Thu, 14 Nov 2024 08:00:00 GMT"))
        site.add("/rss.xml", Page(rss_feed(site.name, items), content_type="application/rss+xml"))
        sources.append({"id": site.name, "name": site.name, "country": "SA", "language": "ar",
                        "kind": "press", "feeds": [site.url("/rss.xml")]})
    return web, sources


def database(kind: str, directory: Path) -> tuple[str, callable]:
    """A fresh database URL and a function that drops it."""
    if kind == "sqlite":
        return f"sqlite:///{directory}/bench-{uuid.uuid4().hex[:6]}.db", lambda: None
    name = f"raqib_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(ADMIN, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", drop


def with_workers(kind: str, workers: int, sites: int, articles: int, directory: Path) -> dict:
    web, sources = scale_web(sites, articles)
    url, drop = database(kind, directory)
    redis.Redis.from_url(REDIS).flushdb()
    running = []
    try:
        config_dir = broker_config(directory / f"{kind}-{workers}", sources, url, REDIS,
                                   crawl_time_limit="10m")
        repository = Repository(url)
        running = [start_raqib(config_dir, directory / f"{kind}-{workers}-{n}.log", "worker",
                               "--concurrency", "1") for n in range(workers)]
        time.sleep(8)  # the workers are up and waiting before the clock starts
        config = load_config(config_dir)
        queue = CrawlQueue(config)
        started = time.monotonic()
        for source in config.sources:
            queue(source)

        def done() -> bool:
            ended = sum(1 for source in config.sources for run in repository.runs.recent(source.id)
                        if run.status in ("ok", "failed"))
            return ended >= sites
        wait_for(done, timeout=1800, interval=0.2)
        seconds = time.monotonic() - started
        stored = repository.articles.count()
        repository.close()
        return {"stored": stored, "seconds": seconds}
    finally:
        for worker in running:
            worker.stop()
        web.stop()
        drop()


def one_process(kind: str, sites: int, articles: int, directory: Path) -> dict:
    web, sources = scale_web(sites, articles)
    url, drop = database(kind, directory)
    try:
        config_dir = broker_config(directory / f"{kind}-crawl", sources, url, REDIS)
        Repository(url).close()
        started = time.monotonic()
        result = run_cli("crawl", config_dir=config_dir, timeout=1800)
        seconds = time.monotonic() - started
        repository = Repository(url)
        stored = repository.articles.count()
        repository.close()
        assert result.returncode == 0, result.stderr[-2000:]
        return {"stored": stored, "seconds": seconds}
    finally:
        web.stop()
        drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=16)
    parser.add_argument("--articles", type=int, default=20)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    print(f"{args.sites} sites x {args.articles} articles; {os.cpu_count()} CPU(s); "
          f"each worker runs one crawl child at a time")
    with tempfile.TemporaryDirectory() as temp:
        directory = Path(temp)
        for kind in args.databases:
            baseline = None
            for workers in args.workers:
                run = with_workers(kind, workers, args.sites, args.articles, directory)
                rate = run["stored"] / run["seconds"]
                baseline = baseline or rate
                print(f"{kind:10s} {workers} worker(s): {run['stored']} articles in "
                      f"{run['seconds']:.1f}s = {rate:.1f} articles/s (x{rate / baseline:.2f})",
                      flush=True)
            run = one_process(kind, args.sites, args.articles, directory)
            print(f"{kind:10s} one `raqib crawl` of all sources: {run['stored']} articles in "
                  f"{run['seconds']:.1f}s = {run['stored'] / run['seconds']:.1f} articles/s",
                  flush=True)


if __name__ == "__main__":
    main()
