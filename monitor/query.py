"""The watch-rule query language: lexer, parser, clause tree and positioned syntax errors.

`parse_query` turns a query into a tree of `Node`s; matching lives in monitor.rules. Syntax:
docs/rules.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple

from monitor.arabic import Token, light_stem, tokenize

MAX_NEAR: Final = 100
MIN_WILDCARD_PREFIX: Final = 3
_QUOTES: Final = {'"': '"', "“": "”", "«": "»"}
_NEAR: Final = re.compile(r"NEAR/(\d+)\Z")


class QuerySyntaxError(ValueError):
    """A query that cannot be parsed; `position` is the 0-based offset of the problem."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


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
    # The clause compiled for matching (monitor.matching.plan_of), kept with it.
    plan: Any = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.plan = None  # compiled by mypyc, a dataclass default is not applied

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
    words = [_one(Word(kind, light_stem(t.norm) if stem else t.norm)) for t in tokens]
    if prefix:
        words[-1] = _one(Word("prefix", tokens[-1].norm))
    return words


# One object per distinct query word: the sets and dicts of words that matching builds for
# every article then find a word by identity, without comparing tuples.
_WORDS: Final[dict[Word, Word]] = {}


def _one(word: Word) -> Word:
    return _WORDS.setdefault(word, word)


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


def parse_query(query: str) -> Node:
    """The clause tree of a query, raising QuerySyntaxError at the first problem."""
    return _Parser(query).parse()


# --- what a clause needs: its words, and a screen over the words an article contains -------

def words_of(node: Node, *, negated: bool = True) -> Iterator[Word]:
    """Every query word of a clause (with `negated=False`, only those outside NOT)."""
    if isinstance(node, Phrase):
        yield from node.words
    elif isinstance(node, Near):
        yield from words_of(node.left, negated=negated)
        yield from words_of(node.right, negated=negated)
    elif isinstance(node, And | Or):
        for child in node.children:
            yield from words_of(child, negated=negated)
    elif isinstance(node, Not) and negated:
        yield from words_of(node.child, negated=negated)


# A screen is the query with every phrase and NEAR read as "all its words occur" and NOT read as
# "true", tested on the set of rule words present. A rule whose screen fails cannot match; most
# rules fail it on most articles, after a few set operations.
Screen = Callable[[set[Word]], bool]


def screen_of(node: Node) -> Screen | None:
    """The screen of a clause, or None when it cannot rule anything out."""
    if isinstance(node, Phrase):
        words = frozenset(node.words)
        if len(words) == 1:
            (word,) = words
            return lambda present: word in present
        return lambda present: words <= present
    if isinstance(node, Near):
        return _all_of([screen_of(node.left), screen_of(node.right)])
    if isinstance(node, And):
        return _all_of([screen_of(child) for child in node.children])
    if isinstance(node, Or):
        screens: list[Screen] = []
        single: set[Word] = set()
        for child in node.children:
            if isinstance(child, Phrase) and len(child.words) == 1:
                single.add(child.words[0])  # one set test for all the one-word alternatives
            elif (screen := screen_of(child)) is None:
                return None
            else:
                screens.append(screen)
        if single:
            alternatives = frozenset(single)
            screens.insert(0, lambda present: not alternatives.isdisjoint(present))
        if len(screens) == 1:
            return screens[0]

        def any_of(present: set[Word]) -> bool:
            for screen in screens:  # a loop: a generator in any() costs more than the tests
                if screen(present):
                    return True
            return False

        return any_of
    return None  # NOT: what is absent rules nothing out


def _all_of(screens: list[Screen | None]) -> Screen | None:
    kept = [screen for screen in screens if screen is not None]
    if len(kept) <= 1:
        return kept[0] if kept else None

    def all_of(present: set[Word]) -> bool:
        for screen in kept:
            if not screen(present):
                return False
        return True

    return all_of


def positive_words(node: Node) -> Iterator[Word]:
    """The words of a clause outside NOT: a match contains at least one of them."""
    return words_of(node, negated=False)
