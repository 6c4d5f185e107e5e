"""Rendering a digest e-mail: subject, HTML part and plain-text part, in Arabic or English.

Pure functions from stored articles to text. The HTML is written for mail clients, not
browsers: table layout, inline styles only, explicit `dir`/`align` on every block (Outlook and
Gmail drop <style> and most CSS), and XHTML-compatible markup so that tests can parse it
strictly. Everything that comes from a crawled page is escaped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from html import escape
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from monitor.arabic import has_arabic
from monitor.config import DigestSettings, Source
from monitor.rules import (
    And,
    IndexedArticle,
    Lexicon,
    Near,
    Node,
    Or,
    Phrase,
    Query,
    QuerySyntaxError,
    compile_query,
)
from monitor.stories import Story
from monitor.vocabulary import COUNTRY_NAMES, display_month, display_weekday
from storage.records import StoredArticle

SNIPPET_FALLBACK_CHARS = 240  # body excerpt when a match left no snippet (e.g. title-only rules)
MAX_SNIPPETS_SHOWN = 2

_PARENTHESES = re.compile(r"\(([^()]+)\)")
_CITIES_AR = {"Asia/Riyadh": "الرياض", "Asia/Dubai": "دبي", "Asia/Qatar": "الدوحة",
              "Asia/Bahrain": "المنامة", "Asia/Kuwait": "الكويت", "Asia/Muscat": "مسقط"}
_WORDS = {
    "ar": {"also": "وردت أيضاً في", "unknown_date": "التاريخ غير معروف", "untitled": "(بدون عنوان)",
           "since": "منذ النشرة السابقة", "brand": "رقيب",
           "footer": "وصلتك هذه الرسالة لأنك مشترك في نشرة «{name}» من رقيب. "
                     "الأوقات بتوقيت {zone}."},
    "en": {"also": "Also reported by", "unknown_date": "date unknown", "untitled": "(untitled)",
           "since": "since the previous digest", "brand": "raqib",
           "footer": "You receive this because you subscribe to the raqib digest “{name}”. "
                     "Times are {zone}."},
}

# Inline styles: the only styling that survives Gmail, Outlook and Apple Mail alike.
_FONT = "font-family:Tahoma,'Segoe UI',Arial,sans-serif;"
_MARK = "background-color:#fff1a8;color:#1b1f23;font-weight:bold;"
_LINK = "color:#0b5394;text-decoration:none;"


@dataclass(frozen=True)
class RenderedDigest:
    """A digest ready to be put in the outbox."""

    subject: str
    html: str
    text: str
    stories: int
    articles: int


# Arabic counted nouns: one, two, 3–10, 11–99, and 100, 101… (singular genitive after them).
_STORY_FORMS = ("خبر واحد", "خبران", "أخبار", "خبراً", "خبر")
_NEW_STORY_FORMS = ("خبر جديد واحد", "خبران جديدان", "أخبار جديدة", "خبراً جديداً", "خبر جديد")


def _counted(count: int, forms: tuple[str, ...]) -> str:
    """`count` with the noun phrase in `forms` in Arabic's number agreement."""
    if count in (1, 2):
        return forms[count - 1]
    tens = count % 100
    form = forms[2] if 3 <= tens <= 10 else forms[3] if 11 <= tens <= 99 else forms[4]
    return f"{count} {form}"


def count_phrase(count: int, language: str) -> str:
    """'3 أخبار جديدة' / '3 new stories', with Arabic's number agreement."""
    if language != "ar":
        return f"{count} new {'story' if count == 1 else 'stories'}"
    return _counted(count, _NEW_STORY_FORMS)


def story_count(count: int, language: str) -> str:
    """'3 أخبار' / '3 stories', with Arabic's number agreement."""
    if language != "ar":
        return f"{count} {'story' if count == 1 else 'stories'}"
    return _counted(count, _STORY_FORMS)


def format_date(moment: datetime | None, zone: ZoneInfo, language: str, *,
                date_only: bool = False) -> str:
    """A publication date in `zone` (with its time unless `date_only`), or 'date unknown'."""
    if moment is None:
        return _WORDS[language]["unknown_date"]
    local = moment.astimezone(zone)
    weekday = display_weekday(local.weekday(), language)
    month = display_month(local.month, language)
    day = f"{weekday} {local.day} {month} {local.year}"
    if date_only:
        return day
    return f"{day}، {local:%H:%M}" if language == "ar" else f"{day}, {local:%H:%M}"


