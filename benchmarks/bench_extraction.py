"""Extraction benchmark: CPU time of `extract_article` per page, one parse against two.

    python benchmarks/bench_extraction.py [--rounds 20]

On the saved real pages (tests/pages/real) and the demo's sample pages, side by side in one
run: `extract_article` as it is (the page parsed once; trafilatura gets a copy, the dates read
the page), and the way it was before (a second parse of the HTML for the dates). Prints CPU
milliseconds per page and the ratio; the dates found must be the same.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import trafilatura  # noqa: E402

from crawler import extraction  # noqa: E402
from crawler.dates import find_published_date  # noqa: E402
from monitor.demo.sites import SITES, article_page, load_articles  # noqa: E402


def two_parses(html: str, url: str, timezone: str, fetched_at: datetime):
    """The published date as extraction found it with a second parse of the page for dates."""
    tree = extraction.parse_html(html)
    extraction._drop_boilerplate(tree)
    document = trafilatura.bare_extraction(tree, url=url, **extraction.TRAFILATURA_OPTIONS)
    if document is None or not document.text:
        return None
    title = extraction._tidy(document.title) if document.title else None
    text = extraction._without_title(extraction._tidy(document.text), title)
    found = find_published_date(extraction.parse_html(html), url=url, timezone=timezone,
                                fetched_at=fetched_at, title=title, body=text)
    return found.value if found else None


def one_parse(html: str, url: str, timezone: str, fetched_at: datetime):
    article = extraction.extract_article(html, url, timezone=timezone, fetched_at=fetched_at)
    return article.published_at if article else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    now = datetime.now(UTC)
    pages = [(path.read_text("utf-8"), f"https://example.org/{path.stem}", "Asia/Riyadh")
             for path in sorted((ROOT / "tests" / "pages" / "real").glob("*.html"))]
    pages += [(article_page(a, f"https://{a.site}.example{a.path}", SITES[a.site]["name"],
                            SITES[a.site]["language"]), f"https://{a.site}.example{a.path}",
               "Asia/Riyadh") for a in load_articles()]
    for html, url, zone in pages:  # same answers both ways
        assert one_parse(html, url, zone, now) == two_parses(html, url, zone, now), url
    times: dict[str, list[float]] = {"one parse": [], "two parses": []}
    for _ in range(args.rounds):
        for name, way in (("one parse", one_parse), ("two parses", two_parses)):
            started = time.process_time()
            for html, url, zone in pages:
                way(html, url, zone, now)
            times[name].append((time.process_time() - started) / len(pages) * 1000)
    one, two = (statistics.median(times[k]) for k in ("one parse", "two parses"))
    print(f"{len(pages)} pages, {args.rounds} rounds, median CPU ms per page: "
          f"one parse {one:.2f}, two parses {two:.2f}, ratio {one / two:.3f}")


if __name__ == "__main__":
    main()
