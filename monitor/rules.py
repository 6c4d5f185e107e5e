"""Watch rules: named queries (monitor.query) matched against articles, with explanations.

A `RuleSet` compiles its rules once: every exact query word is expanded into the article forms
that read as it (proclitics, see monitor.arabic), and every rule gets the words that any match
of it requires. `RuleSet.evaluate` then splits an article into normalised words once, finds the
rule words present with one set intersection, skips the rules whose required words are absent,
and decides the rest; positions, clauses and snippets are computed only where needed.
Syntax, normalisation and stemming: docs/rules.md.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

from monitor.arabic import Token, Words, light_stem, proclitic_forms, strip_proclitics, tokenize
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
    Word,
    parse_query,
)

__all__ = [
    "FIELDS", "MAX_NEAR", "MIN_WILDCARD_PREFIX", "And", "Hit", "IndexedArticle", "Lexicon",
    "Near", "Node", "Not", "Or", "Phrase", "Query", "QuerySyntaxError", "RuleMatch", "RuleSet",
    "RuleVerdict", "WatchRule", "Word", "compile_query",
]

FIELDS = ("title", "body")
Span = tuple[int, int]


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
        return _hits(self.root, article, fields)


def compile_query(query: str) -> Query:
    """Parse a query, raising QuerySyntaxError with the position of the first problem."""
    return Query(query, parse_query(query))


# --- words of a rule set, and what an article must contain for a rule to match --------------

class Lexicon:
    """The words of a rule set, prepared once: every article form that reads as each exact word,
    and the `_literal`s that each article word provides (cached across articles)."""

    def __init__(self, words: Iterable[Word]) -> None:
        words = set(words)
        self.forms = {word.key: proclitic_forms(word.key) for word in words if word.kind == "exact"}
        owners: defaultdict[str, list[str]] = defaultdict(list)
        for key, forms in self.forms.items():
            for form in forms:
                owners[form].append(key)
        self.owners = {form: frozenset(keys) for form, keys in owners.items()}
        self.heads = frozenset(literal for word in words if word.kind != "exact"
                               if (literal := _literal(word)) is not None)
        self.literals = lru_cache(maxsize=131072)(self._literals_of)

    def _literals_of(self, norm_token: str) -> frozenset[str]:
        literals = _heads(norm_token) & self.heads
        owners = self.owners.get(norm_token)
        return literals | owners if owners else literals

    def present(self, distinct: Iterable[str]) -> set[str]:
        """The `_literal`s of these article words that any rule of the set asks for."""
        return set().union(*map(self.literals, distinct))


def _words_of(node: Node) -> Iterator[Word]:
    if isinstance(node, Phrase):
        yield from node.words
    elif isinstance(node, Near):
        yield from _words_of(node.left)
        yield from _words_of(node.right)
    elif isinstance(node, And | Or):
        for child in node.children:
            yield from _words_of(child)
    elif isinstance(node, Not):
        yield from _words_of(node.child)


@lru_cache(maxsize=4096)
def _fragment(word: Word) -> str:
    """A string that every normalised article word matching a wildcard or stem word contains.

    A reading only drops proclitics (perhaps leaving "ال"+the rest) or a tanwin alif, and a light
    stem only cuts endings: so a matching reading starts with the prefix, or with the stem; only
    a stem ending in a restored ه (three letters: بيتها → بيه) or y (ministries → ministry) may
    differ in its last letter.
    """
    key = word.key
    if word.kind == "stem" and ((len(key) == 3 and key.endswith("ه"))
                                or (key.endswith("y") and key.isascii())):
        key = key[:-1]
    if key.startswith("ال"):
        return key[2:]
    return "" if "ال".startswith(key) else key


def _literal(word: Word) -> str | None:
    """What a word puts in an article's `present` set when it occurs (None: no cheap test).

    An exact word is itself; a wildcard or stem is "*" + the first two or three letters of its
    `_fragment`, which a reading of any matching article word starts with (`_heads`).
    """
    if word.kind == "exact":
        return word.key
    fragment = _fragment(word)
    return "*" + fragment[:3] if len(fragment) >= 2 else None


# A screen decides cheaply whether a rule can match: the query with every phrase and NEAR read
# as "all its words occur", NOT read as "true", and each word tested by membership in the
# article's `present` set (`_literal`). A rule whose screen fails cannot match; most rules fail
# it on most articles, after a few set operations.
Screen = Callable[[set[str]], bool]


def _screen(node: Node) -> Screen | None:
    """The screen of a clause, or None when it cannot rule anything out."""
    if isinstance(node, Phrase):
        literals = frozenset(lit for word in node.words if (lit := _literal(word)) is not None)
        if len(literals) == 1:
            (literal,) = literals
            return lambda present: literal in present
        return (lambda present: literals <= present) if literals else None
    if isinstance(node, Near):
        return _all_of([_screen(node.left), _screen(node.right)])
    if isinstance(node, And):
        return _all_of([_screen(child) for child in node.children])
    if isinstance(node, Or):
        screens, single = [], set()
        for child in node.children:
            if isinstance(child, Phrase) and len(child.words) == 1:
                if (literal := _literal(child.words[0])) is None:
                    return None
                single.add(literal)  # one set test for all the one-word alternatives
            elif (screen := _screen(child)) is None:
                return None
            else:
                screens.append(screen)
        if single:
            literals = frozenset(single)
            screens.insert(0, lambda present: not literals.isdisjoint(present))
        if len(screens) == 1:
            return screens[0]
        return lambda present: any(screen(present) for screen in screens)
    return None  # NOT: what is absent rules nothing out


def _all_of(screens: list[Screen | None]) -> Screen | None:
    kept = [screen for screen in screens if screen is not None]
    if len(kept) <= 1:
        return kept[0] if kept else None
    return lambda present: all(screen(present) for screen in kept)


# --- an article indexed for matching -------------------------------------------------------

@lru_cache(maxsize=65536)
def _reading_stems(norm_token: str) -> frozenset[str]:
    return frozenset(light_stem(form) for form in strip_proclitics(norm_token))


@lru_cache(maxsize=65536)
def _heads(norm_token: str) -> frozenset[str]:
    """"*" + the first two and three letters of each reading of a word, and of a reading after
    its "ال": where a wildcard's or a stem's `_fragment` can start (see `_literal`)."""
    forms = strip_proclitics(norm_token)
    return frozenset([head for form in forms for head in ("*" + form[:2], "*" + form[:3])]
                     + ["*" + form[2:5] for form in forms if form.startswith("ال")]
                     + ["*" + form[2:4] for form in forms if form.startswith("ال")])


_NOTHING: frozenset[str] = frozenset()


class _Field:
    """One field's normalised words, and which forms of a query word occur in it, where."""

    __slots__ = ("text", "split", "words", "size", "lexicon", "_distinct",
                 "_forms", "_by_fragment", "_present", "_positions", "_word_positions", "_tokens")

    def __init__(self, text: str, lexicon: Lexicon | None = None) -> None:
        self.text = text
        self.split = Words(text)
        self.words = self.split.words
        self.size = len(self.words)
        self.lexicon = lexicon
        self._distinct: set[str] | None = None
        self._forms: dict[Word, frozenset[str]] = {}
        self._by_fragment: dict[str, list[str]] = {}
        self._present: set[str] | None = None
        self._positions: dict[str, list[int]] | None = None
        self._word_positions: dict[Word, list[int]] = {}
        self._tokens: list[Token] | None = None

    @property
    def tokens(self) -> list[Token]:
        """Tokens with offsets into the original text (built on first use)."""
        if self._tokens is None:
            self._tokens = tokenize(self.text)
        return self._tokens

    @property
    def distinct(self) -> set[str]:
        if self._distinct is None:
            self._distinct = set(self.words)
        return self._distinct

    @property
    def present(self) -> set[str]:
        """`_literal`s of the words in this field (with a lexicon: those its rules ask for)."""
        if self._present is None:
            if self.lexicon is not None:
                self._present = self.lexicon.present(self.distinct)
            else:
                self._present = set().union(*map(_heads, self.distinct))
        return self._present

    def has(self, word: Word) -> bool:
        """Whether `word` occurs in this field."""
        return bool(self.forms(word))

    def forms(self, word: Word) -> frozenset[str]:
        """The distinct normalised words of this field that match `word`."""
        found = self._forms.get(word)
        if found is None:
            found = self._forms[word] = self._find(word)
        return found

    def _find(self, word: Word) -> frozenset[str]:
        if word.kind == "exact":
            lexicon = self.lexicon
            if lexicon is not None and word.key in lexicon.forms:
                if word.key not in self.present:
                    return _NOTHING
                return lexicon.forms[word.key] & self.distinct
            return proclitic_forms(word.key) & self.distinct
        fragment, literal = _fragment(word), _literal(word)
        if literal is not None and (self.lexicon is None or literal in self.lexicon.heads):
            if literal not in self.present:
                return _NOTHING  # most wildcards and stems stop here
        elif fragment not in self.split.normalized:
            return _NOTHING
        candidates = self._by_fragment.get(literal or fragment)
        if candidates is None:
            candidates = self._candidates(literal, fragment)
        if word.kind == "stem":
            return frozenset(t for t in candidates if word.key in _reading_stems(t))
        return frozenset(t for t in candidates
                         if any(form.startswith(word.key) for form in strip_proclitics(t)))

    def _candidates(self, literal: str | None, fragment: str) -> list[str]:
        """Distinct words that may match a wildcard or stem: those with its literal, if known."""
        lexicon, found = self.lexicon, self._by_fragment
        if literal is None or lexicon is None or literal not in lexicon.heads:
            found[literal or fragment] = [t for t in self.distinct if fragment in t]
        elif "" not in found:  # one pass files every word under the literals it provides
            found[""] = []
            literals_of = lexicon.literals
            for norm in self.distinct:
                for each in literals_of(norm):
                    if each[0] == "*":
                        found.setdefault(each, []).append(norm)
        return found.setdefault(literal or fragment, [])

    def positions(self, word: Word) -> list[int]:
        """Sorted word positions of `word` in this field."""
        found = self._word_positions.get(word)
        if found is None:
            forms = self.forms(word)
            if self._positions is None and forms:  # one pass, the first time positions matter
                self._positions = index = defaultdict(list)
                for at, norm in enumerate(self.words):
                    index[norm].append(at)
            lists = [self._positions[form] for form in forms] if forms else []
            found = lists[0] if len(lists) == 1 else sorted(p for ps in lists for p in ps)
            self._word_positions[word] = found
        return found


