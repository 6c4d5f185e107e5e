"""Atom feeds (RFC 4287) of stories, and CSV exports that spreadsheets open safely."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

# Characters XML 1.0 cannot carry at all: a crawled page may hold them, a feed must not.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


@dataclass
class FeedEntry:
    """One story in a feed."""

    id: str  # a stable URI
    title: str
    link: str | None
    updated: datetime
    published: datetime | None
    source: str
    summary: str
    categories: list[str]
    language: str | None = None


def _clean(value: str) -> str:
    return escape(_NOT_XML.sub("", value))


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def atom_feed(*, feed_id: str, title: str, self_url: str | None, alternate_url: str | None,
              entries: Iterable[FeedEntry], updated: datetime | None = None,
              language: str = "ar") -> str:
    """An Atom document; every value is escaped and stripped of characters XML forbids."""
    entries = list(entries)
    newest = max((entry.updated for entry in entries), default=updated or datetime.now(UTC))
    lines = ['<?xml version="1.0" encoding="utf-8"?>',
             f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang={quoteattr(language)}>',
             f"  <id>{_clean(feed_id)}</id>",
             f"  <title>{_clean(title)}</title>",
             f"  <updated>{_time(newest)}</updated>",
             "  <author><name>raqib</name></author>",
             '  <generator uri="https://example.org/raqib">raqib</generator>']
    if self_url:
        lines.append(f'  <link rel="self" type="application/atom+xml" href={quoteattr(self_url)}/>')
    if alternate_url:
        lines.append(f'  <link rel="alternate" type="text/html" href={quoteattr(alternate_url)}/>')
    for entry in entries:
        lang = f" xml:lang={quoteattr(entry.language)}" if entry.language else ""
        lines.append(f"  <entry{lang}>")
        lines.append(f"    <id>{_clean(entry.id)}</id>")
        lines.append(f"    <title type=\"text\">{_clean(entry.title)}</title>")
        if entry.link:
            lines.append(f'    <link rel="alternate" href={quoteattr(_NOT_XML.sub("", entry.link))}/>')
        lines.append(f"    <updated>{_time(entry.updated)}</updated>")
        if entry.published:
            lines.append(f"    <published>{_time(entry.published)}</published>")
        lines.append(f"    <author><name>{_clean(entry.source)}</name></author>")
        for category in entry.categories:
            lines.append(f"    <category term={quoteattr(_NOT_XML.sub('', category))}/>")
        lines.append(f'    <summary type="text">{_clean(entry.summary)}</summary>')
        lines.append("  </entry>")
    lines.append("</feed>")
    return "\n".join(lines) + "\n"


def article_entry(article, copies: list) -> FeedEntry:
    """A stored article (storage.records.StoredArticle) and its story's other copies as an
    entry, for `raqib items --format atom`."""
    snippets = [snippet for rule_id in article.rules
                for snippet in (article.explanations.get(rule_id) or {}).get("snippets") or []]
    summary = " … ".join(" ".join(s.split()) for s in snippets[:2])
    if not summary:
        body = " ".join(article.text.split())
        summary = body[:240] + ("…" if len(body) > 240 else "")
    if copies:
        summary += "\nAlso reported by: " + ", ".join(copy.source for copy in copies)
    link = article.url if article.url.startswith(("http://", "https://")) else None
    return FeedEntry(id=f"urn:raqib:story:{article.cluster or article.id}",
                     title=article.title or article.url, link=link,
                     updated=max(c.published_at or c.fetched_at for c in [article, *copies]),
                     published=article.published_at, source=article.source, summary=summary,
                     categories=list(article.rules), language=article.language)


# --- CSV ---------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: object) -> str:
    """A cell a spreadsheet shows as text: one that would start a formula gets a leading '."""
    value = "" if cell is None else str(cell)
    stripped = value.lstrip(" ")
    if stripped.startswith(_FORMULA_START) or value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_document(header: list[str], rows: Iterable[list[object]]) -> Iterable[str]:
    """A CSV file in pieces: UTF-8 BOM (Excel then reads Arabic right), every cell neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow([neutralise(cell) for cell in header])
    yield buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([neutralise(cell) for cell in row])
        yield buffer.getvalue()