_CLOCK = re.compile(r"(\d{1,2})\s*:\s*(\d{2})")
_ASCII_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


def is_date_only(article: StoredArticle, zone: ZoneInfo) -> bool:
    """Whether the article's page gave a date without a time of day (`zone`: the source's).

    The crawler stores such a date as midnight in the source's time zone: it is one when the
    stored time is exactly that midnight and the text it was read from shows no other time
    (a date read from the URL never has one).
    """
    if article.published_at is None:
        return False
    if article.published_method == "url":
        return True
    local = article.published_at.astimezone(zone)
    if (local.hour, local.minute, local.second, local.microsecond) != (0, 0, 0, 0):
        return False
    raw = (article.published_raw or "").translate(_ASCII_DIGITS)
    return all(int(hour) % 24 == 0 and int(minute) == 0
               for hour, minute in _CLOCK.findall(raw))


def published_label(article: StoredArticle, source: Source | None, zone: ZoneInfo,
                    language: str) -> str:
    """The article's date in `zone`, or the day alone, as the page gave it, when it had no time."""
    source_zone = ZoneInfo(source.timezone) if source is not None else zone
    if is_date_only(article, source_zone):
        # The calendar day the page printed, whatever the digest's time zone.
        return format_date(article.published_at, source_zone, language, date_only=True)
    return format_date(article.published_at, zone, language)


def rule_display_names(rules: Iterable, language: str) -> dict[str, str]:
    """Each rule's name in a digest's language: its `name_ar` in Arabic when it has one."""
    names = {}
    for rule in rules:
        arabic = getattr(rule, "name_ar", None) if language == "ar" else None
        names[rule.id] = arabic or rule.name
    return names


def source_label(source: Source | None, source_id: str, language: str) -> str:
    """The source's name in the digest's language: 'Okaz (عكاظ)' is 'عكاظ' in Arabic."""
    if source is None:
        return source_id
    name = source.name
    inside = _PARENTHESES.search(name)
    if inside and language == "ar" and has_arabic(inside.group(1)):
        return inside.group(1).strip()
    if inside and language == "en" and name[:inside.start()].strip():
        return name[:inside.start()].strip()
    return name


def highlight_spans(snippet: str, clauses: Iterable[str]) -> list[tuple[int, int]]:
    """Character spans of `snippet` that the clauses' words and phrases match, merged and
    sorted: the words, not everything between the two ends of a NEAR (digests, chat messages
    and the web view's listings all mark snippets with it).

    The rule engine finds them (hamza, proclitics, `word*`, `~word` as in matching); each
    distinct clause is parsed once per process, as listings repeat the same few clauses.
    """
    wanted = tuple(dict.fromkeys(clauses))
    indexed = IndexedArticle(snippet, "", _lexicon(wanted))
    tokens = indexed.fields["title"].tokens
    spans: list[tuple[int, int]] = []
    for clause in wanted:
        for query in _clause_phrases(clause):
            for hit in query.match(indexed, ("title",)) or []:
                spans.extend((tokens[first].start, tokens[last].end)
                             for _field, first, last in hit.spans)
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


@lru_cache(maxsize=512)
def _lexicon(clauses: tuple[str, ...]) -> Lexicon:
    """The words of these clauses, so that a snippet is read for all of them at once (rather
    than each query word tried on every word of the snippet)."""
    return Lexicon(word for clause in clauses for query in _clause_phrases(clause)
                   for word in query.root.query_words())


@lru_cache(maxsize=2048)
def _clause_phrases(clause: str) -> tuple[Query, ...]:
    try:
        root = compile_query(clause).root
    except QuerySyntaxError:
        return ()
    return tuple(Query(clause, phrase) for phrase in _phrases(root))


def _phrases(node: Node) -> Iterator[Phrase]:
    """The words and phrases of a clause that can match (not those under NOT)."""
    if isinstance(node, Phrase):
        yield node
    elif isinstance(node, Near):
        yield from _phrases(node.left)
        yield from _phrases(node.right)
    elif isinstance(node, And | Or):
        for child in node.children:
            yield from _phrases(child)


def mark_spans(snippet: str, spans: list[tuple[int, int]], mark_open: str, mark_close: str,
               escape_text) -> str:
    """`snippet` escaped with `escape_text`, the `spans` wrapped in the marks."""
    parts, position = [], 0
    for start, end in spans:
        parts.append(escape_text(snippet[position:start]))
        parts.append(mark_open + escape_text(snippet[start:end]) + mark_close)
        position = end
    parts.append(escape_text(snippet[position:]))
    return "".join(parts)


