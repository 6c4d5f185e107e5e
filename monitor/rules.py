"""Watch rules: a Meltwater-style boolean query language that understands Arabic.

`compile_query` parses a query once; `RuleSet.evaluate` indexes an article once (normalised
tokens and their proclitic readings; stems and sorted keys for wildcards only when a rule asks)
and runs every rule on that index. Syntax, normalisation and stemming: docs/rules.md.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from monitor.arabic import Token, light_stem, normalized_words, strip_proclitics, tokenize

FIELDS = ("title", "body")
MAX_NEAR = 100
MIN_WILDCARD_PREFIX = 3
_QUOTES = {'"': '"', "“": "”", "«": "»"}
_NEAR = re.compile(r"NEAR/(\d+)\Z")


class QuerySyntaxError(ValueError):
    """A query that cannot be parsed; `position` is the 0-based offset of the problem."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


# --- the query language -------------------------------------------------------------------

class Word(NamedTuple):
    """One query word in matching form: `kind` is exact, prefix (word*) or stem (~word)."""

    kind: str
    key: str


class _Lexeme(NamedTuple):
    kind: str  # WORD PHRASE LPAREN RPAREN AND OR NOT NEAR
    text: str
    start: int
    end: int
    distance: int = 0


@dataclass(eq=False)
class Node:
    """A clause of a compiled query; `start`/`end` locate its source text in the query."""

    start: int
    end: int

    def describe(self, source: str) -> str:
        return source[self.start:self.end]


@dataclass(eq=False)
class Phrase(Node):
    words: tuple[Word, ...]


@dataclass(eq=False)
class Near(Node):
    left: Node
    right: Node
    distance: int


@dataclass(eq=False)
class And(Node):
    children: list[Node]


@dataclass(eq=False)
class Or(Node):
    children: list[Node]


@dataclass(eq=False)
class Not(Node):
    child: Node


def _is_positional(node: Node) -> bool:
    if isinstance(node, Or):
        return all(_is_positional(child) for child in node.children)
    return isinstance(node, Phrase | Near)


def _is_negative(node: Node) -> bool:
    """Whether the clause can match an article by what it lacks alone."""
    if isinstance(node, Not):
        return True
    if isinstance(node, And):
        return all(_is_negative(child) for child in node.children)
    if isinstance(node, Or):
        return any(_is_negative(child) for child in node.children)
    return False


def _lex(query: str) -> list[_Lexeme]:
    lexemes: list[_Lexeme] = []
    i, n = 0, len(query)
    while i < n:
        char = query[i]
        if char.isspace():
            i += 1
        elif char in "()":
            lexemes.append(_Lexeme("LPAREN" if char == "(" else "RPAREN", char, i, i + 1))
            i += 1
        elif char in _QUOTES:
            close = query.find(_QUOTES[char], i + 1)
            if close < 0:
                raise QuerySyntaxError(f"unterminated phrase: no closing {_QUOTES[char]}", i)
            lexemes.append(_Lexeme("PHRASE", query[i + 1:close], i, close + 1))
            i = close + 1
        else:
            j = i
            while j < n and not query[j].isspace() and query[j] not in "()" and query[j] not in _QUOTES:
                j += 1
            text = query[i:j]
            if text in ("AND", "OR", "NOT"):
                lexemes.append(_Lexeme(text, text, i, j))
            elif text.startswith("NEAR"):
                near = _NEAR.match(text)
                if not near:
                    raise QuerySyntaxError("NEAR needs a distance in words, e.g. NEAR/5", i)
                distance = int(near.group(1))
                if not 1 <= distance <= MAX_NEAR:
                    raise QuerySyntaxError(f"NEAR distance must be 1 to {MAX_NEAR}", i)
                lexemes.append(_Lexeme("NEAR", text, i, j, distance))
            else:
                lexemes.append(_Lexeme("WORD", text, i, j))
            i = j
    return lexemes


