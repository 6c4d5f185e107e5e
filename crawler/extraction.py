"""Turning a fetched page into an article: title, body text, language, date, canonical link.

Pure functions of their inputs (no I/O), so that they run in a process pool off the reactor
and are tested offline on saved pages.
"""

from __future__ import annotations

import copy
import hashlib
import os
import re
import signal
import threading
import time
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import lxml.html
from lxml import etree

from crawler.dates import find_published_date
from crawler.urls import canonical_url, same_site
from monitor.arabic import normalized_words

MIN_BODY_CHARS = 200
MIN_BODY_WORDS = 30
_ARABIC_LETTER = re.compile(r"[\u0621-\u064A\u066E-\u06D3\u06FA-\u06FF]")
_LATIN_LETTER = re.compile(r"[A-Za-z]")
_ARABIC_LETTERS = re.compile(_ARABIC_LETTER.pattern + "+")
_LATIN_LETTERS = re.compile(_LATIN_LETTER.pattern + "+")
# Blocks that trafilatura sometimes keeps on Gulf news pages: news tickers, "related news",
# share bars, cookie banners. Removed before extraction by class/id names.
_BOILERPLATE = re.compile(
    r"(^|[\s_-])(ticker|breaking|marquee|news-?bar|related|similar|more-news|read-?more|"
    r"most-?read|popular|trending|share|sharing|social|cookie|consent|gdpr|newsletter|"
    r"subscribe|breadcrumbs?|comments?|advert|ads?|banner|sidebar|footer|tags?|author-box|"
    r"print-?bar|toolbar)([\s_-]|$)",
    re.IGNORECASE,
)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
# Characters XML and lxml refuse (C0 controls but tab, LF, CR; lone surrogates; U+FFFE/U+FFFF):
# one of them anywhere in a page used to make the whole page "not an article".
# Vertical tab and form feed are white space in HTML: they become spaces.
_NOT_XML_CHARS = re.compile("[\x00-\x08\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_NOT_XML_SPACE = re.compile("[\x0b\x0c]")


def without_control_chars(html: str) -> str:
    """The page without the characters that no XML/HTML tree can hold."""
    return _NOT_XML_SPACE.sub(" ", _NOT_XML_CHARS.sub("", html))


# What raqib asks of trafilatura (benchmarks/bench_rules.py times this call): the body text and
# the metadata's title. The pipeline makes it as `trafilatura_body` and `trafilatura_title`,
# which give the same text and title without the metadata raqib does not use (htmldate's date
# search, author, site name, categories, tags, licence: a third of the call).
TRAFILATURA_OPTIONS = {"with_metadata": True, "include_comments": False, "include_tables": False,
                       "include_images": False, "deduplicate": False, "favor_precision": True}
_BODY_OPTIONS = {**TRAFILATURA_OPTIONS, "with_metadata": False}


def trafilatura_body(tree: lxml.html.HtmlElement, url: str) -> str | None:
    """The body text trafilatura finds (`TRAFILATURA_OPTIONS`); the tree is left as it was."""
    import trafilatura  # on first use: the crawl process only hands pages to its workers

    document = trafilatura.bare_extraction(tree, url=url, **_BODY_OPTIONS)
    return document.text if document is not None else None


def trafilatura_title(tree: lxml.html.HtmlElement) -> str | None:
    """The title trafilatura's metadata gives (`TRAFILATURA_OPTIONS`' `document.title`): the
    meta tags, then JSON-LD, then the page's own title and headings, trimmed as it trims it."""
    from html import unescape

    from trafilatura.metadata import examine_meta, extract_meta_json, extract_title
    from trafilatura.utils import line_processing

    metadata = examine_meta(tree)
    try:
        metadata = extract_meta_json(tree, metadata)
    except Exception:  # noqa: BLE001 (trafilatura's own guard: bugs in its JSON-LD reading)
        pass
    title = metadata.title or extract_title(tree)
    if not isinstance(title, str):
        return None
    if len(title) > 10000:
        title = title[:9999] + "…"
    return line_processing(unescape(title))


def prepared_tree(html: str) -> lxml.html.HtmlElement | None:
    """The tree `extract_article` hands trafilatura: parsed, boilerplate blocks dropped."""
    tree = parse_html(html)
    if tree is not None:
        _drop_boilerplate(tree)
    return tree


@dataclass(frozen=True)
class ExtractedArticle:
    """What extraction found in an article page."""

    url: str
    title: str | None
    text: str
    language: str | None
    published_at: datetime | None
    published_raw: str | None
    published_method: str | None
    content_fingerprint: str


@dataclass(frozen=True)
class ProcessedPage:
    """Everything about an article page that is a pure function of it, computed in the
    extraction worker: the article, the watch rules it matches (as stored), its near-duplicate
    sketch (None when too short) and its full-text index terms."""

    article: ExtractedArticle
    matches: list[dict]
    sketch: Any
    terms: list[str]


PRIMED = "primed"  # process_page(rules=PRIMED): the rule set this worker was started with
_worker_rules: Any = None


def prime(rules: Any) -> None:
    """Pool initializer: keep the rule set in this worker (crawler.pool.ExtractionPool), and
    end the worker when its crawl process is gone (killed with -9, it cannot tell its pool)."""
    global _worker_rules
    _worker_rules = rules
    # Ctrl-C reaches the whole process group from a terminal: the crawl decides how to stop
    # (crawler.runner), and a pool broken by it would fail every page left.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(1)
    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def process_page(html: str, url: str, *, timezone: str, fetched_at: datetime,
                 default_language: str | None = None, source: str | None = None,
                 country: str | None = None, kind: str | None = None, rules: Any = None,
                 max_text_chars: int = 0) -> ProcessedPage | None:
    """The article in a page and all that follows from its text alone (rules, near-duplicate
    sketch, index terms), or None when the page has no article body. `rules`: a RuleSet,
    PRIMED (this worker's), or None (no rules)."""
    from crawler.neardup import sketch

    # A pure function of the text; taken from storage.search_index itself (not through
    # crawler.store) so that a worker does not import Scrapy and the repository: 1 s a worker.
    from storage.search_index import index_terms

    found = _extract(html, url, timezone=timezone, fetched_at=fetched_at,
                     default_language=default_language, max_text_chars=max_text_chars)
    if found is None:
        return None
    # The body's words are read once: the fingerprint, the sketch and the index terms share them.
    article, words = found
    rule_set = _worker_rules if rules == PRIMED else rules
    matches = [match.to_dict() for match in rule_set.evaluate(
        article.title or "", article.text, article.language, source=source, country=country,
        kind=kind)] if rule_set is not None else []
    return ProcessedPage(article, matches, sketch(article.title, article.text, words=words),
                         index_terms(article.title, article.text, text_words=words))


def extract_article(html: str, url: str, *, timezone: str, fetched_at: datetime,
                    default_language: str | None = None,
                    max_text_chars: int = 0) -> ExtractedArticle | None:
    """The article in a page, or None when the page has no article body.

    `max_text_chars` (0: no limit): a longer body is cut there (at a line or word end) and
    ends with TEXT_CUT_NOTE."""
    found = _extract(html, url, timezone=timezone, fetched_at=fetched_at,
                     default_language=default_language, max_text_chars=max_text_chars)
    return found[0] if found is not None else None


def _extract(html: str, url: str, *, timezone: str, fetched_at: datetime,
             default_language: str | None, max_text_chars: int,
             ) -> tuple[ExtractedArticle, list[str]] | None:
    """`extract_article`, and the normalised words of the body (`normalized_words`)."""
    page = parse_html(html)  # the one parse: extraction works on a copy, dates read the page
    if page is None:
        return None
    canonical = _canonical_link(page, url)
    prepared = copy.deepcopy(page)
    _drop_boilerplate(prepared)
    raw = trafilatura_body(prepared, url)
    if not raw:
        return None
    try:
        found_title = trafilatura_title(prepared)
    except (TypeError, ValueError):  # as trafilatura's own call took it: no article
        return None
    title = _tidy(found_title) if found_title else None
    if max_text_chars and len(raw) > 2 * max_text_chars:  # bound every step after this one
        raw = raw[:2 * max_text_chars]
    text = _without_title(_tidy(raw), title)
    if max_text_chars and len(text) > max_text_chars:
        text = cut_text(text, max_text_chars)
    if len(text) < MIN_BODY_CHARS or len(text.split(maxsplit=MIN_BODY_WORDS)) < MIN_BODY_WORDS:
        return None
    published = find_published_date(page, url=url, timezone=timezone, fetched_at=fetched_at,
                                    title=title, body=text)
    words = normalized_words(text)
    return ExtractedArticle(
        url=canonical,
        title=title,
        text=text,
        language=detect_language(text) or default_language,
        published_at=published.value if published else None,
        published_raw=published.raw if published else None,
        published_method=published.method if published else None,
        content_fingerprint=content_fingerprint(text, words=words),
    ), words


TEXT_CUT_NOTE = "[…] (النص مقتطع — text cut)"


def cut_text(text: str, limit: int) -> str:
    """The first `limit` characters of a text, ended at a line or word, with TEXT_CUT_NOTE."""
    head = text[:limit]
    end = max(head.rfind("\n"), head.rfind(" "))
    if end > limit // 2:
        head = head[:end]
    return head.rstrip() + "\n" + TEXT_CUT_NOTE


def parse_html(html: str) -> lxml.html.HtmlElement | None:
    """A page's HTML as a tree, or None when there is nothing to parse."""
    # lxml refuses a str that still carries its <?xml encoding=…?> declaration.
    html = without_control_chars(_XML_DECLARATION.sub("", html or ""))
    if not html.strip():
        return None
    # Comments and processing instructions are left out, as trafilatura's own parser leaves
    # them out: handed a tree that still has them, trafilatura can put a comment's text in the
    # body (alyaum.com's "<!-- /73240985/Alyaum-Inside-Article-300X250 -->" between two <br>
    # once the ad's <div> is dropped). A parser per call: lxml parsers are not shared safely
    # between threads.
    parser = lxml.html.HTMLParser(remove_comments=True, remove_pis=True)
    try:
        return lxml.html.document_fromstring(html, parser=parser)
    except (etree.ParserError, ValueError):
        return None


def _canonical_link(tree: lxml.html.HtmlElement, url: str) -> str:
    """The page's same-site `rel=canonical` address, else its own, canonicalised."""
    for href in tree.xpath('//head/link[@rel="canonical"]/@href'):
        candidate = canonical_url(href, base=url)
        if candidate.startswith("http") and same_site(candidate, url):
            return candidate
    return canonical_url(url)


def _drop_boilerplate(tree: lxml.html.HtmlElement) -> None:
    body = tree.find("body")
    page_chars = len(body.text_content()) if body is not None else 0
    candidates = tree.xpath("//body//nav|//body//footer|//body//aside|//body//form"
                            "|//body//*[@class or @id]")
    for element in candidates:
        if element.tag in ("body", "html", "article", "main") or element.getparent() is None:
            continue
        if element.tag not in ("nav", "footer", "aside", "form"):
            names = f"{element.get('class', '')} {element.get('id', '')}"
            if not _BOILERPLATE.search(names):
                continue
        # A block that holds most of the page's text is kept whatever it is called: some
        # sites wrap the whole page in a <form>, or name the story "article-share-body".
        if len(element.text_content()) < page_chars / 2:
            element.drop_tree()


def _without_title(text: str, title: str | None) -> str:
    """The body without a first line that only repeats the headline."""
    first, _, rest = text.partition("\n")
    if title and rest and " ".join(first.split()) == " ".join(title.split()):
        return rest
    return text


def _tidy(text: str) -> str:
    lines = (re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def detect_language(text: str) -> str | None:
    """`ar` or `en` by script, or None when the text has too few letters to tell."""
    sample = text[:3000]
    # Counted by runs (a word at a time), not by a list of every letter.
    arabic = sum(map(len, _ARABIC_LETTERS.findall(sample)))
    latin = sum(map(len, _LATIN_LETTERS.findall(sample)))
    if arabic + latin < 20:
        return None
    return "ar" if arabic >= latin else "en"


def content_fingerprint(text: str, *, words: list[str] | None = None) -> str:
    """A hash of the body's words as watch rules read them (monitor.arabic: spacing,
    punctuation, tashkeel, tatweel, hamza forms and case ignored), after Unicode's NFKC,
    without the metadata lines at its start and end (`without_metadata_lines`): a copy that
    shows a date line or a source credit around the same text is the same text.

    `words`: `normalized_words(text)` when the caller has them (used when NFKC and the metadata
    lines change nothing, as for most bodies)."""
    body = without_metadata_lines(text)
    if words is None or len(body) != len(text) or not unicodedata.is_normalized("NFKC", text):
        words = normalized_words(unicodedata.normalize("NFKC", body))
    return hashlib.sha256(" ".join(words).encode("utf-8")).hexdigest()


def _vocabulary_words() -> set[str]:
    from crawler.neardup import _PLACES
    from monitor.vocabulary import HIJRI_MONTHS, MONTHS, NEWS_AGENCIES, WEEKDAYS

    words = set(_PLACES)
    for table in (MONTHS, WEEKDAYS, HIJRI_MONTHS, NEWS_AGENCIES):
        for names in table.values():
            for name in names:
                words.update(normalized_words(name))
    words.update(normalized_words(
        "هـ ه م الموافق ص م مساء صباحا الساعة التاريخ بتاريخ في آخر تحديث تم التحديث نشر نشرت "
        "منذ يوم اليوم أمس الأحد الاثنين am pm gmt utc updated published posted last update on "
        "at st nd rd th ksa"))
    return words


_METADATA_WORDS: set[str] | None = None
# A short line opening with one of these is a byline or a source credit.
_CREDIT_OPENERS = set(normalized_words(
    "المصدر مصدر المصادر بقلم كتب كتبت تحرير تصوير إعداد متابعة متابعات مراسل مراسلنا "
    "source sources by written reporting photo"))


def is_metadata_line(line: str) -> bool:
    """Whether a line is only a date, a time, a dateline, a byline or a source credit
    ("05/03/2024", "الرياض 14 رجب 1446 هـ (واس)", "المصدر: واس", "بقلم: …", "(واس)")."""
    global _METADATA_WORDS
    words = normalized_words(line)
    if not words or len(words) > 14:
        return False
    if words[0] in _CREDIT_OPENERS and len(words) <= 8:
        return True
    if _METADATA_WORDS is None:
        _METADATA_WORDS = _vocabulary_words()
    return all(word.isdigit() or word in _METADATA_WORDS for word in words)


def without_metadata_lines(text: str) -> str:
    """The body without the metadata lines (`is_metadata_line`) at its start and end (three at
    most each side): what the fingerprint is taken of."""
    lines = text.split("\n")
    start, end = 0, len(lines)
    while start < min(3, end - 1) and is_metadata_line(lines[start]):
        start += 1
    while end - 1 > start and len(lines) - end < 3 and is_metadata_line(lines[end - 1]):
        end -= 1
    return "\n".join(lines[start:end])
