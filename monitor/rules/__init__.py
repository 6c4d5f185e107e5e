"""Watch rules: named queries matched against articles, with explanations (docs/rules.md).

Read in order: `syntax` (the query language), `clauses` (what each clause means), `article`
(an article read once for all the rules), `explain` (clauses, snippets, reasons), then here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from monitor.rules.article import FIELDS, IndexedArticle, Lexicon
from monitor.rules.clauses import And, Clause, Hit, Near, Or, Phrase, Prefilter, Word, twins
from monitor.rules.explain import clauses, failures, snippets
from monitor.rules.syntax import MAX_DEPTH, MAX_NEAR, QuerySyntaxError, parse_query

Node = Clause  # the name monitor.digest_render knows clauses by
__all__ = ["FIELDS", "MAX_DEPTH", "MAX_NEAR", "And", "Clause", "Hit", "IndexedArticle", "Lexicon",
           "Near", "Node", "Or", "Phrase", "Prefilter", "Query", "QuerySyntaxError", "RuleMatch",
           "RuleSet", "RuleVerdict", "WatchRule", "Word", "compile_query"]


@dataclass(eq=False)
class Query:
    """A compiled query: its text, its clause tree, and warnings on how it was read."""

    source: str
    root: Clause
    warnings: list[str] = field(default_factory=list)

    def match(self, article: IndexedArticle, fields: Iterable[str] = FIELDS) -> list[Hit] | None:
        """The positive clauses that matched (None when the query does not match)."""
        article.learn(self.root)
        return self.root.hits(article, tuple(fields))

    def clauses(self, kind: type[Clause] = Clause) -> list[Clause]:
        """Every clause of the query that is a `kind`, outermost first."""
        found = [self.root]
        for node in found:  # the list grows as it is read: breadth first
            found += node.parts()
        return [node for node in found if isinstance(node, kind)]

    def prefilter(self) -> Prefilter:
        """A condition on index terms (`monitor.arabic.index_terms`) and fields that every
        match meets (`Clause.prefilter`)."""
        return self.root.prefilter()


def compile_query(query: str) -> Query:
    """Parse a query, raising QuerySyntaxError with the position of the first problem."""
    root, warnings = parse_query(query)
    return Query(query, root, warnings)


@dataclass
class WatchRule:
    """A named query, compiled on construction (QuerySyntaxError); pickled as its specification.
    `languages` and `fields` may be any sequence (YAML gives lists), kept as tuples."""

    id: str
    name: str
    query: str
    languages: tuple[str, ...] = ()
    fields: tuple[str, ...] = FIELDS
    enabled: bool = True
    name_ar: str | None = None  # the name in Arabic digests and pages
    compiled: Query = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.languages = tuple(_language(lang) for lang in self.languages or ())
        self.fields = tuple(self.fields or FIELDS)
        if unknown := [name for name in self.fields if name not in FIELDS]:
            raise ValueError(f"rule {self.id!r}: unknown field {unknown[0]!r} (use title, body)")
        self.compiled = compile_query(self.query)

    def __reduce__(self) -> tuple[Any, ...]:
        return (WatchRule, (self.id, self.name, self.query, self.languages, self.fields,
                            self.enabled, self.name_ar))

    def applies_to(self, language: str | None) -> bool:
        """Whether the rule looks at an article in `language` (None: language unknown)."""
        return not self.languages or language is None or _language(language) in self.languages


@dataclass
class RuleMatch:
    """A rule that matched an article: the clauses that matched, and snippets."""

    rule_id: str
    clauses: list[str]
    snippets: list[str]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, as stored with the article."""
        return {"rule_id": self.rule_id, "clauses": list(self.clauses),
                "snippets": list(self.snippets)}


@dataclass
class RuleVerdict:
    """One rule's verdict on an article and why (`rules test`): `reasons`, a line each (the
    failed clauses, shortest first, and the NOTs that excluded it), are `reason` in one line."""

    rule_id: str
    name: str
    matched: bool
    reason: str
    clauses: list[str] = field(default_factory=list)
    snippets: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