def _words(text: str, offset: int, in_phrase: bool = False) -> list[Word]:
    """Matching forms of one whitespace-free query word (`~` stems, a final `*` is a prefix).

    In a phrase, punctuation between words ("Information & eGovernment") is skipped as in text.
    """
    stem = text.startswith("~")
    body = text[1:] if stem else text
    prefix = body.endswith("*")
    body = body[:-1] if prefix else body
    base = offset + (1 if stem else 0)
    for marker in "*~":
        if marker in body:
            where = base + body.index(marker)
            raise QuerySyntaxError(f"'{marker}' is allowed only at the "
                                   f"{'end' if marker == '*' else 'start'} of a word", where)
    if stem and prefix:
        raise QuerySyntaxError("a word cannot be both stemmed (~) and a wildcard (*)", offset)
    tokens: list[Token] = tokenize(body)
    if not tokens:
        if in_phrase and not stem and not prefix:
            return []
        raise QuerySyntaxError(f"{text!r} has no letters or digits", offset)
    if prefix and (tokens[-1].end != len(body) or len(tokens[-1].norm) < MIN_WILDCARD_PREFIX):
        raise QuerySyntaxError(
            f"a wildcard needs at least {MIN_WILDCARD_PREFIX} letters right before '*'",
            base + len(body))
    kind = "stem" if stem else "exact"
    words = [Word(kind, light_stem(t.norm) if stem else t.norm) for t in tokens]
    if prefix:
        words[-1] = Word("prefix", tokens[-1].norm)
    return words


class _Parser:
    """Recursive descent: OR < AND (explicit or adjacent, `a NOT b` = a AND NOT b) < NOT < NEAR."""

    _OPERAND_START = ("WORD", "PHRASE", "LPAREN", "NOT")

    def __init__(self, query: str) -> None:
        self.query = query
        self.lexemes = _lex(query)
        self.i = 0

    def parse(self) -> Node:
        if not self.lexemes:
            raise QuerySyntaxError("empty query", 0)
        node = self._or()
        if self.i < len(self.lexemes):  # only a stray ")" stops _or early
            raise QuerySyntaxError("unbalanced ')'", self.lexemes[self.i].start)
        if _is_negative(node):
            raise QuerySyntaxError(
                "the query only says what must be absent; add a term that must be present", 0)
        return node

    def _peek(self) -> _Lexeme | None:
        return self.lexemes[self.i] if self.i < len(self.lexemes) else None

    def _expect_operand(self, after: _Lexeme) -> None:
        nxt = self._peek()
        if nxt is None or nxt.kind not in self._OPERAND_START:
            where = nxt.start if nxt else len(self.query)
            raise QuerySyntaxError(f"'{after.text}' needs a term after it", where)

    def _or(self) -> Node:
        children = [self._and()]
        while (lexeme := self._peek()) is not None and lexeme.kind == "OR":
            self.i += 1
            self._expect_operand(lexeme)
            children.append(self._and())
        return self._group(Or, children)

    def _and(self) -> Node:
        children = [self._unary()]
        while (lexeme := self._peek()) is not None and lexeme.kind not in ("OR", "RPAREN"):
            if lexeme.kind == "AND":
                self.i += 1
                self._expect_operand(lexeme)
            children.append(self._unary())
        return self._group(And, children)

    def _unary(self) -> Node:
        lexeme = self._peek()
        if lexeme is not None and lexeme.kind == "NOT":
            self.i += 1
            self._expect_operand(lexeme)
            child = self._unary()
            return Not(lexeme.start, child.end, child)
        return self._near()

    def _near(self) -> Node:
        node = self._primary()
        while (lexeme := self._peek()) is not None and lexeme.kind == "NEAR":
            self.i += 1
            if (nxt := self._peek()) is not None and nxt.kind == "NOT":
                raise QuerySyntaxError(f"{lexeme.text} cannot take a NOT clause", nxt.start)
            right = self._primary()
            for operand in (node, right):
                if not _is_positional(operand):
                    raise QuerySyntaxError(
                        f"{lexeme.text} joins words, phrases or OR-groups of them, "
                        "not AND/NOT clauses", operand.start)
            node = Near(node.start, right.end, node, right, lexeme.distance)
        return node

    def _primary(self) -> Node:
        lexeme = self._peek()
        if lexeme is None:
            raise QuerySyntaxError("unexpected end of query: a term is missing",
                                   len(self.query))
        self.i += 1
        if lexeme.kind == "WORD":
            return Phrase(lexeme.start, lexeme.end, tuple(_words(lexeme.text, lexeme.start)))
        if lexeme.kind == "PHRASE":
            words: list[Word] = []
            for part in re.finditer(r"\S+", lexeme.text):
                words.extend(_words(part.group(), lexeme.start + 1 + part.start(), in_phrase=True))
            if not words:
                raise QuerySyntaxError("empty phrase", lexeme.start)
            return Phrase(lexeme.start, lexeme.end, tuple(words))
        if lexeme.kind == "LPAREN":
            if (nxt := self._peek()) is not None and nxt.kind == "RPAREN":
                raise QuerySyntaxError("empty parentheses", lexeme.start)
            node = self._or()
            closing = self._peek()
            if closing is None or closing.kind != "RPAREN":
                raise QuerySyntaxError("'(' is never closed", lexeme.start)
            self.i += 1
            node.start, node.end = lexeme.start, closing.end
            return node
        if lexeme.kind == "RPAREN":
            raise QuerySyntaxError("unbalanced ')'", lexeme.start)
        raise QuerySyntaxError(f"'{lexeme.text}' needs a term before it", lexeme.start)

    @staticmethod
    def _group(kind: type[And] | type[Or], children: list[Node]) -> Node:
        if len(children) == 1:
            return children[0]
        flat: list[Node] = []
        for child in children:  # (a AND b) AND c is one AND: simpler explanations
            flat.extend(child.children if isinstance(child, kind) else [child])
        return kind(children[0].start, children[-1].end, flat)


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
    return Query(query, _Parser(query).parse())