class Hit(NamedTuple):
    """A matched clause and where: spans are (field, first token, last token)."""

    node: Node
    spans: list[tuple[str, int, int]]


class IndexedArticle:
    """An article's title and body, split into normalised words once for all rules.

    With a rule set's `Lexicon`, its exact words are found with one lookup per article word.
    """

    def __init__(self, title: str | None, text: str | None, lexicon: Lexicon | None = None) -> None:
        self.fields = {"title": _Field(title or "", lexicon), "body": _Field(text or "", lexicon)}
        self._spans: dict[str, dict[Node, list[Span]]] = {name: {} for name in FIELDS}
        self._verdicts: dict[tuple[str, ...], dict[Node, bool]] = {}
        self._present: dict[tuple[str, ...], set[str]] = {}

    def screened(self, screen: Screen | None, fields: tuple[str, ...]) -> bool:
        """Whether a rule's screen (see `_screen`) lets it through on these fields."""
        if screen is None:
            return True
        present = self._present.get(fields)
        if present is None:
            searched = [self.fields[name].present for name in fields]
            present = self._present[fields] = (searched[0] if len(searched) == 1
                                               else set().union(*searched))
        return screen(present)

    def matches(self, node: Node, fields: tuple[str, ...]) -> bool:
        """Whether a clause holds; membership tests first, positions only where needed."""
        memo = self._verdicts.get(fields)
        if memo is None:
            memo = self._verdicts[fields] = {}
        verdict = memo.get(node)
        if verdict is None:
            verdict = memo[node] = self._decide(node, fields)
        return verdict

    def _decide(self, node: Node, fields: tuple[str, ...]) -> bool:
        kind = type(node)
        if kind is Phrase:
            searched = [self.fields[name] for name in fields]
            words = node.words  # type: ignore[attr-defined]
            if not all(any(f.forms(word) for f in searched) for word in words):
                return False
            return len(words) == 1 or any(self.spans(node, name) for name in fields)
        if kind is Or:
            return any(self.matches(child, fields) for child in node.children)  # type: ignore[attr-defined]
        if kind is And:
            return all(self.matches(child, fields) for child in node.children)  # type: ignore[attr-defined]
        if kind is Near:  # positions only when both sides occur at all
            return (self.matches(node.left, fields) and self.matches(node.right, fields)  # type: ignore[attr-defined]
                    and any(self.spans(node, name) for name in fields))
        return not self.matches(node.child, fields)  # type: ignore[attr-defined]

    def spans(self, node: Node, field_name: str) -> list[Span]:
        """Token spans (first, last) of a positional clause in one field, sorted by start."""
        memo = self._spans[field_name]
        spans = memo.get(node)
        if spans is None:
            spans = memo[node] = self._compute_spans(node, field_name)
        return spans

    def _compute_spans(self, node: Node, field_name: str) -> list[Span]:
        if isinstance(node, Phrase):
            indexed, words = self.fields[field_name], node.words
            if not all(indexed.forms(word) for word in words):
                return []
            first = indexed.positions(words[0])
            if len(words) == 1:
                return [(p, p) for p in first]
            rest = [set(indexed.positions(word)) for word in words[1:]]
            return [(p, p + len(rest)) for p in first
                    if all(p + i in positions for i, positions in enumerate(rest, 1))]
        if isinstance(node, Or):  # an absent alternative has no spans
            merged = {span for child in node.children for span in self.spans(child, field_name)}
            return sorted(merged)
        assert isinstance(node, Near)
        left = self.spans(node.left, field_name)
        right = self.spans(node.right, field_name) if left else []
        if not right:
            return []
        n, widest = node.distance, max(end - start for start, end in right)
        starts = [start for start, _ in right]
        found = set()
        for a_start, a_end in left:
            at = bisect_left(starts, a_start - n - widest)
            while at < len(right) and right[at][0] <= a_end + n:
                b_start, b_end = right[at]
                gap = b_start - a_end if b_start > a_end else a_start - b_end
                if 1 <= gap <= n:  # overlapping spans are one place, not two near each other
                    found.add((min(a_start, b_start), max(a_end, b_end)))
                at += 1
        return sorted(found)


