"""Crawl benchmark: the whole pipeline against bare trafilatura, and extraction quality.

    python benchmarks/bench_crawl.py [--pages 300 1200 5000] [--sites 4] [--profile N]
                                     [--quality] [--db sqlite|postgresql]

For each N, a local web of `--sites` sites serving N distinct realistic Arabic article pages
(a word-bigram model of the real pages in tests/, agency datelines and phrases, menus, ticker,
related links, JSON-LD date; one page in ten a newspaper copy of another site's story) behind
news sitemaps is crawled by `raqib crawl` (the shipped rules, near duplicates on, politeness
opened up: concurrency 8 a site, no AutoThrottle, no delay). In the same run, bare
`trafilatura.bare_extraction(html, with_metadata=True)` is timed on the same pages on one core.
Prints CPU and wall per stored article as ratios of trafilatura's CPU per page, and the peak RSS
(the largest process, and the crawl's process tree summed). `--profile N`: a cProfile of a crawl
of N pages with extraction in the crawl process, summed by area. `--quality`: the older figures
(body token F1 on sample and saved real pages; the fixture web crawled twice).
"""
from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.extraction import extract_article  # noqa: E402
from monitor.demo.sites import SITES, article_page, load_articles  # noqa: E402
from tests.conftest import run_cli  # noqa: E402
from tests.fixture_web import FAULTY_ARTICLE, build_test_web, fixture_sources, write_config  # noqa: E402


def token_f1(extracted: str, expected: str) -> float:
    """Token F1 of two texts (bags of word tokens)."""
    ours, truth = (Counter(re.findall(r"\w+", t.casefold())) for t in (extracted, expected))
    common = sum((ours & truth).values())
    if not common:
        return 0.0
    precision, recall = common / sum(ours.values()), common / sum(truth.values())
    return 2 * precision * recall / (precision + recall)


def extraction_quality() -> None:
    now = datetime.now(UTC)
    scores = []
    for article in [*load_articles(), FAULTY_ARTICLE]:
        language = SITES.get(article.site, {}).get("language", "ar")
        url = f"http://news.example/{article.path}"
        html = article_page(article, url, "موقع", language,
                            related=[("/x", "خبر آخر ذو صلة"), ("/y", "Another story")])
        found = extract_article(html, url, timezone="Asia/Riyadh", fetched_at=now)
        scores.append(token_f1(found.text if found else "", article.expected_text))
    print(f"extraction, sample pages: mean body token F1 {sum(scores) / len(scores):.3f} "
          f"over {len(scores)} pages (min {min(scores):.3f})")
    real = []
    for page in sorted((ROOT / "tests/pages/real").glob("*.html")):
        expected = page.with_suffix(".expected.txt").read_text(encoding="utf-8")
        found = extract_article(page.read_bytes().decode("utf-8", "replace"), "http://example.com/a",
                                timezone="Asia/Riyadh", fetched_at=now)
        real.append(token_f1(found.text if found else "", expected))
        print(f"  real page {page.stem}: F1 {real[-1]:.3f}")
    if real:
        print(f"extraction, saved real pages: mean body token F1 {sum(real) / len(real):.3f} "
              f"over {len(real)} pages")


def crawl_twice() -> None:
    web, _ = build_test_web()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = write_config(Path(tmp) / "config", fixture_sources(web), f"sqlite:///{tmp}/b.db")
            started = time.monotonic()
            first = run_cli("crawl", "--json", config_dir=config)
            seconds = time.monotonic() - started
            articles_first = sum(c for p, c in _hits(web).items())
            print(f"first crawl (7 sources, all faults): {seconds:.1f} s wall, exit {first.returncode}")
            print("  " + first.stdout.strip()[:2000])
            started = time.monotonic()
            second = run_cli("crawl", "--json", "waha", "sahifa", "gulfdaily", config_dir=config)
            seconds = time.monotonic() - started
            import json

            new = sum(r["new"] for r in json.loads(second.stdout))
            downloads = sum(c for p, c in _hits(web).items()) - articles_first
            print(f"second crawl of the unchanged healthy sources: {seconds:.1f} s, {new} new, "
                  f"{downloads} article downloads, exit {second.returncode}")
    finally:
        web.stop()


def _hits(web) -> Counter:
    return Counter({(n, p): c for n, s in web.sites.items() if n in ("waha", "sahifa", "gulfdaily")
                    for p, c in s.hits.items() if p.startswith("/news/")})


# --- the whole pipeline against bare trafilatura ------------------------------------------