class RuleSet:
    """Watch rules evaluated together on an article read once (pickled as its rules).

    An article's words give, through a table of anchors (`Clause.anchors`) to rules, the few
    rules worth deciding, whatever their number; rules that need no words are always decided."""

    def __init__(self, rules: Iterable[WatchRule]) -> None:
        self.rules: list[WatchRule] = list(rules)
        ids = [rule.id for rule in self.rules]
        if len(set(ids)) < len(ids):
            twice = next(rule_id for at, rule_id in enumerate(ids) if rule_id in ids[:at])
            raise ValueError(f"duplicate rule id {twice!r}")
        self.lexicon = Lexicon(word for rule in self.rules
                               for word in rule.compiled.root.query_words())
        self._by_word: dict[Word, list[int]] = {}
        self._always: list[int] = []
        for at, rule in enumerate(self.rules):
            if (anchors := rule.compiled.root.anchors()) is None:
                self._always.append(at)
            for word in anchors or ():
                self._by_word.setdefault(word, []).append(at)
        self._needs = [rule.compiled.root.needs() for rule in self.rules]
        self._twins = twins(rule.compiled.root for rule in self.rules)

    def __reduce__(self) -> tuple[Any, ...]:
        return (RuleSet, (self.rules,))

    def __iter__(self) -> Iterator[WatchRule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def get(self, rule_id: str) -> WatchRule | None:
        """The rule with this id, if any."""
        return next((rule for rule in self.rules if rule.id == rule_id), None)

    def index(self, title: str | None, text: str | None, language: str | None = None, *,
              source: str | None = None, country: str | None = None,
              kind: str | None = None) -> IndexedArticle:
        """An article read for these rules, with what is known of it."""
        known = {"source": source, "country": country and country.upper(), "kind": kind,
                 "lang": language and _language(language)}
        return IndexedArticle(title, text, self.lexicon, twins=self._twins,
                              attributes={name: value for name, value in known.items() if value})

    def candidates(self, article: IndexedArticle) -> list[WatchRule]:
        """The rules that may match the article, in order: their `needs` are met."""
        present = article.present()
        found = set(self._always).union(*[self._by_word[word] for word in present
                                          if word in self._by_word])
        return [self.rules[at] for at in sorted(found)
                if all(not present.isdisjoint(words) for words in self._needs[at])]

    def evaluate(self, title: str, text: str, language: str | None = None, *,
                 source: str | None = None, country: str | None = None,
                 kind: str | None = None) -> list[RuleMatch]:
        """Matches of the enabled rules that apply to `language` (None: every language).
        `source`, `country`, `kind` (from sources.yaml) are what `source:`... clauses test."""
        article = self.index(title, text, language, source=source, country=country, kind=kind)
        matches = []
        for rule in self.candidates(article):
            if rule.enabled and rule.applies_to(language) and (
                    hits := rule.compiled.root.hits(article, rule.fields)) is not None:
                matches.append(RuleMatch(rule.id, clauses(hits, article, rule.fields, rule.query),
                                         snippets(hits, article)))
        return matches

    def explain(self, title: str, text: str, language: str | None = None, *,
                source: str | None = None, country: str | None = None,
                kind: str | None = None) -> list[RuleVerdict]:
        """Every rule's verdict on the article, with what matched or why not."""
        article = self.index(title, text, language, source=source, country=country, kind=kind)
        return [_verdict(rule, article, language) for rule in self.rules]


def _language(code: str) -> str:
    return code.strip().lower().replace("_", "-").split("-")[0]


def _verdict(rule: WatchRule, article: IndexedArticle, language: str | None) -> RuleVerdict:
    if not rule.enabled:
        return RuleVerdict(rule.id, rule.name, False, "disabled", reasons=["disabled"])
    if not rule.applies_to(language):
        why = f"language {language!r} is not among {', '.join(rule.languages)}"
        return RuleVerdict(rule.id, rule.name, False, why, reasons=[why])
    hits = rule.compiled.match(article, rule.fields)
    if hits is not None:
        matched = clauses(hits, article, rule.fields, rule.query)
        why = "matched: " + " · ".join(matched)
        return RuleVerdict(rule.id, rule.name, True, why, matched, snippets(hits, article), [why])
    reasons, struck = failures(rule.compiled.root, article, rule.fields, rule.query)
    return RuleVerdict(rule.id, rule.name, False, "; ".join(reasons), [],
                       snippets(struck, article), reasons)
