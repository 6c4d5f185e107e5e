"""Benchmark of the web view: page and search server times on a large archive.

    python benchmarks/bench_web.py                          # 10k and 100k, SQLite and PostgreSQL
    python benchmarks/bench_web.py --sizes 10000,100000,1000000 --db sqlite,postgresql

Generates realistic Arabic (and some English) news: a word-bigram model of the saved real pages
(tests/pages/real) and the labelled texts (tests/rules_eval, tests/neardup), with the agencies'
datelines and boilerplate; sources from config/sources.yaml; dates over the last years at about
900 articles a day; 4% flagged by the shipped rules (with a matching paragraph and a stored
explanation), 1% by a second rule; 15% near-duplicate copies of a recent article (stories);
crawl runs every 6 hours with some failures. Articles are bulk-inserted (with their full-text
index terms, as `Repository.save_article` writes them), not crawled. Each size is a database of
its own whose newest articles are from today (so that the sources page's 30-day charts and a
week's filter have their real load at every size); PostgreSQL databases are created on
127.0.0.1:5432 (user postgres) and dropped afterwards unless `--keep`.

Each page is requested through the application (Starlette's test client, in process) with
varied parameters; the figures are server time per request (wall; the machine is shared, so the
CPU time is printed too). Budgets: pages p95 < 150 ms, searches p95 < 300 ms.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.config import load_config  # noqa: E402
from storage.repository import Repository  # noqa: E402
from storage.search_index import index_terms  # noqa: E402

PAGE_BUDGET, SEARCH_BUDGET = 0.150, 0.300
PER_DAY = 900
BOILERPLATE = [
    "مجلس التعاون لدول الخليج العربية", "وكالة الأنباء", "صاحب السمو", "خادم الحرمين الشريفين",
    "الأمانة العامة لمجلس التعاون", "أصحاب المعالي والسعادة", "حفظه الله", "رئيس مجلس الوزراء",
    "بحضور صاحب السمو الملكي", "وأكد معاليه", "وأشار سعادته إلى",
]
CITIES = ["الرياض", "أبوظبي", "دبي", "المنامة", "الكويت", "مسقط", "الدوحة", "جدة"]
MONTHS = ["يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو", "يوليو", "أغسطس", "سبتمبر",
          "أكتوبر", "نوفمبر", "ديسمبر"]
AGENCY_TAGS = ["(واس)", "(وام)", "/ بنا /", "(كونا)", "/العُمانية/", "(قنا)"]


# --- text generation ---------------------------------------------------------------------------

class Bigrams:
    """A word-bigram model: the next word drawn by how often it followed the last one."""

    def __init__(self, texts: list[str], rng: random.Random) -> None:
        self.rng = rng
        follows: dict[str, Counter] = defaultdict(Counter)
        starts: Counter = Counter()
        for text in texts:
            for sentence in re.split(r"(?<=[.!؟?])\s+|\n+", text):
                words = sentence.split()
                if len(words) < 3:
                    continue
                starts[words[0]] += 1
                for a, b in zip(words, words[1:], strict=False):
                    follows[a][b] += 1
        # Cumulative weights: a draw is a bisection, not a sum over every follower.
        self.starts = (list(starts), list(accumulate(starts.values())))
        self.follows = {w: (list(c), list(accumulate(c.values()))) for w, c in follows.items()}

    def sentence(self, low: int, high: int) -> str:
        words, choices = [], self.starts
        word = self.rng.choices(choices[0], cum_weights=choices[1])[0]
        length = self.rng.randint(low, high)
        while len(words) < length:
            words.append(word)
            nxt = self.follows.get(word)
            if nxt is None:
                nxt = self.starts
            word = self.rng.choices(nxt[0], cum_weights=nxt[1])[0]
        return " ".join(words)


def _corpus() -> tuple[list[str], list[str], list[str]]:
    """Arabic texts, English texts, and the texts that match the shipped rule."""
    arabic, english, positives = [], [], []
    for path in sorted((ROOT / "tests/pages/real").glob("*.expected.txt")):
        text = path.read_text(encoding="utf-8")
        (english if text.isascii() or "aljazeera_en" in path.name else arabic).append(text)
    cases = yaml.safe_load((ROOT / "tests/rules_eval/gcc_egov.yaml").read_text(encoding="utf-8"))
    for case in cases["cases"]:
        (english if case["language"] == "en" else arabic).append(case["title"] + ". " + case["body"])
        if case["relevant"]:
            positives.append(case["title"] + "\n" + case["body"])
    for name in ("stories_gcc_egov.yaml", "stories_templates.yaml"):
        stories = yaml.safe_load((ROOT / "tests/neardup" / name).read_text(encoding="utf-8"))
        for article in stories["articles"].values():
            text = article["title"] + ". " + article["text"]
            (english if text.isascii() else arabic).append(text)
    arabic.extend(f"{phrase}." for phrase in BOILERPLATE for _ in range(3))
    return arabic, english, positives


class Archive:
    """Generates articles, their matches and stories, deterministic for a seed."""

    def __init__(self, config, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        arabic, english, self.positives = _corpus()
        self.arabic = Bigrams(arabic, self.rng)
        self.english = Bigrams(english, self.rng)
        self.sources = config.sources
        weights = {"agency": 3, "press": 2, "government": 1}
        self.weights = [weights[s.kind] for s in self.sources]
        self.recent: list[tuple[int, int, str, str, str, list]] = []  # for copies

    def article(self, number: int, moment: datetime) -> dict:
        rng = self.rng
        source = rng.choices(self.sources, self.weights)[0]
        model = self.english if source.language == "en" else self.arabic
        copy_of = self.recent[rng.randrange(len(self.recent))] if (
            self.recent and rng.random() < 0.15) else None
        rules: list = []
        if copy_of is not None:
            root, _id, title, text, language, rules = copy_of
            title = model.sentence(7, 13) if rng.random() < 0.7 else title
            text = text.replace("\n", "\n", 1) + "\n" + model.sentence(8, 20)
            cluster = root
        else:
            language = source.language
            title = model.sentence(7, 13)
            paragraphs = [model.sentence(25, 60) for _ in range(rng.randint(3, 7))]
            if language == "ar" and source.kind == "agency":
                paragraphs[0] = (f"{rng.choice(CITIES)} {rng.randint(1, 28)} "
                                 f"{rng.choice(MONTHS)} {moment.year} م {rng.choice(AGENCY_TAGS)} "
                                 f"{paragraphs[0]} {rng.choice(BOILERPLATE)}")
            roll = rng.random()
            if roll < 0.04:
                positive = rng.choice(self.positives)
                paragraphs.insert(rng.randint(0, len(paragraphs)), positive.replace("\n", " "))
                rules.append(("gcc-egov-committee", positive))
                if roll < 0.01:
                    rules.append(("gcc-egov-authorities", positive))
            text = "\n".join(paragraphs)
            cluster = None
        published = None if (source.kind == "press" and rng.random() < 0.3) else moment
        record = {
            "id": number, "source": source.id, "url": f"https://{source.id}.example/news/{number}",
            "title": title, "text": text, "language": language,
            "published_at": published,
            "published_raw": published.isoformat() if published else None,
            "published_method": rng.choice(["json-ld", "meta", "time", "text"]) if published
            else None,
            "fetched_at": moment + timedelta(minutes=rng.randint(2, 240)),
            "content_fingerprint": hashlib.sha256(f"{number}".encode()).hexdigest(),
            "cluster_id": cluster, "similarity": 0.8 if cluster else None, "rules": rules,
        }
        self.recent.append((cluster or number, number, title, text, language, rules))
        if len(self.recent) > 300:
            self.recent.pop(0)
        return record


def _explanation(rule_id: str, positive: str) -> dict:
    words = positive.split()
    return {"rule_id": rule_id, "clauses": ['"مجلس التعاون"', "~لجنة NEAR/6 \"~حكومة ~إلكترونية\""],
            "snippets": [" ".join(words[:14]), "…" + " ".join(words[14:40]) + "…"]}


# --- bulk loading ------------------------------------------------------------------------------

_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"


def _load_sqlite(repository: Repository, rows: list[dict]) -> None:
    raw = repository.engine.raw_connection()
    try:
        cursor = raw.cursor()
        # The unique URL and fingerprint indexes take random keys: keep their pages in memory.
        cursor.execute("PRAGMA cache_size = -400000")
        cursor.executemany(
            "INSERT INTO articles (id, source, url, title, text, language, published_at, "
            "published_raw, published_method, fetched_at, content_fingerprint, cluster_id, "
            "similarity) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [(r["id"], r["source"], r["url"], r["title"], r["text"], r["language"],
              r["published_at"].strftime(_SQLITE_TIME) if r["published_at"] else None,
              r["published_raw"], r["published_method"], r["fetched_at"].strftime(_SQLITE_TIME),
              r["content_fingerprint"], r["cluster_id"], r["similarity"]) for r in rows])
        cursor.executemany("INSERT INTO article_terms (rowid, terms) VALUES (?, ?)",
                           [(r["id"], " ".join(r["terms"])) for r in rows])
        cursor.executemany("INSERT OR IGNORE INTO article_terms_known (term) VALUES (?)",
                           [(term,) for term in {t for r in rows for t in r["terms"]}])
        cursor.executemany(
            "INSERT INTO rule_matches (article_id, rule_id, explanation, matched_at) "
            "VALUES (?,?,?,?)",
            [(r["id"], rule_id, json.dumps(_explanation(rule_id, text), ensure_ascii=False),
              r["fetched_at"].strftime(_SQLITE_TIME)) for r in rows for rule_id, text in r["rules"]])
        raw.commit()
    finally:
        raw.close()


def _load_postgres(repository: Repository, rows: list[dict]) -> None:
    raw = repository.engine.raw_connection()
    try:
        cursor = raw.cursor()

        def naive(moment: datetime | None) -> datetime | None:
            return moment.astimezone(UTC).replace(tzinfo=None) if moment else None

        with cursor.copy("COPY articles (id, source, url, title, text, language, published_at, "
                         "published_raw, published_method, fetched_at, content_fingerprint, "
                         "cluster_id, similarity) FROM STDIN") as copy:
            for r in rows:
                copy.write_row((r["id"], r["source"], r["url"], r["title"], r["text"],
                                r["language"], naive(r["published_at"]), r["published_raw"],
                                r["published_method"], naive(r["fetched_at"]),
                                r["content_fingerprint"], r["cluster_id"], r["similarity"]))
        with cursor.copy("COPY article_terms (article_id, terms) FROM STDIN") as copy:
            for r in rows:  # a tsvector literal: quoted lexemes are taken as they are
                copy.write_row((r["id"], " ".join("'" + t.replace("'", "''") + "'"
                                                  for t in r["terms"])))
        with cursor.copy("COPY rule_matches (article_id, rule_id, explanation, matched_at) "
                         "FROM STDIN") as copy:
            for r in rows:
                for rule_id, text in r["rules"]:
                    copy.write_row((r["id"], rule_id, json.dumps(_explanation(rule_id, text),
                                                                 ensure_ascii=False),
                                    naive(r["fetched_at"])))
        raw.commit()
    finally:
        raw.close()


def load(repository: Repository, archive: Archive, start: int, stop: int, total: int,
         end: datetime) -> None:
    """Articles start+1..stop, dated so that `total` articles end at `end`."""
    span = timedelta(days=total / PER_DAY)
    began = time.monotonic()
    batch: list[dict] = []
    loader = _load_postgres if repository.dialect == "postgresql" else _load_sqlite
    for number in range(start + 1, stop + 1):
        moment = end - span * (1 - number / total) - timedelta(minutes=archive.rng.randint(0, 90))
        record = archive.article(number, moment)
        record["terms"] = index_terms(record["title"], record["text"])
        batch.append(record)
        if len(batch) == 5000 or number == stop:
            loader(repository, batch)
            batch = []
            done = number - start
            rate = done / (time.monotonic() - began)
            print(f"  loaded {number:,} articles ({rate:,.0f}/s, "
                  f"{(stop - number) / rate / 60:.1f} min to go)", file=sys.stderr, flush=True)
    if repository.dialect == "postgresql":
        with repository.engine.begin() as connection:
            connection.exec_driver_sql(
                "SELECT setval(pg_get_serial_sequence('articles', 'id'), max(id)) FROM articles")
    # Statistics, and on PostgreSQL the visibility map that lets index-only scans skip the
    # table: what autovacuum gives a database that was filled over months, not in minutes.
    with repository.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE" if repository.dialect == "postgresql"
                                   else "ANALYZE")


def crawl_runs(repository: Repository, config, end: datetime) -> None:
    """Runs every 6 hours over 30 days per enabled source; some sources fail now and then."""
    from storage.models import CrawlRun

    rng = random.Random(3)
    with repository.db.session() as session:
        for source in config.sources:
            flaky = rng.random() < 0.15
            for run in range(120):
                started = end - timedelta(hours=6 * run, minutes=rng.randint(0, 30))
                failed = flaky and rng.random() < 0.4
                session.add(CrawlRun(source=source.id, started_at=started,
                                     finished_at=started + timedelta(seconds=45),
                                     status="failed" if failed else "ok", counts={"new": 3},
                                     error="HTTP 503 from every feed" if failed else None))


# --- measuring ---------------------------------------------------------------------------------

SEARCHES_TWO_WORDS = ["اجتماع اللجنة", "مجلس التعاون", "الحكومة الرقمية", "وزير الخارجية",
                      "التحول الرقمي", "الخدمات الإلكترونية", "صاحب السمو", "الأمن السيبراني",
                      "هيئة الحكومة", "الدول الأعضاء"]
SEARCHES_NEAR = ["اجتماع* NEAR/5 \"الحكومة الإلكترونية\"", "مجلس NEAR/3 التعاون",
                 "~لجنة NEAR/6 الإلكترونية", "وزير NEAR/4 الخارجية", "الحكومة NEAR/2 الرقمية",
                 "ورشة NEAR/8 الرقمية"]


def measure(client, paths: list[str]) -> tuple[list[float], list[float]]:
    walls, cpus = [], []
    for path in paths:
        cpu, wall = time.process_time(), time.perf_counter()
        response = client.get(path)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        if response.status_code != 200:
            raise SystemExit(f"{path}: HTTP {response.status_code}\n{response.text[:1000]}")
    return walls, cpus


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run_pages(app_client, repository: Repository, config, rng: random.Random,
              requests: int, detail: bool = False) -> dict[str, tuple[list[float], list[float]]]:
    from urllib.parse import quote

    inbox = ["/"]
    page = app_client.get("/").text
    for _ in range(4):  # deeper pages, through the cursor
        found = re.search(r'href="([^"]+)" rel="next"', page)
        if not found:
            break
        inbox.append(found.group(1).replace("&amp;", "&"))
        page = app_client.get(inbox[-1]).text
    week = (datetime.now(UTC) - timedelta(days=7)).date().isoformat()
    sources = [s.id for s in config.sources]
    filtered = (["/?rule=gcc-egov-committee", "/?rule=gcc-egov-authorities", "/?language=en",
                 "/?country=AE", "/?country=KW&rule=gcc-egov-committee", f"/?from={week}"]
                + [f"/?source={rng.choice(sources)}" for _ in range(6)])
    with repository.engine.connect() as connection:
        top = connection.exec_driver_sql("SELECT max(id) FROM articles").scalar()
        flagged = [row[0] for row in connection.exec_driver_sql(
            "SELECT article_id FROM rule_matches ORDER BY article_id DESC LIMIT 2000")]
    stories = [f"/story/{rng.choice(flagged)}" for _ in range(requests)]
    articles = [f"/article/{rng.randint(1, top)}" for _ in range(requests)]

    def cycle(paths: list[str]) -> list[str]:
        return [paths[i % len(paths)] for i in range(requests)]

    plan = {
        "inbox": cycle(inbox),
        "filtered inbox": cycle(filtered),
        "story": stories,
        "article": articles,
        "sources": ["/sources"] * max(5, requests // 3),
        "rules": ["/rules"] * max(5, requests // 3),
        "search: two words": cycle([f"/search?q={quote(q)}" for q in SEARCHES_TWO_WORDS]),
        "search: NEAR": cycle([f"/search?q={quote(q)}" for q in SEARCHES_NEAR]),
    }
    for paths in plan.values():  # warm: templates compiled, caches filled as in a running server
        measure(app_client, paths[:2])
    figures = {name: measure(app_client, paths) for name, paths in plan.items()}
    if detail:  # which address of a kind is slow
        for name in ("inbox", "filtered inbox", "search: two words", "search: NEAR"):
            by_path: dict[str, list[float]] = defaultdict(list)
            for path, wall in zip(plan[name], figures[name][0], strict=True):
                by_path[path].append(wall)
            for path, walls in by_path.items():
                print(f"    {name:<18} {path[:60]:<60} p50 {percentile(walls, 50) * 1000:6.1f}"
                      f"  max {max(walls) * 1000:6.1f}", file=sys.stderr)
    return figures


# --- main --------------------------------------------------------------------------------------

def _postgres_url() -> tuple[str, str]:
    import psycopg

    name = f"raqib_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres",
                         autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", name


def _drop_postgres(name: str) -> None:
    import psycopg

    with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres",
                         autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000",
                        help="article counts, comma-separated, growing (default 10000,100000)")
    parser.add_argument("--db", default="sqlite,postgresql", help="sqlite, postgresql or both")
    parser.add_argument("--requests", type=int, default=30, help="requests per page kind")
    parser.add_argument("--keep", action="store_true", help="keep the databases (paths printed)")
    parser.add_argument("--detail", action="store_true",
                        help="also print p50/p95 of each address (to stderr)")
    parser.add_argument("--existing", metavar="URL",
                        help="measure a database a previous run kept (--keep), loading nothing")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    os.environ.pop("RAQIB_WEB_PASSWORD", None)
    results: list[tuple] = []
    end = datetime.now(UTC)
    if args.existing:
        repository = Repository(args.existing)
        config = load_config(ROOT / "config", database_url=args.existing)
        size = repository.articles.count()
        results.extend(_measure(repository, config, repository.dialect, size, args.requests,
                                args.detail))
        _print(results, header=True)
        return 0
    for kind in args.db.split(","):
        for size in sizes:
            dropped = None
            if kind == "postgresql":
                url, dropped = _postgres_url()
            else:
                url = f"sqlite:///{tempfile.mkdtemp(prefix='raqib-bench-')}/raqib.db"
            print(f"{kind} {size:,}: {url}", file=sys.stderr)
            config = load_config(ROOT / "config", database_url=url)
            repository = Repository(url)
            try:
                crawl_runs(repository, config, end)
                load(repository, Archive(config), 0, size, size, end)
                rows = _measure(repository, config, kind, size, args.requests, args.detail)
                results.extend(rows)
                _print(rows, header=True)
            finally:
                repository.close()
                if dropped and not args.keep:
                    _drop_postgres(dropped)
    print("\nall runs:")
    _print(results, header=True)
    return 0


def _measure(repository: Repository, config, kind: str, size: int, requests: int,
             detail: bool = False) -> list[tuple]:
    from starlette.testclient import TestClient

    from monitor.web import create_app

    client = TestClient(create_app(config, repository))
    figures = run_pages(client, repository, config, random.Random(size), requests, detail)
    index_bytes, articles = repository.browse.index_size()
    rows = []
    for name, (walls, cpus) in figures.items():
        budget = SEARCH_BUDGET if name.startswith("search") else PAGE_BUDGET
        p95 = percentile(walls, 95)
        rows.append((kind, size, name, percentile(walls, 50) * 1000, p95 * 1000,
                     statistics.mean(cpus) * 1000, "ok" if p95 < budget else "OVER"))
    rows.append((kind, size, "index bytes/article", index_bytes / max(articles, 1), None, None,
                 ""))
    return rows


def _print(rows: list[tuple], header: bool) -> None:
    if header:
        print(f"{'database':<11}{'articles':>10}  {'page':<22}{'p50 ms':>9}{'p95 ms':>9}"
              f"{'cpu ms':>9}  budget")
    for kind, size, name, p50, p95, cpu, verdict in rows:
        if p95 is None:
            print(f"{kind:<11}{size:>10,}  {name:<22}{p50:>9.0f}")
        else:
            print(f"{kind:<11}{size:>10,}  {name:<22}{p50:>9.1f}{p95:>9.1f}{cpu:>9.1f}  {verdict}")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
