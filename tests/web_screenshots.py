"""Screenshots of every page of the web view, Arabic and English, at 1280 and 400 px.

    python -m tests.web_screenshots OUTDIR [--db URL]

Seeds a temporary SQLite archive with tests/web_sample.py (unless --db names one), serves the
view on 127.0.0.1 and saves OUTDIR/<page>-<lang>-<width>.png with Debian's Chromium.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from monitor.config import load_config
from monitor.web import create_app
from storage.repository import Repository
from tests import browser
from tests.web_sample import seed

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--db", help="an existing database (default: a seeded temporary one)")
    parser.add_argument("--pages", default="", help="comma-separated page names (default: all)")
    args = parser.parse_args()
    args.outdir.mkdir(parents=True, exist_ok=True)
    url = args.db or f"sqlite:///{tempfile.mkdtemp()}/raqib.db"
    config = load_config(ROOT / "config", database_url=url)
    repository = Repository(url)
    sample = seed(repository, config, hostile=False) if not args.db else None
    story = sample.stories["egov23"][0] if sample else 1
    article = sample.ids.get("egov23-okaz", 1) if sample else 1
    pages = {
        "inbox": "/",
        "inbox-filtered": "/?rule=gcc-egov-committee&country=SA",
        "search": "/search?q=" + "اجتماع* NEAR/5 \"الحكومة الإلكترونية\"",
        "search-error": "/search?q=" + "(لجنة OR اجتماع",
        "search-empty": "/search",
        "story": f"/story/{story}",
        "article": f"/article/{article}",
        "sources": "/sources",
        "rules": "/rules",
        "not-found": "/article/999999",
    }
    wanted = set(filter(None, args.pages.split(",")))
    with browser.serve(create_app(config, repository)) as base, browser.chromium() as driver:
        for lang in ("ar", "en"):
            driver.get(f"{base}/lang/{lang}?next=/")
            for name, path in pages.items():
                if wanted and name not in wanted:
                    continue
                for width in (1280, 400):
                    driver.set_window_size(width, 900)
                    driver.get(base + path)
                    target = args.outdir / f"{name}-{lang}-{width}.png"
                    browser.full_page_png(driver, target, width)
                    print(target)


if __name__ == "__main__":
    main()