def story_snippets(article: StoredArticle, rule_id: str) -> tuple[list[str], list[str]]:
    """The matched passages of an article to show (else its opening), and the rule's clauses."""
    explanation = article.explanations.get(rule_id) or {}
    snippets = [s for s in explanation.get("snippets") or [] if s and s.strip() != article.title]
    if not snippets:
        body = " ".join(article.text.split())
        cut = body[:SNIPPET_FALLBACK_CHARS]
        snippets = [cut + ("…" if len(body) > len(cut) else "")] if cut else []
    return snippets[:MAX_SNIPPETS_SHOWN], list(explanation.get("clauses") or [])


def safe_url(url: str) -> str | None:
    # A crawled page chooses its links: only web addresses become clickable.
    return url if urlsplit(url).scheme in ("http", "https") else None


def _direction(text: str, fallback: str) -> str:
    if not text.strip():
        return fallback
    return "rtl" if has_arabic(text) else "ltr"


@dataclass
class _Context:
    digest: DigestSettings
    sources: Mapping[str, Source]
    rule_names: Mapping[str, str]
    zone: ZoneInfo
    language: str
    dir: str
    align: str

    def word(self, key: str) -> str:
        return _WORDS[self.language][key]

    def source(self, article: StoredArticle) -> str:
        return source_label(self.sources.get(article.source), article.source, self.language)

    def published(self, article: StoredArticle) -> str:
        return published_label(article, self.sources.get(article.source), self.zone,
                               self.language)

    def country(self, article: StoredArticle) -> str | None:
        source = self.sources.get(article.source)
        if source is None:
            return None
        return COUNTRY_NAMES[self.language].get(source.country, source.country)


def render_digest(digest: DigestSettings, groups: dict[str, list[Story]], *,
                  sources: Mapping[str, Source], rule_names: Mapping[str, str],
                  now: datetime) -> RenderedDigest:
    """Subject, HTML and text of a digest of `groups` (rule id -> stories)."""
    language = digest.language
    rtl = language == "ar"
    context = _Context(digest, sources, rule_names, ZoneInfo(digest.timezone), language,
                       "rtl" if rtl else "ltr", "right" if rtl else "left")
    stories = sum(len(s) for s in groups.values())
    articles = sum(len(story.articles) for s in groups.values() for story in s)
    name = digest.name or digest.id
    subject = f"{name}: {count_phrase(stories, language)}"
    return RenderedDigest(subject, _html(context, groups, name, stories, now),
                          _text(context, groups, name, stories, now), stories, articles)


def _zone_label(context: _Context, now: datetime) -> str:
    offset = now.astimezone(context.zone).strftime("%z")
    utc = f"UTC{offset[:3]}:{offset[3:]}"
    if context.language == "ar":
        return f"{_CITIES_AR.get(context.digest.timezone, context.digest.timezone)} ({utc})"
    return f"{context.digest.timezone} ({utc})"


def _html(context: _Context, groups: dict[str, list[Story]], name: str, stories: int,
          now: datetime) -> str:
    d, a, lang = context.dir, context.align, context.language
    rows = []
    for rule_id, rule_stories in groups.items():
        rule_name = context.rule_names.get(rule_id, rule_id)
        rows.append(
            f'<tr><td dir="{d}" align="{a}" style="{_FONT}padding:18px 24px 6px 24px;'
            f'text-align:{a};font-size:15px;font-weight:bold;color:#5a6570;'
            f'border-bottom:2px solid #0b5394;">{escape(rule_name)} ({len(rule_stories)})</td></tr>')
        rows.extend(_html_story(context, story, rule_id) for story in rule_stories)
    intro = f"{count_phrase(stories, lang)} {context.word('since')} · {format_date(now, context.zone, lang)}"
    footer = context.word("footer").format(name=name, zone=_zone_label(context, now))
    body = "\n".join(rows)
    return f"""<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" dir="{d}" lang="{lang}">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8" />
<meta name="viewport" content="width=device-width, initial-scale=1" />
<title>{escape(name)}</title>
</head>
<body dir="{d}" style="margin:0;padding:0;background-color:#eef1f4;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" dir="{d}" style="background-color:#eef1f4;">
<tr><td align="center" style="padding:20px 8px;">
<table role="presentation" width="640" cellpadding="0" cellspacing="0" border="0" dir="{d}" style="width:100%;max-width:640px;background-color:#ffffff;border:1px solid #d8dde3;">
<tr><td dir="{d}" align="{a}" style="{_FONT}background-color:#0b5394;color:#ffffff;padding:18px 24px;text-align:{a};">
<div style="font-size:13px;color:#d6e4f5;">{escape(context.word('brand'))}</div>
<div style="font-size:21px;font-weight:bold;line-height:1.5;">{escape(name)}</div>
<div style="font-size:13px;line-height:1.6;">{escape(intro)}</div>
</td></tr>
{body}
<tr><td dir="{d}" align="{a}" style="{_FONT}padding:18px 24px;font-size:12px;line-height:1.7;color:#6a737d;text-align:{a};border-top:1px solid #e1e4e8;">{escape(footer)}</td></tr>
</table>
</td></tr>
</table>
</body>
</html>
"""


