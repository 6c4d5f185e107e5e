"""A news site of many distinct articles on 127.0.0.1, for the budget and fault-injection tests.

Each article is made of paragraphs of the sample articles (monitor.demo) in its own order, with
a line of its own (its number), so that every text is stored once and no two are one text.
"""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

from monitor.demo.sites import SITES, SampleArticle, article_page, load_articles, rss_feed
from monitor.demo.web import LocalWeb, Page, Site
from tests.fixture_web import write_config

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

    def config(self, directory: Path, database_url: str, **crawl: object) -> Path:
        """A config directory crawling this site into `database_url`, without watch rules."""
        return write_config(directory, [self.source()], database_url, rules="rules: []\n",
                            **crawl)

    def fetched(self) -> dict[str, int]:
        """How many times each article was downloaded."""
        return {a.path: self.site.hits[a.path] for a in self.articles}

    def stop(self) -> None:
        self.web.stop()
