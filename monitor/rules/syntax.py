"""The watch-rule query language: lexer, parser and positioned syntax errors (docs/rules.md).

Precedence, loosest first: OR < AND (explicit or adjacent; `a NOT b` is a AND NOT b) < NOT <
NEAR/ONEAR. Queries too long (MAX_QUERY_LENGTH) or too deep (MAX_DEPTH) are refused."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

from monitor.arabic import light_stem, tokenize
from monitor.rules.clauses import And, Attribute, Clause, InTitle, Near, Not, Or, Phrase, Word

MAX_NEAR = 100
MIN_WILDCARD_PREFIX = 3
MAX_QUERY_LENGTH = 10_000
MAX_DEPTH = 100
KINDS = ("agency", "government", "press")
_QUOTES = {'"': '"', "“": "”", "«": "»"}
# A parenthesis, a phrase in quotes (perhaps unterminated), or a run of anything else.
_LEXEME = re.compile(r'[()]|"[^"]*"?|“[^”]*”?|«[^»]*»?|[^\s()"“«]+')
_PROXIMITY = re.compile(r"(O?NEAR)(?:/(\d+))?\Z")
_ATTRIBUTES = {  # name: (pattern of its value, what to write)
    "source": (re.compile(r"[a-z0-9][a-z0-9_-]{0,63}\Z"), "a source id, e.g. source:spa"),
    "country": (re.compile(r"[A-Za-z]{2}\Z"), "a two-letter country code, e.g. country:QA"),
    "lang": (re.compile(r"[A-Za-z]{2}\Z"), "a two-letter language code, e.g. lang:ar"),
    "kind": (re.compile("(?:" + "|".join(KINDS) + r")\Z"), "agency, government or press"),
}


class QuerySyntaxError(ValueError):
    """A query that cannot be parsed; `position` is the 0-based offset of the problem."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


class _Lexeme(NamedTuple):
    kind: str  # WORD PHRASE LPAREN RPAREN AND OR NOT NEAR TITLE ATTRIBUTE
    text: str
    start: int
    end: int
    distance: int = 0


def _lex(query: str, warnings: list[str]) -> list[_Lexeme]:
    lexemes: list[_Lexeme] = []
    for found in _LEXEME.finditer(query):
        text, start, end = found.group(), found.start(), found.end()
        if text in ("(", ")"):
            lexemes.append(_Lexeme("LPAREN" if text == "(" else "RPAREN", text, start, end))
        elif text[0] in _QUOTES:
            if len(text) == 1 or text[-1] != _QUOTES[text[0]]:
                raise QuerySyntaxError(f"unterminated phrase: no closing {_QUOTES[text[0]]}", start)
            lexemes.append(_Lexeme("PHRASE", text[1:-1], start, end))
        else:
            lexemes += _word_lexemes(text, start, warnings)
    return lexemes


def _word_lexemes(text: str, i: int, warnings: list[str]) -> list[_Lexeme]:
    """One whitespace-free run of a query: an operator, a field, or a word."""
    j = i + len(text)
    if text in ("AND", "OR", "NOT"):
        return [_Lexeme(text, text, i, j)]
    if text.startswith(("NEAR", "ONEAR")):
        found = _PROXIMITY.match(text)
        operator = found.group(1) if found else text[:5 if text[0] == "O" else 4]
        if not (found and found.group(2)):
            raise QuerySyntaxError(f"{operator} needs a distance in words, e.g. {operator}/5", i)
        distance = int(found.group(2))
        if not 1 <= distance <= MAX_NEAR:
            raise QuerySyntaxError(f"{operator} distance must be 1 to {MAX_NEAR}", i)
        return [_Lexeme(operator, text, i, j, distance)]
    name, colon, value = text.partition(":")
    if colon and name == "title":
        if value in ("AND", "OR", "NOT") or value.startswith(("NEAR", "ONEAR")):
            raise QuerySyntaxError("title: needs a word, a phrase or a group in ( )", i)
        return [_Lexeme("TITLE", "title:", i, i + 6),
                *([_Lexeme("WORD", value, i + 6, j)] if value else [])]
    if colon and name in _ATTRIBUTES:
        pattern, expected = _ATTRIBUTES[name]
        if not pattern.match(value):
            raise QuerySyntaxError(f"{name}: takes {expected}", i)
        return [_Lexeme("ATTRIBUTE", text, i, j)]
    if text.lower() in ("and", "or", "not") or re.fullmatch(r"o?near/\d+", text.lower()):
        warnings.append(f"'{text}' (at position {i}) is read as a word: operators are upper case "
                        f"({text.upper()})")
    return [_Lexeme("WORD", text, i, j)]


