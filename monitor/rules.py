"""Watch rules: named queries (monitor.query) matched against articles, with explanations.

A `RuleSet` compiles its rules once (monitor.matching: the word table, screens and plans).
`RuleSet.evaluate` then indexes an article once, skips the rules whose words are absent, decides
the rest, and builds clauses and snippets for the rules that matched.
Syntax, normalisation and stemming: docs/rules.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from monitor.arabic import NATIVE
from monitor.matching import (
    Hit,
    IndexedArticle,
    Lexicon,
    Plan,
    _Field,
    _heads,
    _literal,
    plan_of,
)
from monitor.query import (
    MAX_NEAR,
    MIN_WILDCARD_PREFIX,
    And,
    Near,
    Node,
    Not,
    Or,
    Phrase,
    QuerySyntaxError,
    Screen,
    Word,
    parse_query,
    positive_words,
    screen_of,
    words_of,
)

__all__ = [
    "FIELDS", "MAX_NEAR", "MIN_WILDCARD_PREFIX", "And", "Hit", "IndexedArticle", "Lexicon",
    "Near", "Node", "Not", "Or", "Phrase", "Query", "QuerySyntaxError", "RuleMatch", "RuleSet",
    "RuleVerdict", "WatchRule", "Word", "_heads", "_literal", "compile_query",
]

FIELDS: Final = ("title", "body")


@dataclass(eq=False)
class Query:
    """A compiled query: its source text and clause tree."""

    source: str
    root: Node

    def match(self, article: IndexedArticle, fields: Iterable[str] = FIELDS) -> list[Hit] | None:
        """The positive clauses that matched (None when the query does not match)."""
        fields = tuple(fields)
        if not article.matches(self.root, fields):
            return None
        return article.hits(self.root, fields)


def compile_query(query: str) -> Query:
    """Parse a query, raising QuerySyntaxError with the position of the first problem."""
    return Query(query, parse_query(query))


# --- rules, matches and explanations -------------------------------------------------------

SNIPPET_CONTEXT: Final = 8  # words of context on each side of a matched clause
MAX_SNIPPETS: Final = 5
MAX_SNIPPET_WORDS: Final = 40  # merged windows stop growing here, so one snippet is never the article


@dataclass(init=False)
class WatchRule:
    """A named query, compiled on construction (QuerySyntaxError when it does not parse).

    `languages` and `fields` may be any sequence (YAML gives lists); they are kept as tuples.
    """

    id: str
    name: str
    query: str
    languages: tuple[str, ...]
    fields: tuple[str, ...]
    enabled: bool
    compiled: Query = field(repr=False, compare=False)
    screen: Screen | None = field(repr=False, compare=False)

    def __init__(self, id: str, name: str, query: str, languages: Iterable[str] = (),
                 fields: Iterable[str] = FIELDS, enabled: bool = True) -> None:
        self.id, self.name, self.query, self.enabled = id, name, query, enabled
        self.languages = tuple(_language(lang) for lang in languages or ())
        self.fields = tuple(fields or FIELDS)
        unknown = [name for name in self.fields if name not in FIELDS]
        if unknown:
            raise ValueError(f"rule {self.id!r}: unknown field {unknown[0]!r} (use title, body)")
        self.compiled = compile_query(self.query)
        self.screen = screen_of(self.compiled.root)

    def applies_to(self, language: str | None) -> bool:
        """Whether the rule looks at an article in `language` (None: language unknown)."""
        return not self.languages or language is None or _language(language) in self.languages


@dataclass
class RuleMatch:
    """A rule that matched an article: the clauses that matched and original-text snippets."""

    rule_id: str
    clauses: list[str]
    snippets: list[str]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, as stored with the article."""
        return {"rule_id": self.rule_id, "clauses": list(self.clauses),
                "snippets": list(self.snippets)}


@dataclass
class RuleVerdict:
    """One rule's verdict on an article, matched or not, with the reason (for `rules test`)."""

    rule_id: str
    name: str
    matched: bool
    reason: str
    clauses: list[str] = field(default_factory=list)
    snippets: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"rule_id": self.rule_id, "name": self.name, "matched": self.matched,
                "reason": self.reason, "clauses": list(self.clauses),
                "snippets": list(self.snippets)}


