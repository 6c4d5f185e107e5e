"""The extraction processes start lean: the parent's main module is not run again in them."""

from __future__ import annotations

import sys

from crawler.pool import ExtractionPool


def loaded(names: list[str]) -> dict[str, bool]:
    return {name: name in sys.modules for name in names}


def test_a_worker_does_not_import_the_parents_main_module_and_still_extracts():
    from datetime import UTC, datetime

    from crawler.extraction import process_page
    from monitor.demo.sites import article_page, load_articles

    pool = ExtractionPool(1)
    try:
        found = pool.submit(loaded, ["sqlalchemy", "scrapy", "pytest", "monitor.cli"]).result()
        assert found == {"sqlalchemy": False, "scrapy": False, "pytest": False,
                         "monitor.cli": False}
        article = load_articles()[0]
        url = f"https://{article.site}.example/{article.path}"
        done = pool.submit(process_page, article_page(article, url, "موقع", "ar"), url,
                           timezone="Asia/Riyadh", fetched_at=datetime(2025, 1, 1, tzinfo=UTC)).result()
        assert done is not None and done.article.title == article.title
    finally:
        pool.shutdown()
    assert sys.modules["__main__"].__name__ == "__main__"  # given back