def _hits(node: Node, article: IndexedArticle, fields: tuple[str, ...]) -> list[Hit] | None:
    """Positive clauses that matched, [] for a satisfied NOT, None when `node` fails."""
    if isinstance(node, Phrase | Near):
        spans = [(name, start, end) for name in fields for start, end in article.spans(node, name)]
        return [Hit(node, spans)] if spans else None
    if not article.matches(node, fields):
        return None
    if isinstance(node, Not):
        return []
    if isinstance(node, And):
        found: list[Hit] = []
        for child in node.children:
            found.extend(_hits(child, article, fields) or [])
        return found
    assert isinstance(node, Or)
    return [hit for child in node.children for hit in _hits(child, article, fields) or []]


# --- rules, matches and explanations -------------------------------------------------------

SNIPPET_CONTEXT = 8  # words of context on each side of a matched clause
MAX_SNIPPETS = 5
MAX_SNIPPET_WORDS = 40  # merged windows stop growing here, so one snippet is never the article


@dataclass
class WatchRule:
    """A named query, compiled on construction (QuerySyntaxError when it does not parse)."""

    id: str
    name: str
    query: str
    languages: tuple[str, ...] = ()
    fields: tuple[str, ...] = FIELDS
    enabled: bool = True
    compiled: Query = field(init=False, repr=False, compare=False)
    screen: Screen | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.languages = tuple(_language(lang) for lang in self.languages or ())
        self.fields = tuple(self.fields or FIELDS)
        unknown = [name for name in self.fields if name not in FIELDS]
        if unknown:
            raise ValueError(f"rule {self.id!r}: unknown field {unknown[0]!r} (use title, body)")
        self.compiled = compile_query(self.query)
        self.screen = _screen(self.compiled.root)

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
        self.lexicon = Lexicon(word for rule in self.rules for word in _words_of(rule.compiled.root))

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
        matches = []
        for rule in self.rules:
            if (not rule.enabled or not rule.applies_to(language)
                    or not article.screened(rule.screen, rule.fields)):
                continue
            hits = rule.compiled.match(article, rule.fields)
            if hits is not None:
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
    source, fields = rule.compiled.source, rule.fields
    return list(dict.fromkeys(_describe(hit.node, article, fields, source) for hit in hits))


