"""Hostile documents read offline: feeds and sitemaps, listing selectors, control characters,
and configuration that would crawl the wrong thing."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

import pytest
import yaml
from scrapy.http import HtmlResponse

from crawler.discovery import DocumentTooLarge, read_listing, read_xml
from crawler.extraction import extract_article, without_control_chars
from monitor.config import ConfigError, Listing, load_config
from tests.conftest import run_cli
from tests.hostile.sites import article_html, story
from tests.hostile.web import gzip_bomb

NOW = datetime(2024, 11, 5, 12, 0, tzinfo=UTC)
FEED = ('<?xml version="1.0"?>{prolog}<rss version="2.0"><channel><title>{title}</title>'
        "<item><link>https://example.sa/news/1.html</link></item>"
        "<item><link>https://example.sa/news/{link}.html</link></item></channel></rss>")


def _links(found) -> list[str]:
    return list(found.links)


def test_external_entities_are_not_read():
    prolog = ('<!DOCTYPE rss [<!ENTITY passwd SYSTEM "file:///etc/passwd">'
              '<!ENTITY remote SYSTEM "http://127.0.0.1:9/x">]>')
    found = read_xml(FEED.format(prolog=prolog, title="&passwd;&remote;",
                                 link="&passwd;").encode())
    assert found.kind == "rss"
    assert "https://example.sa/news/1.html" in _links(found)
    assert not any("root:" in link for link in _links(found))


def test_entity_expansion_is_not_performed():
    entities = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    prolog = f'<!DOCTYPE rss [<!ENTITY l0 "lol">{entities}]>'
    found = read_xml(FEED.format(prolog=prolog, title="laughs", link="&l9;").encode())
    assert "https://example.sa/news/1.html" in _links(found)
    assert all(len(link) < 100 for link in _links(found))
    # Used before the first item, libxml2 stops reading at the reference: no links, no bomb.
    assert read_xml(FEED.format(prolog=prolog, title="&l9;", link="2").encode()).links == []


def test_deep_xml_does_not_recurse():
    body = ('<?xml version="1.0"?><rss><channel>' + "<x>" * 100_000 + "</x>" * 100_000
            + "<item><link>https://example.sa/news/2.html</link></item></channel></rss>")
    read_xml(body.encode())  # no RecursionError, no hang: lxml stops at its depth limit


def test_gzipped_sitemaps_are_read_within_the_size_limit():
    sitemap = ('<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
               "<url><loc>https://example.sa/news/3.html</loc></url></urlset>")
    assert _links(read_xml(gzip.compress(sitemap.encode()), 1 << 20)) == [
        "https://example.sa/news/3.html"]
    with pytest.raises(DocumentTooLarge):
        read_xml(gzip_bomb(64 << 20), 2 << 20)
    assert read_xml(b"\x1f\x8b\x08 not really gzip", 1 << 20).kind is None


def _listing_page(body: str) -> HtmlResponse:
    return HtmlResponse("https://example.sa/news/", body=body.encode(), encoding="utf-8")


@pytest.mark.parametrize(("links", "next_"), [
    ('a[href$=".html"]', "a.next"),                     # elements: their href
    ('a[href$=".html"]::attr(href)', "a.next::attr(href)"),  # values, as before
    ("h3.title", "li.pager-next"),                      # elements holding a link
    ('//a[contains(@href, ".html")]/@href', "//a[@class='next']"),  # XPath
])
def test_listing_selectors_may_select_elements_or_values(links, next_):
    page = _listing_page(
        '<h3 class="title"><a href="/news/a.html">أ</a></h3>'
        '<h3 class="title"><a href="b.html">ب</a></h3>'
        '<ul><li class="pager-next"><a class="next" href="/news/?page=2">التالي</a></li></ul>')
    found, next_url = read_listing(page, Listing(url="https://example.sa/news/", links=links,
                                                 next=next_))
    assert found == ["https://example.sa/news/a.html", "https://example.sa/news/b.html"]
    assert next_url == "https://example.sa/news/?page=2"


def _config_error(tmp_path, source: dict) -> str:
    base = {"id": "wrong", "name": "x", "country": "SA", "language": "ar", "kind": "press"}
    (tmp_path / "sources.yaml").write_text(yaml.safe_dump({"sources": [{**base, **source}]}))
    with pytest.raises(ConfigError) as raised:
        load_config(tmp_path)
    return str(raised.value)


@pytest.mark.parametrize(("entry", "field", "says"), [
    ({"listings": [{"url": "https://example.sa/", "links": "a[href*=news"}]},
     "listings.links", "invalid CSS selector 'a[href*=news'"),
    ({"listings": [{"url": "https://example.sa/", "links": "a", "next": "//a[@class='n'"}]},
     "listings.next", "invalid XPath"),
    ({"listings": [{"url": "https://example.sa/", "links": "a::href"}]},
     "listings.links", "invalid CSS selector"),
    ({"feeds": ["https://example.sa/rss?" + "x" * 2100]}, "feeds", "2,123 characters long"),
    ({"sitemaps": ["https://example.sa/" + "s" * 2048]}, "sitemaps", "(URLs over 2,048"),
    ({"listings": [{"url": "https://example.sa/" + "l" * 2048, "links": "a"}]},
     "listings.url", "characters long"),
    ({"listings": [{"url": "javascript:alert(1)", "links": "a"}]}, "listings.url",
     "not an http(s) URL"),
])
def test_wrong_selectors_and_urls_are_refused_at_load(tmp_path, entry, field, says):
    message = _config_error(tmp_path, entry)
    assert f"sources.yaml: source 'wrong': field '{field}': " in message
    assert says in message


def test_the_cli_refuses_an_invalid_selector_in_one_line(tmp_path):
    _config_error(tmp_path, {"listings": [{"url": "https://example.sa/", "links": "a[href*=news"}]})
    result = run_cli("crawl", config_dir=tmp_path, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"raqib: error: {tmp_path}/sources.yaml: source 'wrong': field 'listings.links': "
        "invalid CSS selector 'a[href*=news': Expected ']', got <EOF at 12>"]


@pytest.mark.parametrize("control", ["\x08", "\x1b", "\x00", "\x0b", "\x0c", "\x1f", "\ufffe",
                                     "\ud800"])
def test_one_control_character_does_not_make_a_page_not_an_article(control):
    title, paragraphs = story("example.sa", "control")
    paragraphs[1] = paragraphs[1].replace(" ", f" {control}", 1)
    article = extract_article(article_html(title, paragraphs), "https://example.sa/news/c.html",
                              timezone="Asia/Riyadh", fetched_at=NOW)
    assert article is not None and article.title == title
    assert control not in article.text


def test_only_characters_no_tree_can_hold_are_removed():
    assert without_control_chars("a\tb\nc\rd\x08e\x0cf\x7fg") == "a\tb\nc\rde f\x7fg"
