"""Crawl benchmark: the whole fixture web (with every fault) twice, and extraction quality.

Prints: first crawl wall time and counts, second crawl new articles and article downloads,
and the mean token F1 of extracted bodies against the expected text, on the sample pages and on
the saved real pages under tests/pages/real/.
"""

from __future__ import annotations

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


if __name__ == "__main__":
    extraction_quality()
    crawl_twice()
