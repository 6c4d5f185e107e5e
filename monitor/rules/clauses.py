"""The clauses of a query and how each matches an article (a plain value: threads share it).

Words, phrases, NEAR and OR-groups of them are *positional*: they match where they have spans,
(first word, last word) in one field, which snippets show.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import repeat
from operator import itemgetter
from typing import Any, NamedTuple

from monitor.arabic import light_stem, strip_proclitics

Span = tuple[int, int]
MAX_NEEDS = 8  # sets of words an OR needs, at most (see Or.needs)
Prefilter = tuple[Any, ...] | None


class Word(NamedTuple):
    """One query word in matching form: `kind` is exact, prefix (word*) or stem (~word)."""

    kind: str
    key: str

    def reads(self, norm: str) -> bool:
        """Whether a normalised article word reads as this word."""
        return any(self.matches(form) for form in strip_proclitics(norm))

    def matches(self, form: str) -> bool:
        """Whether one reading of an article word is this word."""
        if self.kind == "exact":
            return form == self.key
        if self.kind == "prefix":
            return form.startswith(self.key)
        # A light stem cuts endings and may change the last letter left (لجنتها → لجنه).
        return form.startswith(self.key[:-1]) and light_stem(form) == self.key

    def prefilter(self) -> Prefilter:
        if self.kind == "exact":
            return ("term", self.key)
        head = self.key
        if self.kind == "stem" and (head.endswith("ه") or (head.isascii() and head.endswith("y"))):
            head = head[:-1]  # the one letter a light stem may change
        return ("prefix", head) if len(head) >= 2 else None


class Hit(NamedTuple):
    """A positive clause that matched: spans (field, first word, last word), and `fields` where
    it was looked for if not its rule's (`title:`)."""

    node: Clause
    spans: list[tuple[str, int, int]]
    fields: tuple[str, ...] | None = None


@dataclass(eq=False)
class Clause:
    """A clause of a query; `start`/`end` locate its text in the query."""

    start: int
    end: int

    positional = False
    required = frozenset[Word]()  # a field needs them all for the clause to have spans there

    def describe(self, source: str) -> str:
        """The clause as written in the query, on one line."""
        return " ".join(source[self.start:self.end].split())

    def parts(self) -> list[Clause]:
        return []

    def query_words(self, negated: bool = True) -> list[Word]:
        """Every query word in the clause (with `negated=False`, only those outside NOT)."""
        return [word for part in self.parts() for word in part.query_words(negated)]

    def holds(self, article: Any, fields: tuple[str, ...]) -> bool:
        """Whether the clause matches these fields."""
        return self.hits(article, fields) is not None

    def hits(self, article: Any, fields: tuple[str, ...]) -> list[Hit] | None:
        """The positive clauses that matched, [] for a satisfied NOT, None when it fails."""
        spans = [(name, *span) for name in fields if self.required <= article.fields[name].present
                 for span in article.spans(self, name)]
        return [Hit(self, spans)] if spans else None

    def find(self, article: Any, name: str) -> list[Span]:
        """The sorted spans of a positional clause in one field (`article.spans` memoises)."""
        raise NotImplementedError

    def needs(self) -> list[frozenset[Word]]:
        """Sets of words a match needs one of each of ([]: NOT, `source:` need none)."""
        return [words for part in self.parts() for words in part.needs()]

    def anchors(self) -> frozenset[Word] | None:
        """The fewest and longest (likely rarest) of the `needs`, if any."""
        return _fewest(self.needs())

    def prefilter(self) -> Prefilter:
        """A condition on index terms every match meets: ("and", [...]), ("or", [...]), ("term",
        t), ("prefix", p), ("field", name, value); None when there is none (NOT)."""
        return _all([part.prefilter() for part in self.parts()])


