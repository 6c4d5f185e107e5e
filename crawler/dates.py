"""Publication dates of article pages, from markup first and visible Arabic/English text last.

Sources are tried in order of trust: JSON-LD, meta tags, ``<time datetime>``, the visible text
near the title and the dateline, the URL. A value that is missing a day (year or month only),
lies more than a day after the fetch, predates web news, or comes from a © line is never used;
when the evidence disagrees the answer is None, because a wrong date is worse than none.

A date without a time of day means 00:00 local time in the source's time zone.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

import lxml.html
from lxml import etree

from crawler import datetext
from monitor.arabic import normalize
from monitor.vocabulary import NEWS_AGENCIES

MAX_AHEAD = timedelta(days=1)


@dataclass(frozen=True)
class PublishedDate:
    value: datetime  # timezone-aware, UTC
    raw: str  # the original string it was read from
    method: str  # 'json-ld' | 'meta' | 'time' | 'text' | 'url'


# Meta keys (name / property / itemprop, lowercased) that carry the publication time.
META_KEYS = (
    "article:published_time", "og:published_time", "og:article:published_time",
    "article:published", "datepublished", "pubdate", "publishdate", "publish-date",
    "publish_date", "published_time", "published-date", "dc.date.issued", "dcterms.issued",
    "sailthru.date", "parsely-pub-date", "cxenseparse:recs:publishtime", "date", "dc.date",
    "dcterms.date", "dcterms.created", "dc:date", "dc:created", "dcterms:created",
)  # fmt: skip
ARTICLE_TYPES = {"newsarticle", "article", "reportagenewsarticle", "blogposting",
                 "analysisnewsarticle", "report", "liveblogposting", "opinionnewsarticle"}  # fmt: skip
_DECOY = re.compile(
    r"side|related|most|popular|latest|recent|widget|more|trend|ticker|footer|breaking|list|"
    r"card|teaser|comment|nav|menu"
)
_DATEISH = re.compile(r"date|time|publish|posted|byline|created|تاريخ|meta|info")
_UPDATEISH = re.compile(r"updat|modif")
_URL_DATES = (
    re.compile(r"/(?P<y>(?:19|20)\d{2})/(?P<m>[01]?\d)/(?P<d>[0-3]?\d)(?:/|$|[-_.])"),
    re.compile(r"(?<![\d])(?P<y>(?:19|20)\d{2})-(?P<m>[01]\d)-(?P<d>[0-3]\d)(?![\d])"),
    re.compile(r"(?:^|[/_\-=.])(?P<y>(?:19|20)\d{2})(?P<m>[01]\d)(?P<d>[0-3]\d)(?=$|[/_\-.?#&])"),
)
_AGENCIES = sorted({normalize(name) for names in NEWS_AGENCIES.values() for name in names},
                   key=len, reverse=True)  # as datetext folds text: "العمانيه", "spa"
_DATELINE_END = re.compile(
    r"(?:\s*م)?\s*[(/]?\s*(?:" + "|".join(_AGENCIES) + r")(?!\w)"
    r"|(?:\s*[^\s\d(/\-–—:|]{1,8}){0,2}\s*(?:[(/\-–—:|\n]|$)"
)
_MACHINE_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_date_text(text: str, *, timezone: str, now: datetime) -> PublishedDate | None:
    """A date written in one visible string (dateline, byline, 'منذ 3 ساعات'), or None."""
    return _from_text(text, ZoneInfo(timezone), now, dateline=False)


def find_published_date(
    doc: lxml.html.HtmlElement | None,
    *,
    url: str,
    timezone: str,
    fetched_at: datetime,
    title: str | None = None,
    body: str | None = None,
) -> PublishedDate | None:
    """Best publication date of an article page, or None when unsure.

    `doc` is the page as crawler.extraction.parse_html parsed it (None: no page, only `body`
    and `url` to go by); it is only read.
    """
    zone = ZoneInfo(timezone)
    if doc is not None:
        for stage in (_from_json_ld, _from_meta):
            found = stage(doc, zone, fetched_at)
            if found:
                return found
        heading = _main_heading(doc, title)
        container = _article_container(doc, heading)
        found = _from_time_tags(doc, container, zone, fetched_at)
        if found is None and container is not None:
            found = _from_near_title(container, heading, zone, fetched_at)
        if found:
            return found
        if body is None and container is not None:
            body = _first_paragraph(container)
    if body:
        found = _from_text(body[:300], zone, fetched_at, dateline=True)
        if found:
            return found
    return _from_url(url, zone, fetched_at)


def _accept(value: datetime, now: datetime) -> bool:
    return value.year >= datetext.MIN_YEAR and value <= now + MAX_AHEAD


def _machine(raw: str, zone: tzinfo, now: datetime, method: str) -> PublishedDate | None:
    """A machine-readable value (ISO 8601, RFC 2822, or text a CMS put there)."""
    raw = raw.strip()
    if not raw or len(raw) > 80:
        return None
    value = None
    text = raw.replace(" ", "T", 1) if re.match(r"^\d{4}-\d{2}-\d{2} \d", raw) else raw
    if re.match(r"^\d{4}-\d{2}-\d{2}", text) and (len(text) > 10 or _MACHINE_DATE_ONLY.match(text)):
        try:
            value = datetime.fromisoformat(text.replace("z", "Z"))
        except ValueError:
            value = None
    if value is None and re.match(r"^[A-Za-z]{3}, \d", raw):
        try:
            value = parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            value = None
    if value is None:
        found = _from_text(raw, zone, now, dateline=False, relative=False)
        return PublishedDate(found.value, raw, method) if found else None
    value = _to_utc(value, zone)
    return PublishedDate(value, raw, method) if value and _accept(value, now) else None


def _to_utc(value: datetime, zone: tzinfo) -> datetime | None:
    """The value in UTC, or None when it has none (0001-01-01 east of UTC, 9999-12-31 west)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def _from_text(
    text: str, zone: tzinfo, now: datetime, *, dateline: bool, relative: bool = True
) -> PublishedDate | None:
    normal, origin = datetext.normalize(text)
    if not normal.strip():
        return None
    short = len(normal.strip()) <= 80
    found = datetext.scan(
        normal,
        zone=zone,
        now=now,
        yearless=dateline or short,
        relative=relative and short and not dateline,
    )
    if dateline:
        found = _dateline_zone(normal, found)
    # Resolve before dropping future values: a second date that disagrees still means "unsure".
    best = datetext.resolve(found)
    value = _to_utc(best.value, zone) if best is not None else None
    if value is None or not _accept(value, now):
        return None
    # A short string (byline, date element) is kept whole; from a long one, the date's own span.
    raw = text.strip() if short else text[origin[best.start] : origin[best.end - 1] + 1]
    return PublishedDate(value, raw, "text")


