"""From stored articles to what a page shows: stories in order, labels, highlighted snippets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from markupsafe import Markup, escape

from monitor.arabic import has_arabic
from monitor.config import Source
from monitor.digest.render import highlight_spans, source_label
from storage.browse import ListedArticle

KIND_ORDER = {"agency": 0, "government": 1, "press": 2}
MAX_SNIPPETS = 2


def original_first(copies: Sequence[ListedArticle],
                   sources: Mapping[str, Source]) -> list[ListedArticle]:
    """A story's copies, the original first: earliest published (dated copies before undated
    ones), an agency before a government site before a paper, then the first stored."""
    def key(article: ListedArticle):
        source = sources.get(article.source)
        kind = KIND_ORDER.get(source.kind, 3) if source else 3
        return (article.published_at is None, article.published_at or article.fetched_at,
                kind, article.id)
    return sorted(copies, key=key)


@dataclass
class StoryView:
    """One inbox entry."""

    key: int
    lead: ListedArticle
    others: list[ListedArticle]
    rules: list[str]
    snippets: list[Markup] = field(default_factory=list)
    clauses: list[str] = field(default_factory=list)

    @property
    def latest(self) -> datetime:
        return max(copy.when for copy in [self.lead, *self.others])


def story_view(copies: Sequence[ListedArticle], sources: Mapping[str, Source],
               rule: str | None = None) -> StoryView:
    """An inbox entry: the original leads; the snippet is the lead's match, else a copy's."""
    ordered = original_first(copies, sources)
    lead, others = ordered[0], ordered[1:]
    rules = sorted({rule_id for copy in ordered for rule_id in copy.explanations})
    wanted = rule or (rules[0] if rules else None)
    explained = next((copy for copy in ordered if wanted in copy.explanations), None)
    view = StoryView(lead.story, lead, others, rules)
    if explained is not None and wanted is not None:
        explanation = explained.explanations[wanted]
        view.clauses = list(explanation.get("clauses") or [])
        # A snippet that is the whole title says nothing the title does not.
        snippets = [s for s in explanation.get("snippets") or []
                    if " ".join(s.split()) != " ".join((lead.title or "").split())]
        view.snippets = [highlight(s, view.clauses) for s in snippets[:MAX_SNIPPETS]]
    if not view.snippets and lead.excerpt:
        view.snippets = [Markup(escape(_excerpt(lead.excerpt)))]
    return view


def _excerpt(text: str, chars: int = 240) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= chars else flat[:chars].rsplit(" ", 1)[0] + "…"


def highlight(snippet: str, clauses: Sequence[str]) -> Markup:
    """A snippet, escaped, with the words the clauses match in <mark> (the engine finds them)."""
    parts, position = [], 0
    for start, end in highlight_spans(snippet, clauses):
        parts.append(escape(snippet[position:start]))
        parts.append(Markup("<mark>") + escape(snippet[start:end]) + Markup("</mark>"))
        position = end
    parts.append(escape(snippet[position:]))
    return Markup("").join(parts)


def direction(text: str | None) -> str:
    """`rtl` for a text with Arabic letters, else `ltr` (for `dir` where `auto` guesses wrong)."""
    return "rtl" if text and has_arabic(text) else "ltr"


def safe_url(url: str | None) -> str | None:
    """Only web addresses become links: a crawled page chooses its URLs."""
    if not url:
        return None
    return url if urlsplit(url).scheme in ("http", "https") else None


def label(sources: Mapping[str, Source], source_id: str, language: str) -> str:
    """A source's name in the interface's language."""
    return source_label(sources.get(source_id), source_id, language)
