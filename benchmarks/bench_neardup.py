"""Benchmark the near-duplicate index on realistic Arabic news: 100,000 (or 1,000,000) stories.

    python benchmarks/bench_neardup.py [--articles 100000] [--samples 300] [--sqlite-only]
                                       [--processes 2]

The index is filled with the sketches (crawler.neardup.sketch: b-bit MinHash, LSH bands,
shingle count, facts) of generated stories: a word-bigram model of the real Arabic pages in
tests/ with agency datelines and the formulaic phrases of Gulf agency copy
(benchmarks/arabic_corpus.py), one in ten a newspaper's copy of an earlier story; published
over 60 days. Then `samples` arrivals (half copies of indexed stories, half new stories) are
stored and indexed as the crawl does (repo.articles.save with the index entry, one
transaction), timing separately the index insert (signature + bands) and the candidate query.
Prints candidates per insert, insert and query p50/p95, the end-to-end save, how many copies
were found, and bytes of index (signatures + bands, with their indexes) per article, on SQLite
and PostgreSQL. Asserts nothing.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from benchmarks.arabic_corpus import BigramModel, newspaper_copy  # noqa: E402
from crawler.neardup import index_entry, sketch  # noqa: E402
from storage.models import Article, ArticleSignature, SignatureBand  # noqa: E402
from storage.records import NewArticle  # noqa: E402
from storage.repository import Repository  # noqa: E402
from storage.signatures import candidates_in  # noqa: E402

WINDOW = timedelta(days=7)
THRESHOLD = 0.55
NOW = datetime(2025, 6, 1, tzinfo=UTC)
_MODEL: BigramModel | None = None


def _story(seed: int) -> tuple[str, str]:
    """Story number `seed`: (title, text); one in ten a copy of an earlier story."""
    global _MODEL
    if _MODEL is None:
        _MODEL = BigramModel()
    rng = random.Random(seed)
    if seed > 10 and rng.random() < 0.1:
        original = random.Random(rng.randrange(seed))
        _, paragraphs = _MODEL.story(original)
        return _MODEL.sentence(rng, 8), "\n".join(newspaper_copy(rng, _MODEL, paragraphs))
    title, paragraphs = _MODEL.story(rng)
    return title, "\n".join(paragraphs)


def _sketch_range(bounds: tuple[int, int]) -> list:
    out = []
    for seed in range(*bounds):
        title, text = _story(seed)
        out.append(sketch(title, text))
    return out


def sketches(total: int, processes: int) -> list:
    chunks = [(start, min(total, start + 2000)) for start in range(0, total, 2000)]
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        return [s for chunk in pool.imap(_sketch_range, chunks) for s in chunk]


def fill(repo: Repository, stories: list, rng: random.Random) -> None:
    """Articles (a word of text: the index never reads it) and their index entries, in bulk."""
    batch, rows = [], []
    recent = len(stories) - 2000  # the stories arrivals copy are recent, as agency copy is
    for n, story in enumerate(stories, start=1):
        age = 3 * 86400 if n > recent else 60 * 86400
        created = NOW - timedelta(seconds=rng.uniform(3600, age))
        rows.append({"id": n, "source": "bench", "url": f"https://bench.example/{n}",
                     "title": None, "text": "-", "fetched_at": created, "published_at": created,
                     "content_fingerprint": f"fp{n}"})
        if story is not None:
            batch.append((n, story.signature, story.bands, created, story.shingles, story.facts))
        if len(rows) == 5000:
            with repo.db.session() as session:
                session.execute(insert(Article), rows)
            repo.signatures.add_many(batch)
            batch, rows = [], []
    if rows:
        with repo.db.session() as session:
            session.execute(insert(Article), rows)
        repo.signatures.add_many(batch)


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"p50 {statistics.median(ordered) * 1000:6.2f} ms   p95 {p95 * 1000:6.2f} ms"


def run(label: str, url: str, stories: list, arrivals: list) -> None:
    rng = random.Random(42)
    repo = Repository(url)
    started = time.perf_counter()
    fill(repo, stories, rng)
    repo.signatures.refresh_statistics()
    fill_seconds = time.perf_counter() - started
    total = len(stories)
    inserts, queries, saves, candidates, found = [], [], [], [], 0
    for n, (title, text, story, copy_of) in enumerate(arrivals):
        when = NOW - timedelta(hours=1) + timedelta(seconds=n)
        new = NewArticle(source="arrival", url=f"https://arrival.example/{n}",
                         fetched_url=f"https://arrival.example/{n}", title=title, text=text,
                         language="ar", content_fingerprint=f"arrival{n}", fetched_at=when,
                         published_at=when)
        # The parts, each in its own transaction, rolled back: insert, then query.
        with repo.db.engine.connect() as connection:
            transaction = connection.begin()
            t0 = time.perf_counter()
            connection.execute(insert(Article), [{
                "id": 10_000_000 + n, "source": "x", "url": f"x{n}", "text": "-",
                "fetched_at": when, "content_fingerprint": f"x{n}"}])
            connection.execute(insert(ArticleSignature), [{
                "article_id": 10_000_000 + n, "signature": story.signature, "created_at": when,
                "shingles": story.shingles, "facts": story.facts}])
            connection.execute(insert(SignatureBand), [
                {"band_key": key, "article_id": 10_000_000 + n} for key in sorted(set(story.bands))])
            t1 = time.perf_counter()
            rows = candidates_in(Session(bind=connection), story.bands, since=when - WINDOW,
                                 until=when + WINDOW, fetched_window=(when - WINDOW, when + WINDOW))
            t2 = time.perf_counter()
            transaction.rollback()
        inserts.append(t1 - t0)
        queries.append(t2 - t1)
        candidates.append(len(rows))
        t0 = time.perf_counter()
        result = repo.articles.save(new, index=index_entry(story, when, when, threshold=THRESHOLD,
                                                           window=WINDOW))
        saves.append(time.perf_counter() - t0)
        found += copy_of is not None and result.cluster_id is not None
    sizes = repo.signatures.index_bytes()
    copies = sum(1 for *_, copy_of in arrivals if copy_of is not None)
    print(f"\n== {label}: {total:,} stored articles (index filled in {fill_seconds:.0f} s), "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"candidates per insert: mean {statistics.mean(candidates):.1f}, "
          f"p95 {sorted(candidates)[int(0.95 * len(candidates))]}, max {max(candidates)}")
    print(f"insert (article row, signature, {len(arrivals[0][2].bands)} band keys): "
          f"{percentiles(inserts)}")
    print(f"query candidates (bands, 7-day window):            {percentiles(queries)}")
    print(f"save end to end (article, index, verify, cluster; one transaction): "
          f"{percentiles(saves)}; {found}/{copies} copies found their story")
    per_article = sum(sizes.values()) / (total + len(arrivals))
    print("index on disk: " + ", ".join(f"{name} {size / 2**20:.1f} MiB" for name, size in
                                        sizes.items())
          + f" = {per_article:.0f} bytes per article")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    repo.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    stories = sketches(args.articles, args.processes)
    print(f"{args.articles:,} realistic Arabic stories sketched in "
          f"{time.perf_counter() - started:.0f} s ({args.processes} processes); "
          f"{sum(s is None for s in stories)} too short to index", flush=True)
    rng = random.Random(99)
    arrivals = []
    for n in range(args.samples):
        if n % 2 == 0:  # a paper's copy of a recent indexed story
            seed = rng.randrange(max(1, args.articles - 2000), args.articles)
            _, text = _story(seed)
            paragraphs = text.split("\n")
            title = "نسخة صحيفة"
            text = "\n".join(newspaper_copy(random.Random(n), _MODEL, paragraphs))
            arrivals.append((title, text, sketch(title, text), seed))
        else:
            title, text = _story(10_000_000 + n)
            arrivals.append((title, text, sketch(title, text), None))
    arrivals = [a for a in arrivals if a[2] is not None]
    with tempfile.TemporaryDirectory() as directory:
        run("SQLite", f"sqlite:///{directory}/bench.db", stories, arrivals)
    if args.sqlite_only:
        return
    import psycopg

    name = f"raqib_bench_{os.getpid()}"
    admin = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        run("PostgreSQL", f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", stories,
            arrivals)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