def _dateline_zone(text: str, found: list[datetext.Found]) -> list[datetext.Found]:
    """The dates of a dateline ("الرياض 6 يونيو 2024 (واس) -"), or [] when the text has none.

    The first date must open the text (a place, 'في', a weekday before it); any date later in
    the lead is an event date, not the publication date.
    """
    if not found:
        return []
    first = found[0]
    prefix = text[: first.start]
    if len(prefix) > 45 or len(re.findall(r"[^\W\d]+", prefix)) > 5 or re.search(r"\d", prefix):
        return []
    stop = re.compile(r"\n|\(|\s[-–—]|--|:|/\s*\w+\s*/|\s+\w+\s*:")
    end = stop.search(text, first.end)
    limit = min(end.start() if end else len(text), first.end + 60)
    zone = [f for f in found if f.start < limit]
    # A dateline ends at a break ("(واس)", "/ وام /", " - ", a new line); "في 15 يونيو 2024
    # أعمال المنتدى" runs on into the sentence, so that date is the event's, not the story's.
    if not _DATELINE_END.match(text, max(f.end for f in zone)):
        return []
    return zone


MAX_JSON_LD_DEPTH = 8  # lists and @graphs within lists and @graphs; real pages use two or three


def _json_ld_objects(data: object) -> list[dict]:
    """Top-level objects of one JSON-LD block, its @graph and lists; not nested mentions."""
    objects: list[dict] = []
    pending: list[tuple[object, int]] = [(data, 0)]
    while pending:
        item, depth = pending.pop()
        if depth > MAX_JSON_LD_DEPTH:
            continue
        if isinstance(item, list):
            pending.extend((child, depth + 1) for child in reversed(item))
        elif isinstance(item, dict):
            objects.append(item)
            pending.append((item.get("@graph", []), depth + 1))
    return objects