def _words(text: str, offset: int, in_phrase: bool = False) -> list[Word]:
    """Matching forms of one whitespace-free query word (`~` stems, a final `*` is a prefix);
    in a phrase, punctuation between words ("Information & eGovernment") is skipped."""
    stem = text.startswith("~")
    body = text[1:] if stem else text
    prefix = body.endswith("*")
    body = body[:-1] if prefix else body
    base = offset + (1 if stem else 0)
    for marker in "*~":
        if marker in body:
            raise QuerySyntaxError(f"'{marker}' is allowed only at the "
                                   f"{'end' if marker == '*' else 'start'} of a word",
                                   base + body.index(marker))
    if stem and prefix:
        raise QuerySyntaxError("a word cannot be both stemmed (~) and a wildcard (*)", offset)
    tokens = tokenize(body)
    if not tokens:
        if in_phrase and not stem and not prefix:
            return []
        raise QuerySyntaxError(f"{text!r} has no letters or digits", offset)
    if prefix and (tokens[-1].end != len(body) or len(tokens[-1].norm) < MIN_WILDCARD_PREFIX):
        raise QuerySyntaxError(
            f"a wildcard needs at least {MIN_WILDCARD_PREFIX} letters right before '*'",
            base + len(body))
    words = [Word("stem", light_stem(t.norm)) if stem else Word("exact", t.norm) for t in tokens]
    if prefix:
        words[-1] = Word("prefix", tokens[-1].norm)
    return words