def _describe(node: Node, article: IndexedArticle, fields: tuple[str, ...], source: str) -> str:
    """A matched positional clause, naming only the OR alternatives that matched."""
    if isinstance(node, Near):
        left = _describe(node.left, article, fields, source)
        right = _describe(node.right, article, fields, source)
        return f"{left} NEAR/{node.distance} {right}"
    if isinstance(node, Or):
        found = [_describe(child, article, fields, source) for child in node.children
                 if any(article.spans(child, name) for name in fields)]
        return found[0] if len(found) == 1 else "(" + " OR ".join(found) + ")"
    return " ".join(node.describe(source).split())


def _snippets(article: IndexedArticle, hits: list[Hit]) -> list[str]:
    """Original-text windows around the matched spans, title first, overlapping ones merged."""
    snippets: list[str] = []
    for name in FIELDS:
        spans = sorted({(start, end) for hit in hits for f, start, end in hit.spans if f == name})
        indexed = article.fields[name]
        if not spans:
            continue
        last = indexed.size - 1
        windows: list[list[int]] = []
        for start, end in spans:
            lo, hi = max(0, start - SNIPPET_CONTEXT), min(last, end + SNIPPET_CONTEXT)
            if windows and lo <= windows[-1][1] + 1 and hi - windows[-1][0] <= MAX_SNIPPET_WORDS:
                windows[-1][1] = max(windows[-1][1], hi)
            else:
                windows.append([lo, hi])
        for lo, hi in windows:
            first, final = indexed.split.span(lo), indexed.split.span(hi)
            if first is None or final is None:  # words that tokenize cannot place: no snippet
                break
            text = " ".join(indexed.text[first[0]:final[1]].split())
            if name == "body":
                text = ("…" if lo > 0 else "") + text + ("…" if hi < last else "")
            snippets.append(text)
    return snippets[:MAX_SNIPPETS]


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
            child_hits = _hits(part.child, article, rule.fields)
            if child_hits is not None:
                excluded.append(" ".join(part.child.describe(source).split()))
                why.extend(child_hits)
        elif _hits(part, article, rule.fields) is None:
            missing.append(" ".join(part.describe(source).split()))
    reasons = [f"missing: {clause}" for clause in missing]
    reasons += [f"excluded by NOT {clause}" for clause in excluded]
    return RuleVerdict(rule.id, rule.name, False, "; ".join(reasons), [],
                       _snippets(article, why))