def _types(obj: dict) -> set[str]:
    kind = obj.get("@type", [])
    return {str(k).lower() for k in (kind if isinstance(kind, list) else [kind])}


def _from_json_ld(doc: etree._Element, zone: tzinfo, now: datetime) -> PublishedDate | None:
    articles: list[PublishedDate] = []
    others: list[PublishedDate] = []
    for script in doc.xpath('//script[contains(translate(@type,"LDJSON","ldjson"),"ld+json")]'):
        try:
            data = json.loads(script.text or "", strict=False)
        except (ValueError, RecursionError):  # not JSON, or nested deeper than Python's stack
            continue
        for obj in _json_ld_objects(data):
            value = obj.get("datePublished")
            if not isinstance(value, str):
                continue
            found = _machine(value, zone, now, "json-ld")
            if found:
                (articles if _types(obj) & ARTICLE_TYPES else others).append(found)
    for group in (articles, others):
        if group:
            # Two articles with different dates on one page: we cannot tell which is this one.
            return group[0] if len({f.value for f in group}) == 1 else None
    return None


def _from_meta(doc: etree._Element, zone: tzinfo, now: datetime) -> PublishedDate | None:
    values: dict[str, str] = {}
    # <meta>, plus microdata / RDFa on any element (Drupal: <span property="dc:date" content=…>).
    for el in doc.xpath("//meta[@content] | //*[@itemprop or @property][@content or @datetime]"):
        names = el.get("property") or el.get("name") or el.get("itemprop") or ""
        content = el.get("content") or el.get("datetime") or ""
        if not content.strip() or (el.tag != "meta" and _in_decoy(el)):
            continue
        for key in names.lower().split():
            if key in META_KEYS and key not in values:
                values[key] = content
    for key in META_KEYS:
        if key in values:
            found = _machine(values[key], zone, now, "meta")
            if found:
                return found
    return None


def _classes(el: etree._Element) -> str:
    return f"{el.get('class', '')} {el.get('id', '')} {el.get('itemprop', '')}".lower()


def _in_decoy(el: etree._Element, stop: etree._Element | None = None) -> bool:
    """True for (or inside) an aside, nav, footer or a block of other stories."""
    for node in (el, *el.iterancestors()):
        if node is stop:
            return False
        if node.tag in ("aside", "nav") or _DECOY.search(_classes(node)):
            return True
        # An article's own <footer> holds its byline and date (Drupal); the page's does not.
        if node.tag == "footer" and not any(a.tag == "article" for a in node.iterancestors()):
            return True
    return False


def _is_update(el: etree._Element, stop: etree._Element | None) -> bool:
    """True when the element or its wrapper is labelled as the 'last updated' time."""
    for node in (el, *el.iterancestors()):
        if node is stop:
            return False
        if _UPDATEISH.search(_classes(node)):
            return True
    return False


def _main_heading(doc: etree._Element, title: str | None) -> etree._Element | None:
    headings = [h for h in doc.iter("h1") if not _in_decoy(h)]
    if title:
        want = " ".join(title.split())
        for h in headings + list(doc.iter("h2")):
            text = " ".join(h.text_content().split())
            if text and (text in want or want in text):
                return h
    return headings[0] if headings else None


