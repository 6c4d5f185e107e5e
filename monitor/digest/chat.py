"""Messages for chat channels (Teams, Telegram, Slack, Discord, webhooks…): short, three markups.

A chat message is rendered once, when it is built, in the three markups Apprise's services
read: Telegram's HTML (`<b>`, `<a>` and line breaks — nothing else), Markdown (Teams) and plain
text (generic webhooks, Slack, Discord, Matrix, ntfy); the sender picks the one the service
reads (monitor.digest.channels). Two shapes: one story (linked title, source and date, the
matched snippet, other sources) or one summary of a digest (a linked line per story under each
rule). Pure functions; everything that comes from a crawled page is escaped in each markup.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from html import escape
from zoneinfo import ZoneInfo

from monitor.config import DigestSettings, Source
from monitor.digest.render import (
    count_phrase,
    highlight_spans,
    published_label,
    safe_url,
    source_label,
    story_snippets,
)
from monitor.stories import Story

SNIPPET_CHARS = 280  # chat messages stay short: one passage, cut here
MAX_SUMMARY_STORIES = 20  # a summary lists this many stories, then says how many more
MAX_STORY_MESSAGES = 10  # more stories than this at once: one summary instead of a flood

_WORDS = {
    "ar": {"also": "وردت أيضاً في", "untitled": "(بدون عنوان)", "more": "… و{n} أخرى"},
    "en": {"also": "Also reported by", "untitled": "(untitled)", "more": "… and {n} more"},
}
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")


@dataclass(frozen=True)
class Span:
    """A run of text in a line: plain, bold, or a link (`aside`: a link plain text leaves out)."""

    text: str
    bold: bool = False
    url: str | None = None
    aside: bool = False


Line = list[Span]


@dataclass(frozen=True)
class ChatMessage:
    """One chat message in the three markups, with its title."""

    title: str
    text: str
    html: str
    markdown: str


def chat_message(title: str, lines: Iterable[Line]) -> ChatMessage:
    """A message of `lines` rendered as plain text, Telegram HTML and Markdown."""
    lines = [line for line in lines if line]
    return ChatMessage(title, "\n".join(_text_line(line) for line in lines),
                       "\n".join(_html_line(line) for line in lines),
                       "\n\n".join(_markdown_line(line) for line in lines))


def _text_line(line: Line) -> str:
    # Plain text cannot link: the address follows on a line of its own (chat apps link it).
    text = "".join(f"*{span.text}*" if span.bold and not span.url else span.text
                   for span in line)
    urls = [span.url for span in line if span.url and not span.aside]
    return "\n".join([text, *urls])


def _html_line(line: Line) -> str:
    parts = []
    for span in line:
        part = escape(span.text, quote=False)
        if span.url:
            part = f'<a href="{escape(span.url, quote=True)}">{part}</a>'
        parts.append(f"<b>{part}</b>" if span.bold else part)
    return "".join(parts)


def _markdown_line(line: Line) -> str:
    parts = []
    for span in line:
        part = _MARKDOWN_SPECIAL.sub(r"\\\1", span.text)
        if span.url:
            target = span.url.replace("(", "%28").replace(")", "%29").replace(" ", "%20")
            part = f"[{part}]({target})"
        parts.append(f"**{part}**" if span.bold else part)
    return "".join(parts)


def _link(text: str, url: str, *, bold: bool = False, aside: bool = False) -> Span:
    # A crawled page chooses its links: only web addresses become links.
    return Span(text, bold=bold, url=safe_url(url), aside=aside)


def _one_line(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class ChatStyle:
    """What chat messages of one digest share: language, zone, names of sources and rules."""

    digest: DigestSettings
    sources: Mapping[str, Source]
    rule_names: Mapping[str, str]

    @property
    def language(self) -> str:
        return self.digest.language

    def word(self, key: str) -> str:
        return _WORDS[self.language][key]

    def source(self, story: Story) -> str:
        lead = story.lead
        return source_label(self.sources.get(lead.source), lead.source, self.language)

    def meta(self, story: Story) -> str:
        lead = story.lead
        return " · ".join((self.source(story), published_label(
            lead, self.sources.get(lead.source), ZoneInfo(self.digest.timezone), self.language)))

    def title(self, story: Story) -> str:
        return _one_line(story.lead.title or self.word("untitled"), 300)

    def story_lines(self, story: Story, rule_id: str) -> list[Line]:
        """Linked title, source and date, the matched passage, the other sources."""
        lines: list[Line] = [[_link(self.title(story), story.lead.url, bold=True)],
                             [Span(self.meta(story))]]
        snippets, clauses = story_snippets(story.lead, rule_id)
        if snippets:
            snippet = _one_line(snippets[0], SNIPPET_CHARS)
            lines.append(_marked(snippet, highlight_spans(snippet, clauses)))
        if story.others:
            separator = "، " if self.language == "ar" else ", "
            others: Line = [Span(f"{self.word('also')}: ")]
            for index, other in enumerate(story.others):
                if index:
                    others.append(Span(separator))
                name = source_label(self.sources.get(other.source), other.source, self.language)
                others.append(_link(name, other.url, aside=True))
            lines.append(others)
        return lines


def _marked(snippet: str, spans: list[tuple[int, int]]) -> Line:
    line, position = [], 0
    for start, end in spans:
        line += [Span(snippet[position:start]), Span(snippet[start:end], bold=True)]
        position = end
    line.append(Span(snippet[position:]))
    return [span for span in line if span.text]


def story_message(style: ChatStyle, story: Story, rule_id: str) -> ChatMessage:
    """One story as a short message under the digest's name."""
    return chat_message(style.digest.name or style.digest.id, style.story_lines(story, rule_id))


def summary_message(style: ChatStyle, groups: Mapping[str, list[Story]]) -> ChatMessage:
    """One message for a whole digest: a linked line per story under each rule's name."""
    stories = sum(len(s) for s in groups.values())
    name = style.digest.name or style.digest.id
    lines: list[Line] = []
    shown = 0
    for rule_id, rule_stories in groups.items():
        if shown >= MAX_SUMMARY_STORIES:
            break
        lines.append([Span(f"{style.rule_names.get(rule_id, rule_id)} ({len(rule_stories)})",
                           bold=True)])
        for story in rule_stories[:MAX_SUMMARY_STORIES - shown]:
            lines.append([Span("• "), _link(style.title(story), story.lead.url),
                          Span(f" — {style.meta(story)}")])
            shown += 1
    if stories > shown:
        lines.append([Span(style.word("more").format(n=stories - shown))])
    return chat_message(f"{name}: {count_phrase(stories, style.language)}", lines)


def summary_lines(style: ChatStyle, stories: Iterable[Story]) -> list[Line]:
    """A linked line per story (volume alerts list the day's top stories this way)."""
    return [[Span("• "), _link(style.title(story), story.lead.url),
             Span(f" — {style.meta(story)}")] for story in stories]
