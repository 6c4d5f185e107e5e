"""Benchmark the near-duplicate index on realistic Arabic news: 100,000 (or 1,000,000) stories.

    python benchmarks/bench_neardup.py [--articles 100000] [--samples 300] [--sqlite-only]
                                       [--processes 2] [--cache sketches.pickle]

The index is filled with the sketches (crawler.neardup.sketch: b-bit MinHash, LSH bands,
shingle count, facts) of generated stories: `--real` texts of a word-bigram model of the real
Arabic pages in tests/ with agency datelines and the formulaic phrases of Gulf agency copy
(benchmarks/arabic_corpus.py), one in ten a newspaper's copy of an earlier story, tokenised and
sketched as the crawl does; the rest drawn from their shingles (see `sketches`); published
over 60 days. Then `samples` arrivals (half copies of indexed stories, half new stories) are
stored and indexed as the crawl does (repo.articles.save with the index entry, one
transaction), timing separately the index insert (signature + bands) and the candidate query.
Prints candidates per insert, insert and query p50/p95, the end-to-end save, how many copies
were found, and bytes of index (signatures + bands, with their indexes) per article, on SQLite
and PostgreSQL. Asserts nothing. `--cache FILE` keeps the generated sketches (a million take
25 minutes to draw) for the next run; PostgreSQL is filled by COPY.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import pickle
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

import numpy as np  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from sqlalchemy import text as sql  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from benchmarks.arabic_corpus import BigramModel, newspaper_copy  # noqa: E402
from crawler.neardup import (  # noqa: E402
    PreparedArticle,
    Sketch,
    index_entry,
    prepare,
    signature_of,
    sketch,
    sketch_of,
)
from storage.models import Article, ArticleSignature, SignatureBand  # noqa: E402
from storage.packing import pack_facts  # noqa: E402
from storage.records import NewArticle  # noqa: E402
from storage.repository import Repository  # noqa: E402
from storage.search_index import index_terms  # noqa: E402
from storage.signatures import candidates_in, entry_keys  # noqa: E402

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


def _prepare_range(bounds: tuple[int, int]) -> list:
    out = []
    for seed in range(*bounds):
        story = prepare(*_story(seed))
        out.append((story.hashes, sketch_of(story)) if story.indexable else None)
    return out


def real_stories(count: int, processes: int) -> list:
    """(shingle hashes, sketch) of `count` generated stories, tokenised and sketched for real."""
    chunks = [(start, min(count, start + 500)) for start in range(0, count, 500)]
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        return [s for chunk in pool.imap(_prepare_range, chunks) for s in chunk]


def sketches(total: int, real: list, seed: int = 5) -> list:
    """`total` sketches: the real ones first, then stories drawn from them at the shingle level.

    Sketching a million generated texts takes hours on two shared cores, so the index is filled
    past the real stories with stories whose shingles are drawn as real ones are made: of a
    real story's shingles, those that also occur in other stories (agency formulas, the bigram
    model's common phrases) are drawn from that shared pool with their frequencies, the rest are
    the story's own; its facts are a real story's. The LSH candidates an insert meets in the
    index then come from the formulaic overlap of real Arabic copy, not from random values."""
    real = [r for r in real if r is not None]
    counts: dict[int, int] = {}
    for hashes, _ in real:
        for value in hashes.tolist():
            counts[value] = counts.get(value, 0) + 1
    shared = np.array([h for h, c in counts.items() if c > 1], dtype=np.uint64)
    weights = np.array([counts[h] for h in shared.tolist()], dtype=np.float64)
    weights /= weights.sum()
    shared_set = set(shared.tolist())
    profile = [(len(hashes), sum(1 for h in hashes.tolist() if h in shared_set), story.facts)
                for hashes, story in real]
    rng = np.random.default_rng(seed)
    out = [story for _, story in real]
    while len(out) < total:
        size, common, facts = profile[int(rng.integers(len(profile)))]
        hashes = np.unique(np.concatenate([
            rng.choice(shared, size=common, p=weights),
            rng.integers(0, 2**63, size=size - common, dtype=np.uint64)]))
        signature = signature_of(PreparedArticle(hashes, None))
        out.append(Sketch(signature.to_bytes(), signature.band_keys(), len(hashes), facts))
    return out[:total]


def fill(repo: Repository, stories: list, rng: random.Random, recent_from: int,
         recent_to: int) -> None:
    """Articles (a word of text: the index never reads it) and their index entries, in bulk."""
    batch, rows = [], []
    for n, story in enumerate(stories, start=1):
        # the real stories' last 1,500 are recent (arrivals copy them, as papers carry agency
        # copy within days); the rest spread over 60 days
        age = 3 * 86400 if recent_from < n <= recent_to else 60 * 86400
        created = NOW - timedelta(seconds=rng.uniform(3600, age))
        rows.append({"id": n, "source": "bench", "url": f"https://bench.example/{n}",
                     "title": None, "text": "-", "fetched_at": created, "published_at": created,
                     "content_fingerprint": f"fp{n}"})
        if story is not None:
            batch.append((n, story.signature, story.bands, created, story.shingles, story.facts))
        if len(rows) == 5000:
            _load(repo, rows, batch)
            batch, rows = [], []
    if rows:
        _load(repo, rows, batch)


def _load(repo: Repository, rows: list[dict], batch: list[tuple]) -> None:
    if repo.dialect != "postgresql":
        with repo.db.session() as session:
            session.execute(insert(Article), rows)
        repo.signatures.add_many(batch)
        return
    # PostgreSQL: COPY, as add_many would store them (a million articles in minutes, not an hour)
    columns = ("id", "source", "url", "title", "text", "fetched_at", "published_at",
               "content_fingerprint")
    with repo.db.engine.begin() as connection:
        cursor = connection.connection.driver_connection.cursor()
        with cursor.copy(f"COPY articles ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[name] if "_at" not in name else row[name].replace(tzinfo=None)
                                for name in columns])
        with cursor.copy("COPY article_signatures (article_id, signature, created_at, shingles, "
                         "facts) FROM STDIN") as copy:
            for article_id, signature, _, created, shingles, facts in batch:
                copy.write_row([article_id, signature, math.floor(created.timestamp()), shingles,
                                pack_facts(facts)])
        with cursor.copy("COPY signature_bands (band_key, article_id) FROM STDIN") as copy:
            for article_id, _, bands, created, _, _ in batch:
                for key in entry_keys(bands, created):
                    copy.write_row([key, article_id])


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"p50 {statistics.median(ordered) * 1000:6.2f} ms   p95 {p95 * 1000:6.2f} ms"


def run(label: str, url: str, stories: list, arrivals: list, real: int) -> None:
    rng = random.Random(42)
    repo = Repository(url)
    started = time.perf_counter()
    fill(repo, stories, rng, max(0, real - 1500), real)
    if repo.dialect == "postgresql":  # the ids were given: move the sequence past them
        with repo.db.session() as session:
            session.execute(sql("SELECT setval('articles_id_seq', (SELECT max(id) FROM articles))"))
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
                {"band_key": key, "article_id": 10_000_000 + n}
                for key in entry_keys(story.bands, when, when)])
            t1 = time.perf_counter()
            rows = candidates_in(Session(bind=connection), story.bands, since=when - WINDOW,
                                 until=when + WINDOW, fetched_window=(when - WINDOW, when + WINDOW))
            t2 = time.perf_counter()
            transaction.rollback()
        inserts.append(t1 - t0)
        queries.append(t2 - t1)
        candidates.append(len(rows))
        terms = index_terms(title, text)
        t0 = time.perf_counter()
        # As the crawl does: the index terms come computed from the extraction worker.
        result = repo.articles.save(new, terms=terms,
                                    index=index_entry(story, when, when, threshold=THRESHOLD,
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
    parser.add_argument("--real", type=int, default=3000,
                        help="stories generated and sketched for real (the rest drawn from them)")
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--postgres-only", action="store_true")
    parser.add_argument("--cache", type=Path,
                        help="a pickle of the generated sketches: read if it exists, else written")
    args = parser.parse_args()
    started = time.perf_counter()
    if args.cache and args.cache.exists():
        with args.cache.open("rb") as cached:
            real, stories = pickle.load(cached)  # written by this script: trusted
    else:
        real = real_stories(min(args.real, args.articles), args.processes)
        stories = sketches(args.articles, real)
        if args.cache:
            with args.cache.open("wb") as cached:
                pickle.dump((real, stories), cached)
    print(f"{args.articles:,} stories: {len(real):,} realistic Arabic texts generated and sketched, "
          f"the rest drawn from their shingles, in {time.perf_counter() - started:.0f} s",
          flush=True)
    rng = random.Random(99)
    arrivals = []
    for n in range(args.samples):
        if n % 2 == 0:  # a paper's copy of a recent indexed story
            seed = rng.randrange(max(1, len(real) - 1500), len(real))
            _, text = _story(seed)
            paragraphs = text.split("\n")
            title = "نسخة صحيفة"
            text = "\n".join(newspaper_copy(random.Random(n), _MODEL, paragraphs))
            arrivals.append((title, text, sketch(title, text), seed))
        else:
            title, text = _story(10_000_000 + n)
            arrivals.append((title, text, sketch(title, text), None))
    arrivals = [a for a in arrivals if a[2] is not None]
    if not args.postgres_only:
        with tempfile.TemporaryDirectory() as directory:
            run("SQLite", f"sqlite:///{directory}/bench.db", stories, arrivals, len(real))
    if args.sqlite_only:
        return
    import psycopg

    name = f"raqib_bench_{os.getpid()}"
    admin = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        run("PostgreSQL", f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", stories,
            arrivals, len(real))
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
