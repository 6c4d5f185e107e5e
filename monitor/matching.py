"""Matching query clauses against an article: the rule set's word table, the per-article index,
and clauses compiled into plans.

A `Lexicon` holds every word of a rule set and learns, once per distinct article word in the
process, which of those words it reads as (proclitics, wildcards, stems: monitor.arabic). An
`IndexedArticle` splits its title and body into normalised words once, finds the rule words
present with set operations, and builds word positions only when a phrase or NEAR needs them.
Each clause is compiled once into a `Plan`; the spans of a positional clause are computed once
per article and field, shared by every rule that contains the same clause.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any, Final, NamedTuple

from monitor.arabic import (
    ANY_PROCLITIC,
    NATIVE,
    Token,
    Words,
    forget_pieces,
    light_stem,
    proclitic_forms,
    strip_proclitics,
    tokenize,
)
from monitor.query import And, Near, Node, Not, Or, Phrase, Screen, Word, screen_of, words_of

__all__ = ["Hit", "IndexedArticle", "Lexicon", "Plan", "plan_of"]

Span = tuple[int, int]
Positions = list[int] | tuple[int, ...]


# --- which article words a query word matches ----------------------------------------------

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
    """A cheap key for finding the article words a word may match (None: no cheap key).

    An exact word is itself; a wildcard or stem is "*" + the first two or three letters of its
    `_fragment`, which a reading of any matching article word starts with (`_heads`).
    """
    if word.kind == "exact":
        return word.key
    fragment = _fragment(word)
    return "*" + fragment[:3] if len(fragment) >= 2 else None


@lru_cache(maxsize=65536)
def _heads(norm_token: str) -> frozenset[str]:
    """"*" + the first two and three letters of each reading of a word, and of a reading after
    its "ال": where a wildcard's or a stem's `_fragment` can start (see `_literal`)."""
    return frozenset("*" + head for form in strip_proclitics(norm_token)
                     for head in _form_heads(form))


def _form_heads(form: str) -> tuple[str, ...]:
    """The letters a head of one reading can be (`_heads` without its "*")."""
    if form.startswith("ال"):
        return form[:2], form[:3], form[2:4], form[2:5]
    return form[:2], form[:3]


def _reads_as(word: Word, norm_token: str) -> bool:
    """Whether an article word matches a query word (its literal first: the cheap refusal)."""
    if word.kind == "exact":
        return norm_token in proclitic_forms(word.key)
    literal = _literal(word)
    if literal is not None:
        if literal not in _heads(norm_token):
            return False
    elif _fragment(word) not in norm_token:
        return False
    return _completes(word, norm_token)


def _completes(word: Word, norm_token: str) -> bool:
    """Whether an article word whose literal or fragment fits a wildcard or stem matches it."""
    if word.kind == "stem":
        # A light stem only cuts endings, perhaps restoring a last letter (لجنتها → لجنه,
        # ministries → ministry): a reading stems to the key only if it begins with the rest.
        key = word.key
        head = key[:-1]
        for form in strip_proclitics(norm_token):
            if form.startswith(head) and light_stem(form) == key:
                return True
        return False
    return any(form.startswith(word.key) for form in strip_proclitics(norm_token))


class Lexicon:
    """The words of a rule set, and which of them each article word reads as.

    What an article word reads as depends on the word alone, so it is learnt once per process
    (`_MAX_LEARNT` distinct words, then forgotten) and an article costs a few set operations.
    """

    _MAX_LEARNT = 200_000

    def __init__(self, words: Iterable[Word]) -> None:
        self.words = frozenset(words)
        owners: dict[str, list[Word]] = {}
        self._by_literal: dict[str, list[Word]] = {}
        self._unkeyed: list[Word] = []  # wildcards and stems too short for a literal
        for word in sorted(self.words):
            if word.kind == "exact":
                for form in proclitic_forms(word.key):
                    owners.setdefault(form, []).append(word)
            elif (literal := _literal(word)) is not None:
                self._by_literal.setdefault(literal, []).append(word)
            else:
                self._unkeyed.append(word)
        self._owners = {form: tuple(found) for form, found in owners.items()}
        # The same table keyed by the letters alone: `_read` slices them out of an article word
        # instead of building its `_heads`.
        self._by_head = {literal[1:]: tuple(found) for literal, found in self._by_literal.items()}
        # How the article words some reading of which has a head begin (`_head_places`): new
        # words are tested against them all at once, in C or with a regex. None: every word is
        # read, as when a rule word has no head.
        places = None if self._unkeyed else _head_places(self._by_head)
        self._head_places: Any = None
        if places is not None:
            self._head_places = (NATIVE.string_set(places) if NATIVE is not None
                                 else re.compile("\n(" + _prefix_pattern(places) + "[^\n]*)"))
        # In C, the forms too are first looked for in a compact table of their own.
        self._forms: Any = None if NATIVE is None else NATIVE.string_set(list(self._owners))
        self._learnt: set[str] = set()
        self._useful: set[str] = set()  # learnt words that read as some rule word
        self.readings: dict[str, tuple[Word, ...]] = {}

    def forget(self) -> None:
        """Forget every article word learnt in this process, here and in the caches of article
        words (monitor.arabic's pieces, readings, stems): the state of a new process, for
        benchmarks that time an article the process has not seen."""
        self._learnt.clear()
        self._useful.clear()
        self.readings.clear()
        forget_pieces()
        for cached in (_heads, light_stem):
            cached.cache_clear()

    def useful(self, distinct: list[str]) -> set[str]:
        """The words of `distinct` (each once) that read as some word of the rule set."""
        if NATIVE is not None:
            new, found = NATIVE.split_known(distinct, self._learnt, self._useful)
        else:
            learnt, useful = self._learnt, self._useful
            new = [norm for norm in distinct if norm not in learnt]
            found = {norm for norm in distinct if norm in useful}
        if new:
            if len(self._learnt) + len(new) > self._MAX_LEARNT:
                self._learnt.clear()
                self._useful.clear()
                self.readings.clear()
                new, found = distinct, set()
            found.update(self._learn(new))
        return found  # type: ignore[no-any-return]

    def _learn(self, new: list[str]) -> list[str]:
        """Learn what new words read as; return those that read as some rule word."""
        owners, readings, useful = self._owners, self.readings, self._useful
        places = self._head_places
        learnt: list[str] = []
        read: Iterable[str] = new
        if places is not None:  # the others read only as the words they are a form of, if any
            if NATIVE is not None:
                read = set(NATIVE.words_beginning(new, places))
                forms = NATIVE.words_in(new, self._forms)
            else:
                read = set(places.findall("\n" + "\n".join(new)))
                forms = owners.keys() & set(new)
            for norm in forms:
                if norm not in read and (owned := owners.get(norm)) is not None:
                    readings[norm] = owned
                    useful.add(norm)
                    learnt.append(norm)
        for norm in read:
            found = self._read(norm)
            if found:
                readings[norm] = found
                useful.add(norm)
                learnt.append(norm)
        self._learnt.update(new)
        return learnt

    def _read(self, norm: str) -> tuple[Word, ...]:
        found = list(self._owners.get(norm, ()))
        by_head = self._by_head
        if by_head:
            candidates: list[Word] = []
            for form in strip_proclitics(norm):  # the heads `_heads` would make, looked up
                for head in _form_heads(form):
                    words = by_head.get(head)
                    if words is not None:
                        candidates.extend(words)
            if candidates:
                found.extend(w for w in dict.fromkeys(candidates) if _completes(w, norm))
        found.extend(w for w in self._unkeyed if _reads_as(w, norm))
        return tuple(found)


def _head_places(heads: Iterable[str]) -> list[str] | None:
    """How the article words begin some reading of which has one of `heads` (sorted). A reading
    drops a proclitic, perhaps gains or keeps the article and perhaps drops a final alif; its
    heads are two or three letters from its start or after its article (`_form_heads`). So
    such a word begins with a proclitic (or none), perhaps "ال", then the head. None: every
    word may have a head (one begins with "ال", which a reading may gain)."""
    ordered = sorted(heads)
    if any(head.startswith("ال") for head in ordered):
        return None
    return sorted({proclitic + article + head for head in ordered for proclitic in ANY_PROCLITIC
                   for article in ("", "ال")})


def _prefix_pattern(strings: list[str]) -> str:
    """A pattern for where one of `strings` (sorted) starts, as a tree of their letters: at each
    letter the regex engine tries only the branches, each skipped on its first letter. With
    "\n(" before it and "[^\n]*)" after, `findall` over words joined by "\n" (and one before
    them) gives those that begin with one of `strings`."""
    if not strings or strings[0] == "":
        return ""
    by_first: dict[str, list[str]] = {}
    for string in strings:
        by_first.setdefault(string[0], []).append(string[1:])
    branches = [re.escape(first) + _prefix_pattern(rests) for first, rests in by_first.items()]
    return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"


# --- clauses compiled into plans -------------------------------------------------------------

class Plan:
    """A clause compiled once: `find` gives its spans in one field (phrases, NEAR and OR-groups
    of them, memoised per article under `key`), `decide` whether it holds in some fields."""

    __slots__ = ("node", "kind", "key", "children", "find", "decide", "required", "words",
                 "screen", "text")

    def __init__(self, node: Node) -> None:
        self.node = node
        self.kind = type(node)
        self.key: int | None = None
        self.children: list[Plan] = []
        self.find: Callable[[_Field], list[Span]] | None = None
        self.decide: Callable[[list[_Field]], bool] = _never
        self.words = frozenset(words_of(node))
        # Words a field must contain for the clause to have spans there (positional clauses).
        self.required: frozenset[Word] = frozenset()
        # The clause's screen (monitor.query): when it fails on the words present, no walk.
        self.screen: Screen | None = screen_of(node)
        # Its query text on one line, once described (monitor.rules._describe).
        self.text: str | None = None


def _never(searched: list[_Field]) -> bool:
    return False


# Identical positional clauses (the same phrase in many rules) share one key, so their spans
# are found once per article.
_KEYS: Final[dict[tuple[object, ...], int]] = {}


def plan_of(node: Node) -> Plan:
    """The plan of a clause, compiled on first use."""
    plan = node.plan
    if plan is None:
        plan = node.plan = _compile(node)
    return plan  # type: ignore[no-any-return]


def _compile(node: Node) -> Plan:
    plan = Plan(node)
    if isinstance(node, Phrase):
        plan.key = _KEYS.setdefault(("phrase", node.words), len(_KEYS))
        plan.find = _phrase_finder(node.words)
        plan.required = plan.words
    elif isinstance(node, Near):
        left, right = plan_of(node.left), plan_of(node.right)
        plan.children = [left, right]
        plan.key = _KEYS.setdefault(("near", node.distance, left.key, right.key), len(_KEYS))
        plan.find = _near_finder(left, right, node.distance)
        plan.required = left.required | right.required
    elif isinstance(node, Or):
        plan.children = [plan_of(child) for child in node.children]
        if all(child.key is not None for child in plan.children):
            plan.key = _KEYS.setdefault(("or", *(c.key for c in plan.children)), len(_KEYS))
            plan.find = _or_finder(plan.children)
            plan.required = frozenset.intersection(*(c.required for c in plan.children))
        if all(isinstance(c, Phrase) and len(c.words) == 1 for c in node.children):
            return _positional(plan)  # one pass over the alternatives' positions
        children = plan.children

        def any_holds(searched: list[_Field]) -> bool:
            for child in children:
                if child.decide(searched):
                    return True
            return False

        plan.decide = any_holds
        return plan
    elif isinstance(node, And):
        children = plan.children = [plan_of(child) for child in node.children]

        def all_hold(searched: list[_Field]) -> bool:
            for child in children:
                if not child.decide(searched):
                    return False
            return True

        plan.decide = all_hold
        return plan
    else:
        assert isinstance(node, Not)
        child = plan_of(node.child)
        plan.children = [child]
        plan.decide = lambda searched: not child.decide(searched)
        return plan
    return _positional(plan)


def _positional(plan: Plan) -> Plan:
    # A positional clause holds where it has spans: a phrase where its words follow each other,
    # a NEAR where its sides are close, in one field.
    def has_spans(searched: list[_Field]) -> bool:
        for field in searched:
            if field.spans(plan):
                return True
        return False

    plan.decide = has_spans
    return plan


def _phrase_finder(words: tuple[Word, ...]) -> Callable[[_Field], list[Span]]:
    if len(words) == 1:
        (word,) = words
        return lambda field: _points([field.where()[word]])
    first, rest, last = words[0], words[1:], len(words) - 1

    def find(field: _Field) -> list[Span]:
        where = field.where()
        starts = where[first]
        if not starts:
            return []
        following = []
        for word in rest:  # every word present before any position is compared
            found = where[word]
            if not found:
                return []
            following.append(found)
        return _phrase_spans(starts, following, last)

    return find


def _or_finder(children: list[Plan]) -> Callable[[_Field], list[Span]]:
    if all(c.kind is Phrase and len(c.node.words) == 1 for c in children):  # type: ignore[attr-defined]
        words = frozenset(c.node.words[0] for c in children)  # type: ignore[attr-defined]

        def find_words(field: _Field) -> list[Span]:
            present, where = field.present, field.where()
            alternatives = words if present is None else words.intersection(present)
            found = [at for word in alternatives if (at := where[word])]
            return _points(found) if found else []

        return find_words

    def find(field: _Field) -> list[Span]:  # an absent alternative has no spans
        return _merge_spans([field.spans(child) for child in children])

    return find


def _near_finder(left_plan: Plan, right_plan: Plan, n: int) -> Callable[[_Field], list[Span]]:
    def find(field: _Field) -> list[Span]:
        left = field.spans(left_plan)
        right = field.spans(right_plan) if left else []
        return _near_spans(left, right, n) if right else []

    return find


# The finders' arithmetic on positions (sorted lists of word indexes) and spans (lists of
# (first, last) sorted by start): in C when monitor._words was built, else in Python (`_py_*`).

def _points(lists: list[Positions]) -> list[Span]:
    """The positions of any of the lists, as one-word spans (at, at)."""
    if NATIVE is not None:
        return NATIVE.points(lists)  # type: ignore[no-any-return]
    return _py_points(lists)


def _phrase_spans(starts: Positions, following: list[Positions], last: int) -> list[Span]:
    """(s, s + last) for the starts s with s + k among following[k - 1], for every k."""
    if NATIVE is not None:
        return NATIVE.phrase_spans(starts, following, last)  # type: ignore[no-any-return]
    return _py_phrase_spans(starts, following, last)


def _merge_spans(lists: list[list[Span]]) -> list[Span]:
    """Every span of the lists, sorted, repeats left out."""
    if NATIVE is not None:
        return NATIVE.merge_spans(lists)  # type: ignore[no-any-return]
    return _py_merge_spans(lists)


def _near_spans(left: list[Span], right: list[Span], n: int) -> list[Span]:
    """(first start, last end) of each left and right span with 1 to n words between them."""
    if NATIVE is not None:
        return NATIVE.near_spans(left, right, n)  # type: ignore[no-any-return]
    return _py_near_spans(left, right, n)


def _py_points(lists: list[Positions]) -> list[Span]:
    merged: set[int] = set()
    for ats in lists:
        merged.update(ats)
    return [(at, at) for at in sorted(merged)]


def _py_phrase_spans(starts: Positions, following: list[Positions], last: int) -> list[Span]:
    kept = list(starts)
    for offset, found in enumerate(following, 1):
        after = set(found)
        kept = [at for at in kept if at + offset in after]
    return [(at, at + last) for at in kept]


def _py_merge_spans(lists: list[list[Span]]) -> list[Span]:
    merged: set[Span] = set()
    for spans in lists:
        merged.update(spans)
    return sorted(merged)


def _py_near_spans(left: list[Span], right: list[Span], n: int) -> list[Span]:
    widest = max(end - start for start, end in right)
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


# --- an article indexed for matching -------------------------------------------------------

_ABSENT: Final[tuple[int, ...]] = ()
_NO_SPANS: Final[list[Span]] = []  # shared: spans lists are never changed once found


class _Where(dict[Word, Positions]):
    """Positions by query word; a word outside the lexicon is looked for when first asked.

    It holds the field's words, not the field: a reference back to the field would make a
    cycle, and every article would wait for the cyclic garbage collector to be freed.
    """

    __slots__ = ("words", "known")
    words: list[str]
    known: frozenset[Word] | None  # the lexicon's words (None: no lexicon)

    def __missing__(self, word: Word) -> Positions:
        found = self[word] = _scan(word, self.words, self.known)
        return found


def _scan(word: Word, words: list[str], known: frozenset[Word] | None) -> tuple[int, ...]:
    """Positions of a word not in the index: none for a word of the lexicon (the index holds
    those present), else looked for word by word."""
    if known is not None and word in known:
        return _ABSENT
    forms = {norm for norm in set(words) if _reads_as(word, norm)}
    return tuple(at for at, norm in enumerate(words) if norm in forms) if forms else _ABSENT


class _Field:
    """One field's normalised words, the rule words present, and their positions on demand."""

    __slots__ = ("text", "split", "words", "size", "present", "memo", "_lexicon", "_useful",
                 "_where", "_tokens")

    def __init__(self, text: str, lexicon: Lexicon | None = None) -> None:
        self.text = text
        self.split = Words(text)
        self.words = self.split.words
        self.size = len(self.words)
        self.memo: dict[int, list[Span]] = {}
        self._lexicon = lexicon
        self._where: _Where | None = None
        self._tokens: list[Token] | None = None
        self._useful: set[str] = set()
        self.present: set[Word] | None = None  # the rule words present (with a lexicon)
        if lexicon is not None:
            self._useful = lexicon.useful(self.split.distinct)
            readings = lexicon.readings
            if NATIVE is not None:
                self.present = NATIVE.readings_union(readings, self._useful)
            else:
                present: set[Word] = set()
                for norm in self._useful:
                    present.update(readings[norm])
                self.present = present

    @property
    def tokens(self) -> list[Token]:
        """Tokens with offsets into the original text (built on first use)."""
        if self._tokens is None:
            self._tokens = tokenize(self.text)
        return self._tokens

    def spans(self, plan: Plan) -> list[Span]:
        """Token spans (first, last) of a positional clause, sorted by start."""
        found = self.memo.get(plan.key)  # type: ignore[arg-type]
        if found is None:
            present = self.present
            if present is not None and not plan.required <= present:
                found = _NO_SPANS  # a word it needs is absent: no positions to compare
            else:
                found = plan.find(self)  # type: ignore[misc]
            self.memo[plan.key] = found  # type: ignore[index]
        return found

    def positions(self, word: Word) -> Positions:
        """Sorted positions of the article words that read as `word`."""
        return self.where()[word]

    def where(self) -> _Where:
        """Positions by query word (built on first use)."""
        if self._where is not None:
            return self._where
        lexicon, words, useful = self._lexicon, self.words, self._useful
        where = self._where = _Where()
        where.words = words
        where.known = None if lexicon is None else lexicon.words
        if not useful:
            return where
        readings = lexicon.readings  # type: ignore[union-attr]
        if NATIVE is not None:  # the same, in C
            NATIVE.fill_positions(where, words, useful, readings)
            return where
        at_token: dict[str, list[int]] = {}
        for at, norm in enumerate(words):
            if norm in useful:
                found = at_token.get(norm)
                if found is None:
                    at_token[norm] = [at]
                else:
                    found.append(at)
        several = set()
        for norm, ats in at_token.items():
            for word in readings[norm]:
                prior = where.get(word)
                if prior:
                    where[word] = [*prior, *ats]
                    several.add(word)
                else:
                    where[word] = ats
        for word in several:
            where[word].sort()  # type: ignore[union-attr]
        return where


class Hit(NamedTuple):
    """A matched clause and where: spans are (field, first token, last token)."""

    node: Node
    spans: list[tuple[str, int, int]]


class IndexedArticle:
    """An article's title and body, split into normalised words once for all rules.

    With a rule set's `Lexicon`, the rule words present are known at once (screens need them);
    without one, the words of each clause asked about are looked for on demand.
    """

    def __init__(self, title: str | None, text: str | None, lexicon: Lexicon | None = None) -> None:
        self.fields = {"title": _Field(title or "", lexicon), "body": _Field(text or "", lexicon)}
        self._present: dict[tuple[str, ...], set[Word]] = {}
        self._lexicon = lexicon

    def _plan(self, node: Node) -> Plan:
        plan = plan_of(node)
        if self._lexicon is not None and not plan.words <= self._lexicon.words:
            # A clause from outside the rule set: the words present are no longer all known,
            # so neither screens nor the required-words test may rule anything out.
            self._lexicon = None
            self._present.clear()
            for field in self.fields.values():
                field.present = None
        return plan

    def searched(self, fields: Iterable[str]) -> list[_Field]:
        """The named fields."""
        return [self.fields[name] for name in fields]

    def present(self, fields: tuple[str, ...]) -> set[Word] | None:
        """The rule words present in these fields (None: not known, without a lexicon)."""
        present = self._present.get(fields)
        if present is None:
            found = [self.fields[name].present for name in fields]
            if any(each is None for each in found):
                return None
            present = self._present[fields] = (found[0] if len(found) == 1  # type: ignore[assignment]
                                               else set().union(*found))  # type: ignore[arg-type]
        return present

    def screened(self, screen: Screen | None, fields: tuple[str, ...]) -> bool:
        """Whether a rule's screen (see `screen_of`) lets it through on these fields."""
        if screen is None:
            return True
        present = self.present(fields)
        return present is None or screen(present)

    def matches(self, node: Node, fields: Iterable[str]) -> bool:
        """Whether a clause holds in these fields."""
        return self._plan(node).decide(self.searched(fields))

    def spans(self, node: Node, field_name: str) -> list[Span]:
        """Token spans (first, last) of a positional clause in one field, sorted by start."""
        return self.fields[field_name].spans(self._plan(node))

    def hits(self, node: Node, fields: tuple[str, ...]) -> list[Hit] | None:
        """Positive clauses that matched, [] for a satisfied NOT, None when `node` fails."""
        return self.plan_hits(self._plan(node), fields)

    def plan_hits(self, plan: Plan, fields: tuple[str, ...]) -> list[Hit] | None:
        """`hits` of a compiled clause."""
        if plan.screen is not None:
            present = self.present(fields)
            if present is not None and not plan.screen(present):
                return None
        kind = plan.kind
        if kind is Phrase or kind is Near:
            spans = [(name, start, end) for name in fields
                     for start, end in self.fields[name].spans(plan)]
            return [Hit(plan.node, spans)] if spans else None
        if kind is Not:
            return None if plan.children[0].decide(self.searched(fields)) else []
        # An AND holds when all its children do, an OR when one does: their hits say so.
        found: list[Hit] = []
        held = False
        for child in plan.children:
            hits = self.plan_hits(child, fields)
            if hits is not None:
                held = True
                found.extend(hits)
            elif kind is And:
                return None
        return found if held else None
