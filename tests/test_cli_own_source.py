"""The README's "Add your own source", followed word for word against a local site (issue 25,
point 17): the entry it shows, `sources check`, the loopback setting, `crawl`, `items`."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from monitor.config import shipped_config_dir
from monitor.demo.sites import article_page, load_articles, rss_feed
from monitor.demo.web import LocalWeb, Site
from tests.conftest import ROOT, run_cli

README = ROOT / "README.md"


def _section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Add your own source\n")
    return text[start:text.index("\n## ", start + 1)]


def _yaml_blocks(section: str) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", section, flags=re.S)


@pytest.fixture
def local_site():
    """A small Arabic news site like the README's example: a feed linked from the home page,
    and a listing of `a.headline` links with a next page."""
    web = LocalWeb([Site("localnews")]).start()
    site = web["localnews"]
    articles = [a for a in load_articles() if a.site == "waha"]
    for article in articles:
        site.add(article.path, article_page(article, site.url(article.path),
                                            "أخبار الخليج المحلية", "ar"))
    site.add("/", '<html><head><link rel="alternate" type="application/rss+xml" '
                  'href="/rss.xml"></head><body><a href="/news/">الأخبار</a></body></html>')

    def listing(chosen, next_page):
        links = "".join(f'<li><a class="headline" href="{a.path}">{a.title}</a></li>'
                        for a in chosen)
        more = f'<a class="next" href="{next_page}">التالي</a>' if next_page else ""
        return (f'<html><body><nav><a href="/">الرئيسية</a> <a href="/about.html">من نحن</a>'
                f'</nav><ul>{links}</ul>{more}</body></html>')

    site.add("/news/", listing(articles[:2], "/news/page-2.html"))
    site.add("/news/page-2.html", listing(articles[2:], None))
    site.add("/rss.xml", rss_feed("أخبار الخليج المحلية", [
        (site.url(a.path), a.title, "Tue, 05 Nov 2024 07:00:00 GMT") for a in articles[:3]]),
        content_type="application/rss+xml")
    yield site
    web.stop()


def test_the_readme_walkthrough_works_on_a_local_site(tmp_path: Path, local_site: Site) -> None:
    section = _section()
    entry, loopback = _yaml_blocks(section)
    config = tmp_path / "raqib-config"
    config.mkdir()
    for shipped in shipped_config_dir().glob("*.yaml"):  # the README's `cp …/*.yaml`
        shutil.copy(shipped, config)
    settings = config / "settings.yaml"
    settings.write_text(settings.read_text(encoding="utf-8").replace(
        "database_url: sqlite:///data/raqib.db", f"database_url: sqlite:///{tmp_path}/raqib.db"),
        encoding="utf-8")
    with (config / "sources.yaml").open("a", encoding="utf-8") as sources:
        sources.write("\n" + entry.replace("https://example.kw", local_site.base_url))

    refused = run_cli("sources", "check", "localnews", config_dir=config)
    assert refused.returncode == 1
    assert "refused: private address" in refused.stdout  # as the README says

    assert "allow_private_addresses: true" in loopback
    text = settings.read_text(encoding="utf-8")
    assert "allow_private_addresses: false" in text
    settings.write_text(text.replace("allow_private_addresses: false",
                                     "allow_private_addresses: true"), encoding="utf-8")
    checked = run_cli("sources", "check", "localnews", config_dir=config)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    rows = [line.split() for line in checked.stdout.splitlines()[2:]]
    assert rows[0][:6] == ["localnews", "healthy", "feed", local_site.url("/rss.xml"),
                           "HTTP", "200"] and rows[0][6] == "3"
    assert rows[1][:5] == ["listing", local_site.url("/news/"), "HTTP", "200", "2"]
    assert "has a next page" in checked.stdout and "extracted" in checked.stdout
    as_json = run_cli("sources", "check", "localnews", "--json", config_dir=config)
    assert json.loads(as_json.stdout)["healthy"] is True

    crawled = run_cli("crawl", "localnews", config_dir=config)
    assert crawled.returncode == 0, crawled.stderr
    summary = next(line.split() for line in crawled.stdout.splitlines()
                   if line.startswith("localnews"))
    assert summary[1:4] == ["ok", "4", "4"]  # all four, the listing's second page included
    listed = run_cli("items", "--source", "localnews", "--format", "jsonl", config_dir=config)
    urls = {json.loads(line)["url"] for line in listed.stdout.splitlines()}
    assert urls == {local_site.url(a.path) for a in load_articles() if a.site == "waha"}
    assert local_site.hits["/about.html"] == 0  # the selector took the headlines only