# --- an article indexed for matching -------------------------------------------------------

class _Field:
    """One field's words: normalised form -> positions, and proclitic reading -> forms."""

    __slots__ = ("text", "size", "by_norm", "readings", "_tokens", "_keys", "_stems")

    def __init__(self, text: str) -> None:
        self.text = text
        norms = normalized_words(text)
        self.size = len(norms)
        by_norm: defaultdict[str, list[int]] = defaultdict(list)
        for position, norm in enumerate(norms):
            by_norm[norm].append(position)
        readings: defaultdict[str, list[str]] = defaultdict(list)
        for norm in by_norm:  # distinct words only: Arabic news repeats a lot
            for form in strip_proclitics(norm):
                readings[form].append(norm)
        self.by_norm, self.readings = by_norm, readings
        self._tokens: list[Token] | None = None
        self._keys: list[str] | None = None
        self._stems: dict[str, list[str]] | None = None

    @property
    def tokens(self) -> list[Token]:
        """Tokens with offsets into the original text, computed only when a snippet needs them."""
        if self._tokens is None:
            self._tokens = tokenize(self.text)
        return self._tokens

    def has(self, word: Word) -> bool:
        if word.kind == "exact":
            return word.key in self.readings
        return bool(self._norms(word))

    def positions(self, word: Word) -> list[int]:
        norms = self._norms(word)
        if len(norms) == 1:
            return self.by_norm[norms[0]]
        return sorted({p for norm in norms for p in self.by_norm[norm]})

    def _norms(self, word: Word) -> list[str]:
        if word.kind == "exact":
            return self.readings.get(word.key, [])
        if word.kind == "stem":
            if self._stems is None:
                stems: defaultdict[str, list[str]] = defaultdict(list)
                for form, norms in self.readings.items():
                    stems[light_stem(form)].extend(norms)
                self._stems = stems
            return list(dict.fromkeys(self._stems.get(word.key, [])))
        if self._keys is None:
            self._keys = sorted(self.readings)
        keys, at = self._keys, bisect_left(self._keys, word.key)
        found: list[str] = []
        while at < len(keys) and keys[at].startswith(word.key):
            found.extend(self.readings[keys[at]])
            at += 1
        return list(dict.fromkeys(found))


class Hit(NamedTuple):
    """A matched clause and where: spans are (field, first token, last token)."""

    node: Node
    spans: list[tuple[str, int, int]]


