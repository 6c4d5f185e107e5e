"""Offline extraction tests: the demo web's pages, saved real pages, legacy charsets, canonical URLs."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from scrapy.http import HtmlResponse

from crawler.extraction import extract_article
from crawler.urls import canonical_url
from monitor.demo.sites import SITES, SampleArticle, article_page, load_articles

REAL_PAGES = Path(__file__).parent / "pages" / "real"
FETCHED_AT = datetime(2024, 11, 20, 12, 0, tzinfo=UTC)
ARTICLES = load_articles()
BOILERPLATE = ("أخبار ذات صلة", "شارك الخبر", "نستخدم ملفات تعريف الارتباط", "جميع الحقوق محفوظة",
               "اشترك في النشرة البريدية", "ارتفاع أسعار النفط في التعاملات الآسيوية", "عاجل",
               "Related stories", "Share this story", "We use cookies", "All rights reserved",
               "Subscribe to our newsletter", "Oil prices rise in Asian trading", "© 2024")
# Saved real pages: (file stem, the page's original address, its language).
REAL = [("cnn_arabic_syria_clashes",
         "http://arabic.cnn.com/2013/middle_east/8/3/syria.clashes/index.html", "ar"),
        ("assabah_tn_khaled_massa", "http://www.assabah.com.tn/article/164913", "ar"),
        ("aljazeera_en_moon_shot", "https://www.aljazeera.com/ajimpact/"
         "nasas-commercial-moon-shot-musk-bezos-firms-bid-191119041538885.html", "en"),
        ("aljazeera_en_helicopter_crash", "https://www.aljazeera.com/news/2019/11/"
         "service-members-killed-afghanistan-helicopter-crash-191120070028895.html", "en"),
        ("albayan_afghan_embassy",
         "https://www.albayan.ae/across-the-uae/news-and-reports/2020-06-03-1.3874341", "ar"),
        ("alyaum_fakhrizadeh_burial", "https://www.alyaum.com/articles/6291787", "ar")]


def body_f1(extracted: str, expected: str) -> float:
    """Token F1 of two texts: word multisets, case-folded, punctuation ignored."""
    got, want = Counter(re.findall(r"\w+", extracted.casefold())), \
        Counter(re.findall(r"\w+", expected.casefold()))
    overlap = sum((got & want).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(got.values()), overlap / sum(want.values())
    return 2 * precision * recall / (precision + recall)


def _extract(html: str, url: str, timezone: str = "Asia/Riyadh"):
    return extract_article(html, url, timezone=timezone, fetched_at=FETCHED_AT)


def _demo_page(article: SampleArticle, url: str) -> str:
    site = SITES[article.site]
    related = [(other.path, other.title) for other in ARTICLES
               if other.site == article.site and other is not article][:2]
    return article_page(article, url, site["name"], site["language"], site["charset"], related)


# --- (a) the demo web's pages -------------------------------------------------------------------

@pytest.mark.parametrize("article", ARTICLES, ids=lambda a: a.slug)
def test_demo_pages_come_out_as_the_story_alone(article):
    url = f"https://{article.site}.example/news/{article.slug}.html"
    extracted = _extract(_demo_page(article, url), url)
    assert extracted is not None
    assert body_f1(extracted.text, article.expected_text) == pytest.approx(1.0)
    assert extracted.text == article.expected_text
    assert extracted.title == article.title
    assert extracted.language == SITES[article.site]["language"]
    assert extracted.url == url
    for phrase in BOILERPLATE:
        assert phrase not in extracted.text, phrase


def test_demo_dates_come_from_the_page():
    by_slug = {article.slug: article for article in ARTICLES}
    ministerial = by_slug["egov-ministerial-26"]
    url = "https://waha.example/news/egov-ministerial-26.html"
    extracted = _extract(_demo_page(ministerial, url), url)
    assert extracted.published_at == datetime(2024, 11, 17, 7, 30, tzinfo=UTC)


# --- (b) saved real pages -----------------------------------------------------------------------

@pytest.mark.parametrize(("stem", "url", "language"), REAL, ids=[r[0] for r in REAL])
def test_real_pages_extract_with_high_f1(stem, url, language):
    # Decoded as Scrapy decodes a response whose header said nothing about the charset.
    html = HtmlResponse(url=url, body=(REAL_PAGES / f"{stem}.html").read_bytes()).text
    expected = (REAL_PAGES / f"{stem}.expected.txt").read_text(encoding="utf-8")
    extracted = _extract(html, url)
    assert extracted is not None
    f1 = body_f1(extracted.text, expected)
    print(f"{stem}: F1 {f1:.3f} ({len(extracted.text)} chars extracted, {len(expected)} expected)")
    assert f1 >= 0.9
    assert extracted.language == language
    assert extracted.title
    assert "â€" not in extracted.text  # UTF-8 read as cp1252 (the Al Jazeera pages declare none)


def test_html_comments_never_reach_the_body():
    # alyaum.com keeps an ad-slot comment between two <br> of the story, next to the ad's <div>.
    url = "https://www.alyaum.com/articles/6291787"
    html = (REAL_PAGES / "alyaum_fakhrizadeh_burial.html").read_text(encoding="utf-8")
    assert "<!-- /73240985/Alyaum-Inside-Article-300X250 -->" in html
    extracted = _extract(html, url)
    assert extracted is not None
    assert "73240985" not in extracted.text
    assert "Alyaum-Inside-Article" not in extracted.text


# --- (c) windows-1256 ---------------------------------------------------------------------------

@pytest.mark.parametrize("header", [True, False], ids=["http-header", "meta-charset-only"])
def test_windows_1256_bytes_decode_as_scrapy_does(header):
    article = next(a for a in ARTICLES if SITES[a.site]["charset"] == "windows-1256")
    url = f"https://sahifa.example{article.path}"
    # ٪ and other characters cp1256 lacks go out as character references, as the site does.
    body = _demo_page(article, url).encode("cp1256", errors="xmlcharrefreplace")
    assert body.decode("latin-1") != body.decode("cp1256")  # really a legacy encoding
    headers = {"Content-Type": "text/html; charset=windows-1256"} if header else {}
    response = HtmlResponse(url=url, body=body, headers=headers)
    extracted = _extract(response.text, url, timezone="Asia/Bahrain")
    assert extracted is not None
    assert extracted.title == article.title
    assert extracted.text == article.expected_text
    assert extracted.language == "ar"


# --- (d) pages without an article ---------------------------------------------------------------

@pytest.mark.parametrize("html", [
    "",
    "   \n",
    "<html><body><h1>معرض الصور</h1><img src='a.jpg'><img src='b.jpg'></body></html>",
    "<html><body><nav><a href='/'>الرئيسية</a> <a href='/news'>محليات</a></nav>"
    "<ul class='news-list'><li><a href='/news/1.html'>افتتاح منتدى الحكومة الرقمية</a></li>"
    "<li><a href='/news/2.html'>اجتماع اللجنة التنفيذية</a></li></ul>"
    "<footer>© 2024 صحيفة الخليج اليوم — جميع الحقوق محفوظة</footer></body></html>",
], ids=["empty", "blank", "gallery", "section-index"])
def test_a_page_without_a_body_gives_none(html):
    assert _extract(html, "https://example.ae/news/x.html") is None


# --- (e) rel=canonical --------------------------------------------------------------------------

# Each test uses its own article: see test_extraction_does_not_depend_on_earlier_pages.

def test_a_same_site_canonical_is_honoured():
    page = _demo_page(ARTICLES[1], "https://www.waha.example/news/story.html?ref=home#top")
    extracted = _extract(page, "https://waha.example/amp/story-1.html?utm_source=whatsapp")
    assert extracted.url == "https://www.waha.example/news/story.html?ref=home"


def test_a_relative_canonical_is_resolved_against_the_page():
    page = _demo_page(ARTICLES[2], "/news/story.html")
    extracted = _extract(page, "https://waha.example/amp/story-1.html")
    assert extracted.url == "https://waha.example/news/story.html"


def test_a_cross_site_canonical_is_ignored():
    # A copier pointing its canonical at the agency must not take the agency's address.
    page = _demo_page(ARTICLES[3], "https://waha.example/news/gcc-interior-committee.html")
    extracted = _extract(page, "https://copycat.example/ar/story-77.html?fbclid=abc")
    assert extracted.url == "https://copycat.example/ar/story-77.html"


def test_extraction_does_not_depend_on_earlier_pages():
    # A syndicated agency story carried word for word by four newspapers in one crawl must
    # come out four times (and be stored once by the duplicate check), not vanish.
    article = next(a for a in ARTICLES if a.slug == "egov-executive-workshop")
    for copy in range(5):
        url = f"https://paper{copy}.example/news/workshop.html"
        assert _extract(_demo_page(article, url), url) is not None, f"copy {copy + 1}"


def test_a_paragraph_shared_by_several_articles_stays_in_each():
    # Agencies close stories with the same sentence; the body (and its fingerprint) must not
    # depend on how many stories with that sentence the process extracted before.
    base = next(a for a in ARTICLES if a.slug == "gcc-oil-committee")
    shared = base.paragraphs[1]
    for number in range(5):
        story = SampleArticle(f"oil-{number}", base.site, f"{base.title} ({number})", "", None, (
            f"Story {number} opens with its own lead paragraph. " + base.paragraphs[0], shared,
            f"Story {number} ends on its own note. " + base.paragraphs[2]))
        url = f"https://gulfdaily.example/news/oil-{number}.html"
        extracted = _extract(_demo_page(story, url), url)
        assert extracted is not None and shared in extracted.text, f"story {number + 1}"


# --- (f) canonical_url --------------------------------------------------------------------------

@pytest.mark.parametrize(("url", "canonical"), [
    ("https://example.ae/news/1.html?utm_source=tw&utm_medium=social&utm_campaign=x",
     "https://example.ae/news/1.html"),
    ("https://example.ae/news/1.html?id=5&fbclid=IwAR0abc&gclid=Cj0KCQ",
     "https://example.ae/news/1.html?id=5"),
    ("https://example.ae/news/1.html#comments", "https://example.ae/news/1.html"),
    ("https://example.ae:443/news/1.html", "https://example.ae/news/1.html"),
    ("http://example.ae:80/news/1.html", "http://example.ae/news/1.html"),
    ("http://example.ae:8080/news/1.html", "http://example.ae:8080/news/1.html"),
    ("HTTPS://WWW.Example.AE/News/1.html", "https://www.example.ae/News/1.html"),
    ("https://example.ae/news?page=2&cat=local", "https://example.ae/news?cat=local&page=2"),
    ("https://example.ae", "https://example.ae/"),
    ("https://example.ae/news//2024//1.html", "https://example.ae/news/2024/1.html"),
    ("https://example.ae/أخبار/مجلس-التعاون",
     "https://example.ae/%D8%A3%D8%AE%D8%A8%D8%A7%D8%B1/"
     "%D9%85%D8%AC%D9%84%D8%B3-%D8%A7%D9%84%D8%AA%D8%B9%D8%A7%D9%88%D9%86"),
    ("https://example.ae/%d8%a3%d8%ae%d8%a8%d8%a7%d8%b1",  # lower-case escapes
     "https://example.ae/%D8%A3%D8%AE%D8%A8%D8%A7%D8%B1"),
    ("https://example.ae/search?q=حكومة", "https://example.ae/search?q=%D8%AD%D9%83%D9%88%D9%85%D8%A9"),
], ids=["utm", "fbclid-gclid", "fragment", "https-443", "http-80", "other-port", "host-case",
        "query-order", "empty-path", "double-slash", "arabic-path", "escape-case", "arabic-query"])
def test_canonical_url(url, canonical):
    assert canonical_url(url) == canonical
    assert canonical_url(canonical) == canonical  # a canonical URL is its own canonical form


def test_canonical_url_resolves_relative_links():
    assert canonical_url("../news/2.html?utm_source=rss", base="https://example.ae/a/b/c.html") \
        == "https://example.ae/a/news/2.html"


# --- date lines, bylines and source credits are metadata, not text (#25.4) -----------------

def _neardup_story(key: str) -> dict:
    import yaml

    data = yaml.safe_load((Path(__file__).parent / "neardup" / "stories_gcc_egov.yaml")
                          .read_text(encoding="utf-8"))
    return data["articles"][key]


@pytest.mark.parametrize(("above", "below"), [
    ("05/03/2024", None),
    ("الثلاثاء 5 مارس 2024 - 10:30 ص", "المصدر: وكالة الأنباء السعودية"),
    ("بقلم: محمد العتيبي", "(واس)"),
    ("آخر تحديث: 5 مارس 2024", "واس"),
])
def test_a_verbatim_copy_with_a_date_line_or_credit_around_it_is_the_same_text(above, below):
    story = _neardup_story("egov23-okaz")
    paragraphs = tuple(p for p in story["text"].split("\n") if p.strip())
    original = SampleArticle(slug="o", site="a", title=story["title"], dateline="",
                             jsonld_date="2024-03-05T09:00:00+03:00", paragraphs=paragraphs)
    dressed = SampleArticle(slug="c", site="b", title=story["title"], dateline="",
                            jsonld_date=None,
                            paragraphs=(above, *paragraphs, *([below] if below else [])))
    first = extract_article(article_page(original, "https://a.example/o", "أ", "ar"),
                            "https://a.example/o", timezone="Asia/Riyadh", fetched_at=FETCHED_AT)
    copy = extract_article(article_page(dressed, "https://b.example/c", "ب", "ar"),
                           "https://b.example/c", timezone="Asia/Riyadh", fetched_at=FETCHED_AT)
    assert first is not None and copy is not None
    assert above in copy.text  # shown as the site shows it…
    assert copy.content_fingerprint == first.content_fingerprint  # …but the same text
    if above[0].isdigit() or above.startswith("الثلاثاء"):  # and the date line dates the copy
        assert copy.published_at is not None and copy.published_method == "text"
        assert copy.published_at.astimezone(ZoneInfo("Asia/Riyadh")).date() == date(2024, 3, 5)


def test_a_copy_with_a_date_line_is_recorded_as_a_duplicate(tmp_path):
    from storage.records import NewArticle
    from storage.repository import Repository

    story = _neardup_story("egov23-spa")
    paragraphs = tuple(p for p in story["text"].split("\n") if p.strip())
    repository = Repository(f"sqlite:///{tmp_path}/d.db")
    results = []
    for site, lines in (("a", paragraphs), ("b", ("14/01/2025", *paragraphs, "المصدر: واس"))):
        page = SampleArticle(slug=site, site=site, title=story["title"], dateline="",
                             jsonld_date=None, paragraphs=lines)
        url = f"https://{site}.example/{site}"
        found = extract_article(article_page(page, url, site, "ar"), url,
                                timezone="Asia/Riyadh", fetched_at=FETCHED_AT)
        results.append(repository.articles.save(NewArticle(
            source=site, url=found.url, fetched_url=url, title=found.title, text=found.text,
            language=found.language, content_fingerprint=found.content_fingerprint,
            fetched_at=FETCHED_AT, published_at=found.published_at)))
    repository.close()
    assert [r.status for r in results] == ["new", "duplicate"]
    assert results[1].duplicate_of == results[0].article_id


def test_lines_that_are_text_are_not_metadata():
    from crawler.extraction import is_metadata_line, without_metadata_lines

    assert not is_metadata_line("عقدت اللجنة اجتماعها الثالث والعشرين في الرياض")
    assert not is_metadata_line("وأكد الوزير أن عام 2024 شهد نموا")
    text = "الرياض 14 رجب 1446 هـ الموافق 14 يناير 2025 م واس\nعقدت اللجنة اجتماعها.\nانتهى"
    assert without_metadata_lines(text) == "عقدت اللجنة اجتماعها.\nانتهى"


def test_a_huge_body_is_stored_cut_with_a_note_and_every_step_is_bounded():
    import resource
    import time

    from crawler.extraction import TEXT_CUT_NOTE, process_page
    from monitor.config import load_config, shipped_config_dir

    story = _neardup_story("egov23-spa")
    paragraphs = [p for p in story["text"].split("\n") if len(p) > 100]
    # About 3 MB of real Arabic, 12,000 paragraphs: fifteen times the default cap.
    page = SampleArticle(slug="h", site="h", title=story["title"], dateline="",
                         jsonld_date="2025-01-14T09:00:00+03:00",
                         paragraphs=tuple(f"{paragraphs[i % len(paragraphs)]} ({i})"
                                          for i in range(12_000)))
    html = article_page(page, "https://h.example/h", "ح", "ar")
    rules = load_config(shipped_config_dir()).rule_set()
    started, rss_before = time.process_time(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    done = process_page(html, "https://h.example/h", timezone="Asia/Riyadh",
                        fetched_at=FETCHED_AT, rules=rules, max_text_chars=200_000)
    seconds = time.process_time() - started
    assert done is not None
    text = done.article.text
    assert text.endswith("\n" + TEXT_CUT_NOTE)
    assert 100_000 < len(text) <= 200_000 + len(TEXT_CUT_NOTE) + 1
    assert done.sketch is not None and done.sketch.shingles <= 4096  # sampled
    assert "gcc-egov-committee" in [m["rule_id"] for m in done.matches]
    # Generous bounds (a shared machine): the point is "seconds, not minutes; MB, not GB".
    assert seconds < 30
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before < 1024 * 1024


@pytest.mark.parametrize("above", [None, "05/03/2024", "آخر تحديث: 5 مارس 2024"])
def test_the_worker_reads_the_words_once_and_finds_what_each_step_finds_alone(above):
    """process_page shares the body's words between the fingerprint, the near-duplicate sketch
    and the index terms: each must be what it is computed alone from the text."""
    from crawler.extraction import content_fingerprint, process_page
    from crawler.neardup import sketch
    from monitor.arabic import normalized_words
    from storage.search_index import index_terms

    story = _neardup_story("egov23-okaz")
    paragraphs = tuple(p for p in story["text"].split("\n") if p.strip())
    # A ligature (NFKC folds it) in one version: the fingerprint must not take the words as such.
    page = SampleArticle(slug="w", site="w", title=story["title"], dateline="", jsonld_date=None,
                         paragraphs=(*([above] if above else []), *paragraphs))
    html = article_page(page, "https://w.example/w", "و", "ar")
    for html_ in (html, html.replace("لا ", "\ufefb ", 1)):
        done = process_page(html_, "https://w.example/w", timezone="Asia/Riyadh",
                            fetched_at=FETCHED_AT)
        alone = extract_article(html_, "https://w.example/w", timezone="Asia/Riyadh",
                                fetched_at=FETCHED_AT)
        assert done is not None and done.article == alone
        text, title = alone.text, alone.title
        assert done.sketch is not None and done.sketch == sketch(title, text)
        assert done.terms == index_terms(title, text)
        words = normalized_words(text)
        assert content_fingerprint(text, words=words) == content_fingerprint(text)
        assert index_terms(title, text, text_words=words) == index_terms(title, text)


@pytest.mark.parametrize(("stem", "url", "language"), REAL, ids=[r[0] for r in REAL])
def test_the_body_and_title_are_trafilaturas_without_its_other_metadata(stem, url, language):
    """raqib asks trafilatura for the body alone and reads the title as its metadata would: the
    same text and title as the call with every metadata field (TRAFILATURA_OPTIONS), the tree
    left as it was for the title."""
    import trafilatura

    from crawler.extraction import (
        TRAFILATURA_OPTIONS,
        prepared_tree,
        trafilatura_body,
        trafilatura_title,
    )

    html = HtmlResponse(url=url, body=(REAL_PAGES / f"{stem}.html").read_bytes()).text
    full = trafilatura.bare_extraction(prepared_tree(html), url=url, **TRAFILATURA_OPTIONS)
    tree = prepared_tree(html)
    body = trafilatura_body(tree, url)
    assert full is not None and body == full.text
    assert trafilatura_title(tree) == full.title and full.title