class RuleSet:
    """Watch rules evaluated together on one indexed article."""

    def __init__(self, rules: Iterable[WatchRule]) -> None:
        self.rules: list[WatchRule] = list(rules)
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"duplicate rule id {rule.id!r}")
            seen.add(rule.id)
        self.lexicon = Lexicon(word for rule in self.rules for word in words_of(rule.compiled.root))
        self._plans: list[tuple[WatchRule, Plan]] = [
            (rule, plan_of(rule.compiled.root)) for rule in self.rules]
        # A rule can match only if one of its words outside NOT occurs: an article's words
        # present give, through this table, the few rules worth screening.
        by_word: dict[Word, set[int]] = {}
        self._always: set[int] = set()
        for at, rule in enumerate(self.rules):
            if rule.screen is None:
                self._always.add(at)
            for word in positive_words(rule.compiled.root):
                by_word.setdefault(word, set()).add(at)
        self._rules_by_word = {word: frozenset(ats) for word, ats in by_word.items()}

    def __iter__(self) -> Iterator[WatchRule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def get(self, rule_id: str) -> WatchRule | None:
        """The rule with this id, if any."""
        return next((rule for rule in self.rules if rule.id == rule_id), None)

    def index(self, title: str | None, text: str | None) -> IndexedArticle:
        """An article indexed for these rules."""
        return IndexedArticle(title, text, self.lexicon)

    def evaluate(self, title: str, text: str, language: str | None = None) -> list[RuleMatch]:
        """Matches of the enabled rules that apply to `language` (None: every language)."""
        article = self.index(title, text)
        wanted = None if language is None else _language(language)
        by_word, plans = self._rules_by_word, self._plans
        present = article.present(FIELDS) or set()
        candidates = set(self._always).union(
            *[by_word[word] for word in present if word in by_word])
        matches = []
        for rule, plan in [plans[at] for at in sorted(candidates)]:
            if not rule.enabled or (rule.languages and wanted is not None
                                    and wanted not in rule.languages):
                continue
            if not article.screened(rule.screen, rule.fields):
                continue
            if not plan.decide(article.searched(rule.fields)):
                continue
            hits = article.plan_hits(plan, rule.fields) or []
            matches.append(RuleMatch(rule.id, _clauses(rule, article, hits),
                                     _snippets(article, hits)))
        return matches

    def explain(self, title: str, text: str, language: str | None = None) -> list[RuleVerdict]:
        """Every rule's verdict on the article, with what matched or what was missing."""
        article = self.index(title, text)
        return [_verdict(rule, article, language) for rule in self.rules]


def _language(code: str) -> str:
    return code.strip().lower().replace("_", "-").split("-")[0]


def _clauses(rule: WatchRule, article: IndexedArticle, hits: list[Hit]) -> list[str]:
    source, searched = rule.compiled.source, article.searched(rule.fields)
    return list(dict.fromkeys(_describe(plan_of(hit.node), searched, source) for hit in hits))


def _describe(plan: Plan, searched: list[_Field], source: str) -> str:
    """A matched positional clause, naming only the OR alternatives that matched."""
    if plan.kind is Near:
        left = _describe(plan.children[0], searched, source)
        right = _describe(plan.children[1], searched, source)
        return f"{left} NEAR/{plan.node.distance} {right}"  # type: ignore[attr-defined]
    if plan.kind is Or:
        found = [_describe(child, searched, source) for child in plan.children
                 if child.decide(searched)]  # a positional clause holds where it has spans
        return found[0] if len(found) == 1 else "(" + " OR ".join(found) + ")"
    if plan.text is None:  # a plan belongs to one rule's query: its text never changes
        plan.text = " ".join(plan.node.describe(source).split())
    return plan.text


def _snippets(article: IndexedArticle, hits: list[Hit]) -> list[str]:
    """Original-text windows around the matched spans, title first, overlapping ones merged."""
    by_field: dict[str, list[tuple[int, int]]] = {}
    for hit in hits:
        for name, start, end in hit.spans:
            found = by_field.get(name)
            if found is None:
                by_field[name] = [(start, end)]
            else:
                found.append((start, end))
    snippets: list[str] = []
    for name in FIELDS:
        if name not in by_field:
            continue
        indexed = article.fields[name]
        last = indexed.size - 1
        windows: list[list[int]] = []
        spans = by_field[name]
        spans.sort()
        for at, (start, end) in enumerate(spans):
            if at and spans[at - 1] == (start, end):  # found by two clauses: one place
                continue
            lo = start - SNIPPET_CONTEXT if start > SNIPPET_CONTEXT else 0
            hi = end + SNIPPET_CONTEXT if end + SNIPPET_CONTEXT < last else last
            if windows and lo <= windows[-1][1] + 1 and hi - windows[-1][0] <= MAX_SNIPPET_WORDS:
                if hi > windows[-1][1]:
                    windows[-1][1] = hi
            else:
                windows.append([lo, hi])
        windows = windows[:MAX_SNIPPETS - len(snippets)]
        excerpts = indexed.split.excerpts([(lo, hi) for lo, hi in windows])
        for (lo, hi), excerpt in zip(windows, excerpts, strict=True):
            # A snippet shows any run of whitespace as one space. Every whitespace character
            # but the space is unprintable, so a printable excerpt without "  " is already even.
            # The usual unevenness is a line break where two paragraphs meet.
            text = excerpt
            if NATIVE is not None:
                text = NATIVE.even_spaces(text)
            elif "  " in text or not text.isprintable():
                text = text.replace("\n", " ")
                if "  " in text or not text.isprintable():
                    text = " ".join(text.split())
            if name == "body":
                text = ("…" if lo > 0 else "") + text + ("…" if hi < last else "")
            snippets.append(text)
    return snippets


def _verdict(rule: WatchRule, article: IndexedArticle, language: str | None) -> RuleVerdict:
    if not rule.enabled:
        return RuleVerdict(rule.id, rule.name, False, "disabled")
    if not rule.applies_to(language):
        return RuleVerdict(rule.id, rule.name, False,
                           f"language {language!r} is not among {', '.join(rule.languages)}")
    hits = rule.compiled.match(article, rule.fields)
    if hits is not None:
        clauses = _clauses(rule, article, hits)
        return RuleVerdict(rule.id, rule.name, True, "matched: " + " · ".join(clauses),
                           clauses, _snippets(article, hits))
    root, source = rule.compiled.root, rule.compiled.source
    parts = root.children if isinstance(root, And) else [root]
    missing, excluded, why = [], [], []
    for part in parts:
        if isinstance(part, Not):
            child_hits = article.hits(part.child, rule.fields)
            if child_hits is not None:
                excluded.append(" ".join(part.child.describe(source).split()))
                why.extend(child_hits)
        elif article.hits(part, rule.fields) is None:
            missing.append(" ".join(part.describe(source).split()))
    reasons = [f"missing: {clause}" for clause in missing]
    reasons += [f"excluded by NOT {clause}" for clause in excluded]
    return RuleVerdict(rule.id, rule.name, False, "; ".join(reasons), [],
                       _snippets(article, why))
