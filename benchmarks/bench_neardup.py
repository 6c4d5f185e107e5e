"""Benchmark the near-duplicate index: insert and query times and memory at 100,000 articles.

    python benchmarks/bench_neardup.py [--articles 100000] [--samples 300] [--sqlite-only]

Builds the index on SQLite (a temp file) and on PostgreSQL (a database `raqib_bench_<pid>` on
127.0.0.1:5432, user postgres, dropped afterwards). The stored articles are synthetic: most get
random MinHash signatures bulk-inserted (as unrelated stories look to LSH), a few thousand get
signatures of generated texts, so that measured queries also meet and verify real candidates.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import insert

from crawler.neardup import NUM_PERM, Signature, StoryIndex, story_signature
from storage.models import Article
from storage.repository import Repository

LETTERS = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
WINDOW = 7 * 86400


def vocabulary(rng: random.Random, size: int = 5000) -> list[str]:
    return ["".join(rng.choice(LETTERS) for _ in range(rng.randint(3, 7))) for _ in range(size)]


def story_text(rng: random.Random, words: list[str], length: int = 160) -> str:
    return " ".join(rng.choice(words) for _ in range(length))


def copy_of(rng: random.Random, text: str, words: list[str]) -> str:
    """A newspaper copy: new first sentence, end trimmed."""
    body = text.split()
    return " ".join([*(rng.choice(words) for _ in range(15)), *body[20:len(body) - 15]])


def bulk_articles(repo: Repository, first_id: int, count: int, now: datetime,
                  texts: dict[int, str]) -> None:
    rows = [{"id": i, "source": "bench", "url": f"https://bench.example/{i}", "title": None,
             "text": texts.get(i, "synthetic"), "fetched_at": now, "content_fingerprint": f"fp{i}"}
            for i in range(first_id, first_id + count)]
    with repo.db.session() as session:
        for start in range(0, len(rows), 5000):
            session.execute(insert(Article), rows[start:start + 5000])


def fill(repo: Repository, total: int, rng: random.Random, words: list[str],
         now: datetime) -> dict[int, str]:
    """Store `total` articles and their signatures; returns the ids with a real text."""
    with_text = min(5000, total // 20)
    texts = {i: story_text(rng, words) for i in range(1, with_text + 1)}
    bulk_articles(repo, 1, total, now, texts)
    numpy_rng = np.random.default_rng(7)
    batch = []
    for article_id in range(1, total + 1):
        if article_id in texts:
            signature = story_signature(None, texts[article_id])
        else:
            signature = Signature(numpy_rng.integers(0, 2**32, NUM_PERM, dtype=np.uint32))
        # Spread over 30 days, so a 7-day window holds about a quarter of the index; the
        # stories that arrivals copy are recent, as agency stories are when papers carry them.
        age = 3 * 86400 if article_id in texts else 30 * 86400
        created = now - timedelta(seconds=rng.uniform(0, age))
        batch.append((article_id, signature.to_bytes(), signature.band_keys(), created))
        if len(batch) == 5000:
            repo.signatures.add_many(batch)
            batch = []
    if batch:
        repo.signatures.add_many(batch)
    return texts


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"median {statistics.median(ordered) * 1000:6.2f} ms   p95 {p95 * 1000:6.2f} ms"


def rss_mb() -> tuple[float, float]:
    current = 0.0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            current = int(line.split()[1]) / 1024
    return current, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(label: str, url: str, total: int, samples: int) -> None:
    rng = random.Random(42)
    words = vocabulary(rng)
    now = datetime.now(UTC)
    repo = Repository(url)
    started = time.perf_counter()
    texts = fill(repo, total, rng, words, now)
    repo.signatures.refresh_statistics()
    fill_seconds = time.perf_counter() - started
    # Articles that arrive now: half are copies of stored stories, half new stories.
    arrivals = []
    for n in range(samples):
        if n % 2 == 0:
            arrivals.append(copy_of(rng, texts[rng.choice(list(texts))], words))
        else:
            arrivals.append(story_text(rng, words))
    first_new = total + 1
    bulk_articles(repo, first_new, 2 * samples, now, {})
    prepared = [(story_signature(None, text), text) for text in arrivals]

    inserts, queries = [], []
    for n, (signature, _) in enumerate(prepared):
        keys = signature.band_keys()
        t0 = time.perf_counter()
        repo.signatures.add(first_new + n, signature.to_bytes(), keys, now)
        t1 = time.perf_counter()
        repo.signatures.candidates(keys, since=now - timedelta(seconds=WINDOW),
                                       until=now + timedelta(seconds=WINDOW),
                                       before_id=first_new + n)
        t2 = time.perf_counter()
        inserts.append(t1 - t0)
        queries.append(t2 - t1)

    index = StoryIndex(repo, threshold=0.55, window_seconds=WINDOW)
    whole, clustered = [], 0
    for n, text in enumerate(arrivals):
        t0 = time.perf_counter()
        found = index.add(first_new + samples + n, None, text, now, now)
        whole.append(time.perf_counter() - t0)
        clustered += found is not None

    sizes = repo.signatures.index_bytes()
    rss, peak = rss_mb()
    print(f"\n== {label}: {total:,} stored articles (index filled in {fill_seconds:.0f} s)")
    print(f"insert one signature + {len(prepared[0][0].band_keys())} band keys: {percentiles(inserts)}")
    print(f"query candidates (bands, 7-day window):   {percentiles(queries)}")
    print(f"StoryIndex.add end to end (normalise, MinHash, insert, query, verify, cluster): "
          f"{percentiles(whole)}; {clustered}/{samples} arrivals clustered "
          f"({samples // 2 + samples % 2} were copies)")
    for name, size in sizes.items():
        print(f"{name}: {size / 2**20:7.1f} MiB on disk with indexes "
              f"({size / (total + 3 * samples):.0f} bytes per article)")
    print(f"process RSS {rss:.0f} MiB (peak {peak:.0f} MiB)")
    repo.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        run("SQLite", f"sqlite:///{directory}/bench.db", args.articles, args.samples)
    if args.sqlite_only:
        return
    import psycopg

    name = f"raqib_bench_{os.getpid()}"
    admin = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        run("PostgreSQL", f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}",
            args.articles, args.samples)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
