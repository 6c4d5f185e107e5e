"""A news site of many distinct articles on 127.0.0.1, for the budget and fault-injection tests.

Each article is made of paragraphs of the sample articles (monitor.demo) in its own order, with
a line of its own (its number), so that every text is stored once and no two are one text.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from monitor.demo.sites import SITES, SampleArticle, article_page, load_articles, rss_feed
from monitor.demo.web import LocalWeb, Page, Site
from tests.fixture_web import write_config

ROOT = Path(__file__).resolve().parent.parent

DATE = "Tue, 19 Nov 2024 08:00:00 GMT"
_NUMBERS = ("الأول", "الثاني", "الثالث", "الرابع", "الخامس", "السادس", "السابع", "الثامن",
            "التاسع", "العاشر")


def many_articles(count: int, *, seed: int = 7) -> list[SampleArticle]:
    """`count` Arabic articles with distinct texts (deterministic for a seed)."""
    samples = [a for a in load_articles() if a.paragraphs and SITES[a.site]["language"] == "ar"]
    paragraphs = [p for a in samples for p in a.paragraphs]
    rng = random.Random(seed)
    articles = []
    for number in range(1, count + 1):
        template = samples[number % len(samples)]
        chosen = rng.sample(paragraphs, 3)
        line = (f"وهذا هو البيان رقم {number} في السلسلة، والملحق {_NUMBERS[number % 10]} "
                f"من ملاحق الاجتماع {number // 10 + 1}.")
        articles.append(replace(template, slug=f"story-{number:04d}",
                                title=f"{template.title} ({number})",
                                paragraphs=(*chosen, line)))
    return articles


class NewsSite:
    """One local site whose feed lists articles newest first; `show()` changes what it lists."""

    def __init__(self, articles: list[SampleArticle], *, name: str = "waha") -> None:
        self.articles = articles
        self.site = Site(name)
        self.web = LocalWeb([self.site]).start()
        for article in articles:
            self.site.add(article.path, article_page(article, self.site.url(article.path),
                                                     SITES["waha"]["name"], "ar"))
        self.show(articles)

    def show(self, articles: list[SampleArticle], **page: object) -> None:
        """The feed lists these articles (newest first); ETag/Last-Modified and 304 on."""
        feed = rss_feed("الواحة", [(self.site.url(a.path), a.title, DATE) for a in articles])
        self.site.add("/rss.xml", Page(feed, content_type="application/rss+xml", **page))

    def source(self, source_id: str = "waha") -> dict:
        return {"id": source_id, "name": SITES["waha"]["name"], "country": "AE",
                "language": "ar", "kind": "agency", "feeds": [self.site.url("/rss.xml")]}

    def config(self, directory: Path, database_url: str, rules: str = "rules: []\n",
               **crawl: object) -> Path:
        """A config directory crawling this site into `database_url` (no watch rules unless
        given)."""
        return write_config(directory, [self.source()], database_url, rules=rules, **crawl)

    def fetched(self) -> dict[str, int]:
        """How many times each article was downloaded."""
        return {a.path: self.site.hits[a.path] for a in self.articles}

    def stop(self) -> None:
        self.web.stop()


# --- crawls under faults, and the count after them ------------------------------------------

# Matches every article (each has its own "البيان رقم N" line): a lost match always shows.
RULES = """rules:
  - id: gcc
    name: GCC
    languages: [ar]
    query: 'البيان OR "مجلس التعاون"'
"""


@dataclass
class Tally:
    """What a crawl left in the database against what the site offers."""

    expected: int  # articles the site offers
    stored: int  # articles stored
    lost: int  # offered, never stored
    duplicated: int  # copies of one text or address beyond the first
    matches_missing: int  # stored articles the rules match without a stored match
    open_runs: int  # crawl runs still `running`

    @property
    def intact(self) -> bool:
        return not (self.lost or self.duplicated or self.matches_missing or self.open_runs)


def tally(database_url: str, site: NewsSite, config_dir: Path) -> Tally:
    """Count texts stored (each once, none missing), matches and runs left open."""
    from collections import Counter

    from monitor.config import load_config
    from storage.repository import Repository

    config = load_config(config_dir)
    rules = config.rule_set()
    source = config.source("waha")
    repository = Repository(database_url, create=False)
    try:
        articles = repository.articles.find(source="waha", limit=None)
        runs = repository.runs.recent("waha", limit=1000)
    finally:
        repository.close()
    offered = {site.site.url(a.path) for a in site.articles}
    by_url = Counter(a.url for a in articles)
    by_text = Counter(a.text for a in articles)
    duplicated = sum(n - 1 for n in by_url.values()) + sum(n - 1 for n in by_text.values())
    missing = sum(1 for a in articles
                  if rules.evaluate(a.title or "", a.text, a.language, source=source.id,
                                    country=source.country, kind=source.kind) and not a.rules)
    return Tally(len(offered), len(articles), len(offered - set(by_url)), duplicated, missing,
                 sum(run.status == "running" for run in runs))


def crawl(config_dir: Path, *, fault: str | None = None, timeout: float = 300,
          extra_env: dict | None = None) -> subprocess.CompletedProcess:
    """`raqib crawl` in a child, with RAQIB_FAULT set when `fault` is given."""
    env = {key: value for key, value in os.environ.items() if key != "RAQIB_FAULT"}
    env.update({"PYTHONPATH": str(ROOT), **(extra_env or {})})
    if fault:
        env["RAQIB_FAULT"] = fault
    return subprocess.run([sys.executable, "-m", "monitor.cli", "--config-dir", str(config_dir),
                           "crawl"], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=timeout, stdin=subprocess.DEVNULL)


class OutageProxy:
    """A TCP relay to a database server that can be cut: `down()` closes every connection and
    refuses new ones until `up()` — a database outage for the processes that go through it."""

    def __init__(self, host: str = "127.0.0.1", port: int = 5432) -> None:
        import socket
        import threading

        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._open: set = set()
        self._guard = threading.Lock()
        self._down = threading.Event()
        self._stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, database_url: str) -> str:
        """`database_url` through the relay."""
        return database_url.replace(f"{self.target[0]}:{self.target[1]}",
                                    f"127.0.0.1:{self.port}")

    def _accept(self) -> None:
        import socket
        import threading

        while not self._stopped.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self._down.is_set():
                client.close()
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._guard:
                self._open.update((client, server))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source, sink) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                self._close(end)

    def _close(self, end) -> None:
        import socket

        with self._guard:
            self._open.discard(end)
        try:
            end.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        end.close()

    def down(self) -> None:
        self._down.set()
        with self._guard:
            ends = list(self._open)
        for end in ends:
            self._close(end)

    def up(self) -> None:
        self._down.clear()

    def stop(self) -> None:
        self._stopped.set()
        self.down()
        self.listener.close()