class IndexedArticle:
    """An article's title and body, tokenised and indexed once for all rules."""

    def __init__(self, title: str | None, text: str | None) -> None:
        self.fields = {"title": _Field(title or ""), "body": _Field(text or "")}
        self._spans: dict[tuple[int, str], list[tuple[int, int]]] = {}
        self._phrases: dict[tuple[tuple[Word, ...], str], list[tuple[int, int]]] = {}
        self._verdicts: dict[tuple[int, tuple[str, ...]], bool] = {}

    def matches(self, node: Node, fields: tuple[str, ...]) -> bool:
        """Whether a clause holds; cheap membership tests where no positions are needed."""
        key = (id(node), fields)
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = self._verdicts[key] = self._decide(node, fields)
        return verdict

    def _decide(self, node: Node, fields: tuple[str, ...]) -> bool:
        if isinstance(node, Phrase) and len(node.words) == 1:
            return any(self.fields[name].has(node.words[0]) for name in fields)
        if isinstance(node, Near):  # positions only when both sides occur at all
            if not (self.matches(node.left, fields) and self.matches(node.right, fields)):
                return False
        if isinstance(node, Phrase | Near):
            return any(self.spans(node, name) for name in fields)
        if isinstance(node, Not):
            return not self.matches(node.child, fields)
        if isinstance(node, And):
            return all(self.matches(child, fields) for child in node.children)
        assert isinstance(node, Or)
        return any(self.matches(child, fields) for child in node.children)

    def spans(self, node: Node, field_name: str) -> list[tuple[int, int]]:
        """Token spans (first, last) of a positional clause in one field, sorted by start."""
        key = (id(node), field_name)
        if key not in self._spans:
            self._spans[key] = self._compute_spans(node, field_name)
        return self._spans[key]

    def _compute_spans(self, node: Node, field_name: str) -> list[tuple[int, int]]:
        if isinstance(node, Phrase):
            return self._phrase(node.words, field_name)
        if isinstance(node, Or):
            present = (child for child in node.children if self.matches(child, (field_name,)))
            merged = {span for child in present for span in self.spans(child, field_name)}
            return sorted(merged)
        assert isinstance(node, Near)
        if not (self.matches(node.left, (field_name,)) and self.matches(node.right, (field_name,))):
            return []
        left, right = self.spans(node.left, field_name), self.spans(node.right, field_name)
        if not left or not right:
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

    def _phrase(self, words: tuple[Word, ...], field_name: str) -> list[tuple[int, int]]:
        # Same words, same field: many rules share "مجلس التعاون", so cache by words.
        key = (words, field_name)
        cached = self._phrases.get(key)
        if cached is not None:
            return cached
        indexed = self.fields[field_name]
        first = indexed.positions(words[0])
        if len(words) == 1:
            spans = [(p, p) for p in first]
        else:
            rest = [set(indexed.positions(word)) for word in words[1:]]
            spans = [(p, p + len(rest)) for p in first
                     if all(p + i in positions for i, positions in enumerate(rest, 1))]
        self._phrases[key] = spans
        return spans


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

    def __post_init__(self) -> None:
        self.languages = tuple(_language(lang) for lang in self.languages or ())
        self.fields = tuple(self.fields or FIELDS)
        unknown = [name for name in self.fields if name not in FIELDS]
        if unknown:
            raise ValueError(f"rule {self.id!r}: unknown field {unknown[0]!r} (use title, body)")
        self.compiled = compile_query(self.query)

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

    def __iter__(self) -> Iterator[WatchRule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def get(self, rule_id: str) -> WatchRule | None:
        """The rule with this id, if any."""
        return next((rule for rule in self.rules if rule.id == rule_id), None)

    def evaluate(self, title: str, text: str, language: str | None = None) -> list[RuleMatch]:
        """Matches of the enabled rules that apply to `language` (None: every language)."""
        article = IndexedArticle(title, text)
        matches = []
        for rule in self.rules:
            if not rule.enabled or not rule.applies_to(language):
                continue
            hits = rule.compiled.match(article, rule.fields)
            if hits is not None:
                matches.append(RuleMatch(rule.id, _clauses(rule, article, hits),
                                           _snippets(article, hits)))
        return matches

    def explain(self, title: str, text: str, language: str | None = None) -> list[RuleVerdict]:
        """Every rule's verdict on the article, with what matched or what was missing."""
        article = IndexedArticle(title, text)
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
        if not spans or len(indexed.tokens) != indexed.size:  # size differs: cannot place them
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
            text = " ".join(indexed.text[indexed.tokens[lo].start:indexed.tokens[hi].end].split())
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