@dataclass(eq=False)
class Phrase(Clause):
    """One word, or words that follow each other in this order."""

    words: tuple[Word, ...]
    positional = True

    def __post_init__(self) -> None:
        self.required = frozenset(self.words)

    def query_words(self, negated: bool = True) -> list[Word]:
        return list(self.words)

    def find(self, article: Any, name: str) -> list[Span]:
        field = article.fields[name]
        starts = field.positions(self.words[0])
        for offset, word in enumerate(self.words[1:], 1):
            following = set(field.positions(word))
            starts = [at for at in starts if at + offset in following]
        return [(at, at + len(self.words) - 1) for at in starts]

    def needs(self) -> list[frozenset[Word]]:
        return [frozenset([word]) for word in self.words]

    def prefilter(self) -> Prefilter:
        return _all([word.prefilter() for word in self.words])


@dataclass(eq=False)
class Near(Clause):
    """Two positional clauses at most `distance` words apart (`ordered`: left before right).

    Each span of a side is paired with the nearest span of the other side after and before it;
    the widest for each first and each last word are kept: every end a pair could have (a NEAR
    of NEARs decides as if all were kept), in linear time."""

    left: Clause
    right: Clause
    distance: int
    ordered: bool = False
    positional = True

    def __post_init__(self) -> None:
        self.required = self.left.required | self.right.required

    def parts(self) -> list[Clause]:
        return [self.left, self.right]

    def find(self, article: Any, name: str) -> list[Span]:
        left = article.spans(self.left, name)
        right = article.spans(self.right, name) if left else []
        if not right:
            return []
        found = _nearest(left, right, self.distance, after=True)
        found += _nearest(right, left, self.distance, after=False)
        if not self.ordered:
            found += _nearest(left, right, self.distance, after=False)
            found += _nearest(right, left, self.distance, after=True)
        found.sort()
        last = dict(found)  # the longest span of each start, and of each end
        first = {end: start for start, end in reversed(found)}
        return sorted({*last.items(), *((start, end) for end, start in first.items())})


@dataclass(eq=False)
class And(Clause):
    children: list[Clause]

    def parts(self) -> list[Clause]:
        return self.children

    def hits(self, article: Any, fields: tuple[str, ...]) -> list[Hit] | None:
        found: list[Hit] = []
        for child in self.children:
            hits = child.hits(article, fields)
            if hits is None:
                return None
            found += hits
        return found


@dataclass(eq=False)
class Or(Clause):
    children: list[Clause]

    def __post_init__(self) -> None:
        self.positional = all(child.positional for child in self.children)
        if self.positional:
            self.required = frozenset.intersection(*(child.required for child in self.children))
        # One-word alternatives are looked up in the words present.
        self.lone_words = [child.words[0] if isinstance(child, Phrase) and len(child.words) == 1
                           else None for child in self.children]
        self.single = frozenset(word for word in self.lone_words if word is not None)
        self.others = [child for child, word in zip(self.children, self.lone_words, strict=True)
                       if word is None]

    def parts(self) -> list[Clause]:
        return self.children

    def hits(self, article: Any, fields: tuple[str, ...]) -> list[Hit] | None:
        present = article.present(fields)
        found = [hits for child, word in zip(self.children, self.lone_words, strict=True)
                 if word is None or word in present
                 if (hits := child.hits(article, fields)) is not None]
        return [hit for hits in found for hit in hits] if found else None

    def find(self, article: Any, name: str) -> list[Span]:
        field = article.fields[name]
        found = {(at, at) for word in field.present.intersection(self.single)
                 for at in field.positions(word)}
        found.update(span for child in self.others for span in article.spans(child, name))
        return sorted(found)

    def needs(self) -> list[frozenset[Word]]:
        found = [child.needs() for child in self.children]
        if [] in found:
            return []
        product = [frozenset[Word]()]  # one word of each set of one alternative, for all
        for needs in found:
            product = list(dict.fromkeys(mine | theirs for mine in product for theirs in needs))
            if len(product) > MAX_NEEDS:  # too many: one word of each alternative's anchors
                return [frozenset().union(*(_fewest(needs) for needs in found))]
        return product

    def prefilter(self) -> Prefilter:
        found = [child.prefilter() for child in self.children]
        return None if None in found else found[0] if len(found) == 1 else ("or", found)


