"""A realistic archive for the web view's tests, browser test and screenshots.

Stories of GCC e-government committees carried by several sources (tests/neardup: agency
originals and the papers' copies, clustered as the crawler clusters them), the labelled texts
of tests/rules_eval (positives and near misses), crawl runs with a failing and a quiet source,
and articles that try to break a page. Stored through the repository as the crawler stores
them, with the shipped rules' matches.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from storage.models import CrawlRun
from storage.records import NewArticle
from storage.repository import Repository

ROOT = Path(__file__).resolve().parent
# Copies of the labelled stories name a few papers the shipped catalogue does not carry.
_SOURCE_OF = {"alwatan": "alwatan_bh", "atheer": "omandaily", "albilad": "akhbar_alkhaleej",
              "aljarida": "alrai", "almadina": "okaz", "sabq": "alriyadh", "ksa": "spa"}
HOSTILE_TITLE = '=HYPERLINK("http://evil.example","اجتماع") <script>alert("x")</script> «اجتماع»'
HOSTILE_TEXT = ("=cmd|' /C calc'!A0 <img src=x onerror=alert(1)> اجتماع اللجنة الوزارية "
                "للحكومة الإلكترونية بدول مجلس التعاون </p><script>alert(2)</script>")


@dataclass
class Sample:
    """What was stored: ids by label, story leads, the hostile article."""

    ids: dict[str, int] = field(default_factory=dict)
    stories: dict[str, list[int]] = field(default_factory=dict)
    hostile: int = 0
    failing_source: str = ""


def _source(key: str, known: set[str]) -> str:
    name = key.rsplit("-", 1)[-1]
    name = _SOURCE_OF.get(name, name)
    return name if name in known else "spa"


def seed(repository: Repository, config, now: datetime | None = None,
         hostile: bool = True) -> Sample:
    """Store the sample archive; dates fall in the 30 days before `now`."""
    now = now or datetime.now(UTC)
    rules = config.rule_set()
    known = {source.id for source in config.sources}
    kinds = {source.id: source.kind for source in config.sources}
    sample = Sample()

    def store(label: str, source: str, title: str, text: str, language: str,
              published: datetime | None, fetched: datetime, method: str | None) -> int:
        fingerprint = hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()
        result = repository.articles.save(NewArticle(
            source=source, url=f"https://{source}.example/news/{label}", fetched_url=
            f"https://{source}.example/news/{label}?utm_source=rss", title=title, text=text,
            language=language, content_fingerprint=fingerprint, fetched_at=fetched,
            published_at=published, published_raw=published.strftime("%Y-%m-%dT%H:%M:%S+03:00")
            if published else None, published_method=method))
        matches = rules.evaluate(title, text, language)
        if matches:
            repository.articles.save_matches(result.article_id, [m.to_dict() for m in matches])
        sample.ids[label] = result.article_id
        return result.article_id

    by_story: dict[str, list[tuple[str, dict]]] = {}
    for name in ("stories_gcc_egov.yaml", "stories_templates.yaml"):
        articles = yaml.safe_load((ROOT / "neardup" / name).read_text(encoding="utf-8"))["articles"]
        for key, article in articles.items():
            by_story.setdefault(article["story"], []).append((key, article))
    for number, (story, copies) in enumerate(sorted(by_story.items())):
        start = now - timedelta(days=(number * 37) % 29, hours=(number * 5) % 11 + 12)
        ids = []
        for at, (key, article) in enumerate(copies):
            source = _source(key, known)
            dated = kinds.get(source) in ("agency", "government") or at % 2 == 0
            published = start + timedelta(hours=at * 2) if dated else None
            language = "en" if article["text"].isascii() else "ar"
            ids.append(store(key, source, article["title"], article["text"], language, published,
                             start + timedelta(hours=at * 2, minutes=17),
                             "json-ld" if dated else None))
        for copy in ids[1:]:
            repository.signatures.set_cluster(copy, ids[0], 0.8)
        sample.stories[story] = ids
    cases = yaml.safe_load((ROOT / "rules_eval" / "gcc_egov.yaml").read_text(encoding="utf-8"))
    sources_by_language = {"ar": ["wam", "bna", "kuna", "ona", "qna", "alkhaleej", "alayam"],
                           "en": ["gulfnews", "arabnews", "khaleejtimes", "gdn", "peninsula"]}
    for number, case in enumerate(cases["cases"]):
        choices = sources_by_language.get(case["language"], ["spa"])
        source = choices[number % len(choices)]
        moment = now - timedelta(days=number % 30 + 1, hours=number % 9, minutes=number * 7 % 60)
        store(case["id"], source if source in known else "spa", case["title"], case["body"],
              case["language"], moment, moment + timedelta(minutes=40), "meta")
    if hostile:
        sample.hostile = store("hostile", "alqabas", HOSTILE_TITLE, HOSTILE_TEXT, "ar",
                               now - timedelta(hours=3), now - timedelta(hours=2), "time")
    sample.failing_source = _runs(repository, config, now)
    return sample


def _runs(repository: Repository, config, now: datetime) -> str:
    """Crawl history: every enabled source crawled, one failing three times in a row (its id
    is returned)."""
    enabled = [s for s in config.sources if s.enabled]
    failing_source = enabled[1].id
    with repository.db.session() as session:
        for number, source in enumerate(enabled):
            for run in range(4):
                started = now - timedelta(hours=6 * run + number % 5, minutes=number)
                failing = source.id == failing_source and run < 3
                session.add(CrawlRun(
                    source=source.id, started_at=started, finished_at=started + timedelta(
                        seconds=40), status="failed" if failing else "ok",
                    counts={"fetched": 12, "new": 3}, error="all 2 feed(s) answered HTTP 503"
                    if failing else None))
    return failing_source