def _html_link(url: str, label: str, style: str) -> str:
    safe = safe_url(url)
    if safe is None:
        return escape(label)
    return f'<a href="{escape(safe, quote=True)}" style="{style}">{escape(label)}</a>'


def _html_snippet(context: _Context, snippet: str, clauses: list[str]) -> str:
    direction = _direction(snippet, context.dir)
    marked = mark_spans(snippet, highlight_spans(snippet, clauses), f'<span style="{_MARK}">',
                     "</span>", escape)
    return (f'<div dir="{direction}" style="{_FONT}font-size:14px;line-height:1.8;color:#24292e;'
            f'margin-top:6px;text-align:{"right" if direction == "rtl" else "left"};">'
            f'{marked}</div>')


def _html_story(context: _Context, story: Story, rule_id: str) -> str:
    lead, lang, a = story.lead, context.language, context.align
    title = lead.title or context.word("untitled")
    title_dir = _direction(title, context.dir)
    meta = " · ".join(escape(part) for part in (
        context.source(lead), context.country(lead), context.published(lead)) if part)
    snippets, clauses = story_snippets(lead, rule_id)
    snippet_html = "".join(_html_snippet(context, s, clauses) for s in snippets)
    also = ""
    if story.others:
        links = "، " if lang == "ar" else ", "
        links = links.join(_html_link(o.url, context.source(o), _LINK) for o in story.others)
        also = (f'<div style="{_FONT}font-size:13px;line-height:1.7;color:#586069;margin-top:8px;">'
                f'{escape(context.word("also"))}: {links}</div>')
    title_align = "right" if title_dir == "rtl" else "left"
    return (f'<tr><td dir="{context.dir}" align="{a}" style="{_FONT}padding:14px 24px;'
            f'text-align:{a};border-bottom:1px solid #eef0f2;">'
            f'<div dir="{title_dir}" style="{_FONT}font-size:17px;font-weight:bold;line-height:1.6;'
            f'text-align:{title_align};">{_html_link(lead.url, title, _LINK)}</div>'
            f'<div style="{_FONT}font-size:12px;color:#6a737d;margin-top:2px;">{meta}</div>'
            f'{snippet_html}{also}</td></tr>')


def _text(context: _Context, groups: dict[str, list[Story]], name: str, stories: int,
          now: datetime) -> str:
    lang = context.language
    lines = [f"{context.word('brand')} — {name}",
             f"{count_phrase(stories, lang)} {context.word('since')} · "
             f"{format_date(now, context.zone, lang)}", ""]
    for rule_id, rule_stories in groups.items():
        lines += [f"== {context.rule_names.get(rule_id, rule_id)} ({len(rule_stories)}) ==", ""]
        for story in rule_stories:
            lead = story.lead
            meta = " · ".join(part for part in (
                context.source(lead), context.country(lead), context.published(lead))
                if part)
            lines += [f"• {lead.title or context.word('untitled')}", f"  {meta}", f"  {lead.url}"]
            snippets, clauses = story_snippets(lead, rule_id)
            for snippet in snippets:
                lines.append("  " + mark_spans(snippet, highlight_spans(snippet, clauses),
                                            "*", "*", str))
            if story.others:
                lines.append(f"  {context.word('also')}:")
                lines += [f"    - {context.source(o)}: {o.url}" for o in story.others]
            lines.append("")
    lines += ["-- ", context.word("footer").format(name=name, zone=_zone_label(context, now))]
    return "\n".join(lines) + "\n"