@dataclass(eq=False)
class Not(Clause):
    child: Clause

    def parts(self) -> list[Clause]:
        return [self.child]

    def query_words(self, negated: bool = True) -> list[Word]:
        return self.child.query_words(negated) if negated else []

    def hits(self, article: Any, fields: tuple[str, ...]) -> list[Hit] | None:
        return None if self.child.holds(article, fields) else []

    def needs(self) -> list[frozenset[Word]]:
        return []

    def prefilter(self) -> Prefilter:
        return None


@dataclass(eq=False)
class InTitle(Clause):
    """`title:( … )`: the clause looked for in the title only."""

    child: Clause

    def parts(self) -> list[Clause]:
        return [self.child]

    def hits(self, article: Any, fields: tuple[str, ...]) -> list[Hit] | None:
        found = self.child.hits(article, ("title",))
        return None if found is None else [hit._replace(fields=("title",)) for hit in found]


@dataclass(eq=False)
class Attribute(Clause):
    """`source:spa`, `country:QA`, `lang:ar`, `kind:agency`: what is known of the article."""

    name: str
    value: str

    def hits(self, article: Any, fields: tuple[str, ...]) -> list[Hit] | None:
        return [Hit(self, [])] if article.attributes.get(self.name) == self.value else None

    def needs(self) -> list[frozenset[Word]]:
        return []

    def prefilter(self) -> Prefilter:
        return ("field", self.name, self.value)


def twins(roots: Iterable[Clause]) -> dict[Clause, Clause]:
    """For every positional clause of these trees, the first met that means the same (words,
    alternatives, distance, order): an article finds its spans once for all its twins."""
    first: dict[tuple[Any, ...], Clause] = {}
    same: dict[Clause, Clause] = {}

    def twin(clause: Clause) -> Clause:  # the parts of a positional clause are positional
        if clause not in same:
            parts = [id(twin(part)) for part in clause.parts()]
            key = (("phrase", clause.words) if isinstance(clause, Phrase) else
                   ("near", *parts, clause.distance, clause.ordered) if isinstance(clause, Near)
                   else ("or", frozenset(parts)))
            same[clause] = first.setdefault(key, clause)
        return same[clause]

    for root in roots:
        todo = [root]
        while todo:
            clause = todo.pop()
            if clause.positional:
                twin(clause)
            else:
                todo += reversed(clause.parts())
    return same


def _fewest(needs: list[frozenset[Word]]) -> frozenset[Word] | None:
    return min(needs, key=lambda words: (len(words), -sum(len(w.key) for w in words)), default=None)


def _all(found: list[Prefilter]) -> Prefilter:
    kept = [each for each in found if each is not None]
    return None if not kept else kept[0] if len(kept) == 1 else ("and", kept)


def _nearest(spans: list[Span], others: list[Span], distance: int, after: bool) -> list[Span]:
    """Each span joined with the nearest of `others` after (or before) it, if within `distance`."""
    if after:  # the first other starting after the span's end (the shortest)
        starts = [start for start, _ in others]
        found = map(bisect_right, repeat(starts), [end for _, end in spans])
        return [(start, others[at][1]) for (start, end), at in zip(spans, found, strict=True)
                if at < len(others) and others[at][0] - end <= distance]
    # the other ending last before the span's start (the longest, if several)
    by_end = sorted(others, key=itemgetter(1, 0))
    ends = [end for _, end in by_end]
    first = {end: start for start, end in reversed(by_end)}
    found = map(bisect_left, repeat(ends), [start for start, _ in spans])
    return [(first[ends[at - 1]], end) for (start, end), at in zip(spans, found, strict=True)
            if at and start - ends[at - 1] <= distance]