def realistic_web(pages: int, sites: int, seed: int = 7):
    """Started local sites serving `pages` article pages in all, and their sources."""
    import json
    import random

    import yaml  # noqa: F401 (the config writer needs it)

    from benchmarks.arabic_corpus import BigramModel, newspaper_copy
    from monitor.demo.sites import SampleArticle, news_sitemap
    from monitor.demo.web import LocalWeb, Page, Site

    rng = random.Random(seed)
    model = BigramModel()
    web = LocalWeb([Site(f"gulf{i:02d}") for i in range(sites)]).start()
    entries: dict[str, list] = {site: [] for site in web.sites}
    stories: list[list[str]] = []
    htmls: list[str] = []
    for k in range(pages):
        site = web[f"gulf{k % sites:02d}"]
        day = f"2025-{1 + k % 12:02d}-{1 + k % 28:02d}T{k % 24:02d}:15:00+03:00"
        if stories and rng.random() < 0.1:
            original, day = rng.choice(stories)
            paragraphs = newspaper_copy(rng, model, original)
            title = model.sentence(rng, 8)
        else:
            title, paragraphs = model.story(rng)
            stories.append((paragraphs, day))
        article = SampleArticle(slug=f"{k}", site=site.name, title=title, dateline="",
                                jsonld_date=day, paragraphs=tuple(paragraphs))
        path = article.path
        related = [(f"/news/{rng.randrange(pages)}.html", model.sentence(rng, 7)) for _ in range(8)]
        from monitor.demo.sites import article_page

        page = article_page(article, site.url(path), site.name, "ar", related=related)
        site.add(path, page)
        htmls.append(page)
        entries[site.name].append((site.url(path), title, day))
    sources = []
    for name, items in entries.items():
        site = web[name]
        site.add("/sitemap.xml", Page(news_sitemap(items), content_type="application/xml"))
        sources.append({"id": name, "name": name, "country": "SA", "language": "ar",
                        "kind": "press", "sitemaps": [site.url("/sitemap.xml")]})
    json.dumps(sources)
    return web, sources, htmls


def bare_trafilatura_cpu(htmls: list[str]) -> float:
    """CPU seconds per page of bare trafilatura on these pages, on one core."""
    import trafilatura

    started = time.process_time()
    for html in htmls:
        trafilatura.bare_extraction(html, with_metadata=True)
    return (time.process_time() - started) / len(htmls)


def _tree_rss(pid: int) -> int:
    """Resident bytes of a process and its descendants (Linux /proc)."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/statm") as statm:
                total += int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    stack.extend(int(child) for child in children.read().split())
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
    return total


def _own_cpu(pid: int) -> float:
    """CPU seconds of one process so far, without its children (Linux /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (FileNotFoundError, ProcessLookupError, ValueError, IndexError):
        return 0.0


def timed_crawl(config: Path, extra: list[str] | None = None) -> dict:
    """Run `raqib crawl` as a child: wall, CPU (with its extraction processes), peak RSS."""
    import subprocess
    import threading

    command = [sys.executable, *(extra or []), "-m", "monitor.cli", "--config-dir", str(config),
               "crawl", "--json"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.monotonic()
    child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    peak = [0]
    own = [0.0]  # CPU seconds of the crawl process itself (its extraction workers not counted)
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.2):
            peak[0] = max(peak[0], _tree_rss(child.pid))
            own[0] = max(own[0], _own_cpu(child.pid))
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    out_chunks: list[str] = []
    reader = threading.Thread(target=lambda: out_chunks.append(child.stdout.read()), daemon=True)
    reader.start()
    err = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.monotonic() - started
    done.set()
    reader.join()
    child.returncode = os.waitstatus_to_exitcode(status)
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "own_cpu": own[0],
            "maxrss": usage.ru_maxrss * 1024, "tree_rss": peak[0], "exit": child.returncode,
            "stdout": "".join(out_chunks), "stderr": err}


def database_url(kind: str, directory: Path) -> tuple[str, callable]:
    if kind == "sqlite":
        return f"sqlite:///{directory}/crawl.db", lambda: None
    import uuid

    import psycopg

    admin = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
    name = f"raqib_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", drop