class _Parser:
    _OPERAND_START = ("WORD", "PHRASE", "LPAREN", "NOT", "TITLE", "ATTRIBUTE")

    def __init__(self, query: str) -> None:
        self.query = query
        self.warnings: list[str] = []
        self.lexemes = _lex(query, self.warnings)
        self.i = 0
        self.depth = 0  # groups, NOTs and title: fields open around the parser's place

    def parse(self) -> Clause:
        if not self.lexemes:
            raise QuerySyntaxError("empty query", 0)
        node = self._or()
        if self.i < len(self.lexemes):  # only a stray ")" stops _or early
            raise QuerySyntaxError("unbalanced ')'", self.lexemes[self.i].start)
        if _is_negative(node):
            raise QuerySyntaxError(
                "the query only says what must be absent; add a term that must be present", 0)
        _check_depth(node)
        return node

    def _peek(self) -> _Lexeme | None:
        return self.lexemes[self.i] if self.i < len(self.lexemes) else None

    def _expect_operand(self, after: _Lexeme) -> None:
        nxt = self._peek()
        if nxt is None or nxt.kind not in self._OPERAND_START:
            where = nxt.start if nxt else len(self.query)
            raise QuerySyntaxError(f"'{after.text}' needs a term after it", where)

    def _nested(self, lexeme: _Lexeme, parse: Callable[[], Clause]) -> Clause:
        """`parse()` one level deeper, refused beyond MAX_DEPTH."""
        if self.depth == MAX_DEPTH:
            raise QuerySyntaxError(f"the query is nested deeper than {MAX_DEPTH} levels",
                                   lexeme.start)
        self.depth += 1
        node = parse()
        self.depth -= 1
        return node

    def _or(self) -> Clause:
        children = [self._and()]
        while (lexeme := self._peek()) is not None and lexeme.kind == "OR":
            self.i += 1
            self._expect_operand(lexeme)
            children.append(self._and())
        return _group(Or, children)

    def _and(self) -> Clause:
        children = [self._unary()]
        while (lexeme := self._peek()) is not None and lexeme.kind not in ("OR", "RPAREN"):
            if lexeme.kind == "AND":
                self.i += 1
                self._expect_operand(lexeme)
            children.append(self._unary())
        return _group(And, children)

    def _unary(self) -> Clause:
        lexeme = self._peek()
        if lexeme is not None and lexeme.kind == "NOT":
            self.i += 1
            self._expect_operand(lexeme)
            child = self._nested(lexeme, self._unary)
            return Not(lexeme.start, child.end, child)
        return self._near()

    def _near(self) -> Clause:
        node = self._primary()
        while (lexeme := self._peek()) is not None and lexeme.kind in ("NEAR", "ONEAR"):
            self.i += 1
            if (nxt := self._peek()) is not None and nxt.kind == "NOT":
                raise QuerySyntaxError(f"{lexeme.text} cannot take a NOT clause", nxt.start)
            right = self._primary()
            for operand in (node, right):
                if not operand.positional:
                    raise QuerySyntaxError(
                        f"{lexeme.text} joins words, phrases or OR-groups of them, "
                        "not AND/NOT clauses or fields", operand.start)
            node = Near(node.start, right.end, node, right, lexeme.distance,
                        ordered=lexeme.kind == "ONEAR")
        return node

    def _primary(self) -> Clause:
        lexeme = self._peek()
        if lexeme is None:
            raise QuerySyntaxError("unexpected end of query: a term is missing", len(self.query))
        self.i += 1
        if lexeme.kind == "WORD":
            return Phrase(lexeme.start, lexeme.end, tuple(_words(lexeme.text, lexeme.start)))
        if lexeme.kind == "PHRASE":
            words: list[Word] = []
            for part in re.finditer(r"\S+", lexeme.text):
                words += _words(part.group(), lexeme.start + 1 + part.start(), in_phrase=True)
            if not words:
                raise QuerySyntaxError("empty phrase", lexeme.start)
            return Phrase(lexeme.start, lexeme.end, tuple(words))
        if lexeme.kind == "LPAREN":
            if (nxt := self._peek()) is not None and nxt.kind == "RPAREN":
                raise QuerySyntaxError("empty parentheses", lexeme.start)
            node = self._nested(lexeme, self._or)
            closing = self._peek()
            if closing is None or closing.kind != "RPAREN":
                raise QuerySyntaxError("'(' is never closed", lexeme.start)
            self.i += 1
            node.start, node.end = lexeme.start, closing.end
            return node
        if lexeme.kind == "TITLE":
            nxt = self._peek()
            if nxt is None or nxt.kind not in ("WORD", "PHRASE", "LPAREN"):
                raise QuerySyntaxError("title: needs a word, a phrase or a group in ( )",
                                       lexeme.start)
            child = self._nested(lexeme, self._primary)
            if nxt.kind != "LPAREN":  # title:word, title:"…": the clause shows as written
                child.start = lexeme.start
            return InTitle(lexeme.start, child.end, child)
        if lexeme.kind == "ATTRIBUTE":
            name, _, value = lexeme.text.partition(":")
            value = value.upper() if name == "country" else value.lower()
            return Attribute(lexeme.start, lexeme.end, name, value)
        if lexeme.kind == "RPAREN":
            raise QuerySyntaxError("unbalanced ')'", lexeme.start)
        raise QuerySyntaxError(f"'{lexeme.text}' needs a term before it", lexeme.start)


def _group(kind: type[And] | type[Or], children: list[Clause]) -> Clause:
    if len(children) == 1:
        return children[0]
    flat: list[Clause] = []
    for child in children:  # (a AND b) AND c is one AND: simpler explanations
        flat.extend(child.children if isinstance(child, kind) else [child])
    return kind(children[0].start, children[-1].end, flat)


def _is_negative(node: Clause) -> bool:
    """Whether the clause can match an article by what it lacks alone."""
    if isinstance(node, Not):
        return True
    if isinstance(node, And):
        return all(_is_negative(child) for child in node.children)
    if isinstance(node, Or):
        return any(_is_negative(child) for child in node.children)
    return isinstance(node, InTitle) and _is_negative(node.child)


def _check_depth(root: Clause) -> None:
    """Refuse a tree deeper than MAX_DEPTH (a long chain of NEARs nests without parentheses)."""
    level, depth = [root], 1
    while level:
        if depth > MAX_DEPTH:
            raise QuerySyntaxError(f"the query is nested deeper than {MAX_DEPTH} levels",
                                   level[0].start)
        level = [part for node in level for part in node.parts()]
        depth += 1


def parse_query(query: str) -> tuple[Clause, list[str]]:
    """The clause tree of a query and its warnings (lower-case operators read as words),
    raising QuerySyntaxError at the first problem."""
    if len(query) > MAX_QUERY_LENGTH:
        raise QuerySyntaxError(f"the query is longer than {MAX_QUERY_LENGTH:,} characters",
                               MAX_QUERY_LENGTH)
    parser = _Parser(query)
    return parser.parse(), parser.warnings