def _article_container(
    doc: etree._Element, heading: etree._Element | None
) -> etree._Element | None:
    if heading is None:
        articles = [a for a in doc.iter("article") if not _in_decoy(a)]
        return articles[0] if len(articles) == 1 else None
    for depth, node in enumerate(heading.iterancestors()):
        if node.tag in ("article", "main") or re.search(
            r"article|story|post|news-?detail", _classes(node)
        ):
            return node
        if depth >= 3 or node.tag == "body":
            break
    # No article markup: the title's wrapper, or one level more unless that is the whole page.
    parent = heading.getparent()
    grand = parent.getparent() if parent is not None else None
    return parent if grand is None or grand.tag in ("body", "html") else grand


def _from_time_tags(
    doc: etree._Element, container: etree._Element | None, zone: tzinfo, now: datetime
) -> PublishedDate | None:
    scope = container if container is not None else doc
    tags = [
        t
        for t in scope.iter("time")
        if t.get("datetime") and not _in_decoy(t, container) and not _is_update(t, container)
    ]
    marked = [t for t in tags if t.get("pubdate") is not None or "publish" in _classes(t)]
    for group in (marked, tags):
        found = [
            f for f in (_machine(t.get("datetime", ""), zone, now, "time") for t in group) if f
        ]
        if found:
            # Several unmarked <time>s that disagree (a list of stories): not sure.
            return found[0] if group is marked or len({f.value for f in found}) == 1 else None
    return None


def _short_text(el: etree._Element) -> str:
    text = " ".join(el.text_content().split())
    return text if 0 < len(text) <= 150 else ""


def _from_near_title(
    container: etree._Element, heading: etree._Element | None, zone: tzinfo, now: datetime
) -> PublishedDate | None:
    """A date in an element labelled as one, else in a short line right beside the title."""
    labelled = [
        e
        for e in container.iter()
        if isinstance(e.tag, str)
        and e.tag not in ("script", "style")
        and _DATEISH.search(_classes(e))
        and not _in_decoy(e, container)
        and not _is_update(e, container)
    ]
    near: list[etree._Element] = []
    if heading is not None:
        # The lines just before and after the title (or its <header>), never a list of links.
        anchor = heading
        parent = heading.getparent()
        if (
            parent is not None and len(parent) == 1 and parent is not container
        ):  # a title alone in its wrapper <div>
            anchor = parent
        siblings = [
            *list(anchor.itersiblings(preceding=True))[:2],
            *list(anchor.itersiblings())[:3],
        ]
        near = [
            e
            for e in siblings
            if isinstance(e.tag, str)
            and e.tag not in ("ul", "ol", "nav", "header", "footer")
            and not e.xpath(".//a")
            and not _in_decoy(e, container)
            and not _is_update(e, container)
        ]
    for el in labelled + near:
        text = _short_text(el)
        if text and not re.search(r"©|copyright|حقوق", text, re.I):
            found = _from_text(text, zone, now, dateline=False)
            if found:
                return found
    return None


def _first_paragraph(container: etree._Element) -> str | None:
    for p in container.iter("p"):
        if _in_decoy(p, container):
            continue
        text = " ".join(p.text_content().split())
        if len(text) >= 40:
            return text
    return None


def _from_url(url: str, zone: tzinfo, now: datetime) -> PublishedDate | None:
    path = url.split("://", 1)[-1]
    path = path[path.find("/") :] if "/" in path else ""
    for pattern in _URL_DATES:
        m = pattern.search(path)
        if not m:
            continue
        try:
            value = datetime(int(m["y"]), int(m["m"]), int(m["d"]), tzinfo=zone).astimezone(UTC)
        except ValueError:
            continue
        if _accept(value, now):
            return PublishedDate(value, m.group(0).strip("/-_.="), "url")
    return None