def pipeline_against_trafilatura(pages: int, sites: int, kind: str, workers: int) -> None:
    import json

    from storage.repository import Repository

    web, sources, htmls = realistic_web(pages, sites)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url, drop = database_url(kind, Path(tmp))
            try:
                config = write_config(Path(tmp) / "config", sources, url,
                                      concurrency_per_site=8, total_concurrency=32,
                                      download_delay=0, autothrottle=False,
                                      extraction_workers=workers, download_timeout=60,
                                      max_articles_per_run=pages + 100)
                bare = bare_trafilatura_cpu(htmls)
                run = timed_crawl(config)
                repository = Repository(url)
                stored = repository.articles.count()
                clustered = sum(1 for batch in repository.articles.batches()
                                for article in batch if article.cluster)
                repository.close()
            finally:
                drop()
        if run["exit"] != 0:
            print(run["stderr"][-3000:])
        failed = sum(r.get("failed", 0) for r in json.loads(run["stdout"] or "[]"))
        per_cpu, per_wall = run["cpu"] / max(stored, 1), run["wall"] / max(stored, 1)
        print(f"N={pages:5d} {kind}: stored {stored} ({clustered} in clusters, {failed} failed), "
              f"exit {run['exit']} | trafilatura {bare * 1000:.1f} ms CPU/page | pipeline "
              f"{per_cpu * 1000:.1f} ms CPU/article = {per_cpu / bare:.2f}x, wall "
              f"{per_wall * 1000:.1f} ms/article = {per_wall / bare:.2f}x | peak RSS: largest "
              f"process {run['maxrss'] / 2**20:.0f} MB, process tree {run['tree_rss'] / 2**20:.0f} MB",
              flush=True)
        own = run["own_cpu"] / max(stored, 1)
        print(f"        CPU per article: crawl process {own * 1000:.1f} ms = {own / bare:.2f}x "
              f"(one core: the wall can go no lower), extraction workers "
              f"{(per_cpu - own) * 1000:.1f} ms = {(per_cpu - own) / bare:.2f}x "
              f"({workers} workers)", flush=True)
    finally:
        web.stop()


def profile_summary(pages: int, sites: int, workers: int = 0) -> None:
    """cProfile of one crawl, summed by step: with `workers` 0 everything runs in the crawl
    process; otherwise the profile is of the crawl process alone (the reactor thread's work)."""
    import pstats

    web, sources, _ = realistic_web(pages, sites)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = write_config(Path(tmp) / "config", sources, f"sqlite:///{tmp}/p.db",
                                  concurrency_per_site=8, download_delay=0, autothrottle=False,
                                  extraction_workers=workers, max_articles_per_run=pages + 100,
                                  download_timeout=60)
            out = Path(tmp) / "crawl.prof"
            timed_crawl(config, ["-m", "cProfile", "-o", str(out)])
            stats = pstats.Stats(str(out))
            if os.environ.get("BENCH_PROFILE_OUT"):
                stats.dump_stats(os.environ["BENCH_PROFILE_OUT"])
    finally:
        web.stop()
    steps = {"extraction (trafilatura, cleaning, dates)": ("crawler/extraction.py", "_extract"),
             "  of which trafilatura.bare_extraction": ("trafilatura/core.py", "bare_extraction"),
             "watch rules (RuleSet.evaluate)": ("monitor/rules/__init__.py", "evaluate"),
             "near-duplicate sketch (neardup.sketch)": ("crawler/neardup.py", "sketch"),
             "index terms": ("storage/search_index.py", "index_terms"),
             "near-duplicate index and cluster": ("storage/signatures.py", "index_in"),
             "storing, one transaction (save_article)": ("crawler/store.py", "save_article"),
             "seen URLs (record_outcome)": ("crawler/store.py", "record_outcome"),
             "database commits": ("~", "<method 'commit' of 'sqlite3.Connection' objects>")}
    total = max(row[3] for row in stats.stats.values())
    where = "everything in the crawl process" if not workers else \
        f"the crawl process only ({workers} extraction workers)"
    print(f"profile of a crawl of {pages} pages, {where}: {total:.1f} s in all")
    for label, (filename, function) in steps.items():
        found = [(calls, cumtime) for (name, _, func), (_, calls, _, cumtime, _)
                 in stats.stats.items() if name.endswith(filename) and func == function]
        calls = sum(c for c, _ in found)
        seconds = max((t for _, t in found), default=0.0)
        print(f"  {label:44s} {seconds:6.2f} s {seconds / total:6.1%}  ({calls} calls)")
    tasks = sum(calls for (name, _, func), (_, calls, _, _, _) in stats.stats.items()
                if name.endswith("asyncio/base_events.py") and func == "create_task")
    statements = sum(calls for (name, _, func), (_, calls, _, _, _) in stats.stats.items()
                     if name == "~" and func in ("<method 'execute' of 'sqlite3.Cursor' objects>",
                                                 "<method 'executemany' of 'sqlite3.Cursor' objects>"))
    print(f"  asyncio tasks created: {tasks} ({tasks / pages:.1f} a page); SQLite statements: "
          f"{statements} ({statements / pages:.1f} a page)")
    stats.sort_stats("tottime").print_stats(12)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, nargs="*", default=[300, 1200, 5000])
    parser.add_argument("--sites", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--profile", type=int, default=0)
    parser.add_argument("--profile-workers", type=int, default=0)
    parser.add_argument("--quality", action="store_true")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.2f}", flush=True)
    if args.quality:
        extraction_quality()
        crawl_twice()
    if args.profile:
        profile_summary(args.profile, args.sites, args.profile_workers)
    for n in args.pages:
        pipeline_against_trafilatura(n, args.sites, args.db, args.workers)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
