"""An article read once for all the rules of a set: its words, and where the rules' words are.

A `Lexicon` (the words of a rule set) tells which of them an article word reads as, and
remembers it (a bounded cache that threads may share). An `IndexedArticle` lists the words of
its title and body once; word positions and clause spans are found only when asked.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from functools import cached_property
from itertools import chain, compress, count

from monitor.arabic import MAX_WORD, Token, piece_words, strip_proclitics, tokenize, word_locator
from monitor.rules.clauses import Clause, Span, Word

FIELDS = ("title", "body")


class Lexicon:
    """The words of a rule set, and which of them each article word reads as."""

    MAX_REMEMBERED = 200_000

    def __init__(self, words: Iterable[Word]) -> None:
        self.words = frozenset(words)
        self._exact = {word.key for word in self.words if word.kind == "exact"}
        # Wildcards and stems by the two letters a reading must begin with ("": fewer).
        self._by_head: dict[str, list[Word]] = {}
        for word in sorted(self.words - {Word("exact", key) for key in self._exact}):
            head = word.key if word.kind == "prefix" else word.key[:-1]
            self._by_head.setdefault(head[:2] if len(head) >= 2 else "", []).append(word)
        # The article words met, and the words of the set those read as; replaced whole when
        # full (a thread reading the old pair sees both halves agree).
        self._memory: tuple[set[str], dict[str, tuple[Word, ...]]] = (set(), {})

    def read(self, norms: set[str]) -> dict[str, tuple[Word, ...]]:
        """For the article words (normalised) that read as some word of the set, those words."""
        learnt, useful = self._memory
        if len(learnt) + len(norms) > self.MAX_REMEMBERED:
            learnt, useful = self._memory = (set(), {})
        found: dict[str, tuple[Word, ...]] = {}
        for norm in norms - learnt:
            if words := self._read(norm):  # a hostile page's huge "words" are not remembered
                (useful if len(norm) <= MAX_WORD else found)[norm] = words
            if len(norm) <= MAX_WORD:
                learnt.add(norm)
        found.update({norm: useful[norm] for norm in useful.keys() & norms})
        return found

    def _read(self, norm: str) -> tuple[Word, ...]:
        found = []
        for form in strip_proclitics(norm):
            if form in self._exact:
                found.append(Word("exact", form))
            found += [word for head in (form[:2], "") for word in self._by_head.get(head, ())
                      if word.matches(form)]
        return tuple(dict.fromkeys(found))


class Field:
    """One field's normalised words, the query words `present` (of the lexicon or learnt since),
    and their positions on demand."""

    def __init__(self, text: str, lexicon: Lexicon) -> None:
        self.text = text
        self._raw = text.split()
        self._pieces = piece_words(self._raw)
        self.words: list[str] = list(chain.from_iterable(self._pieces))  # normalised, in order
        self._read(lexicon)

    def _read(self, lexicon: Lexicon) -> None:
        self._lexicon, self._reads = lexicon, lexicon.read(set(self.words))
        self.present: set[Word] = set().union(*self._reads.values())
        self.__dict__.pop("_positions", None)

    def learn(self, words: Iterable[Word]) -> None:
        """Find query words outside the lexicon too (a clause from elsewhere)."""
        if not self._lexicon.words.issuperset(words):
            self._read(Lexicon(self._lexicon.words.union(words)))

    def positions(self, word: Word) -> list[int]:
        """Sorted indexes of the field's words that read as `word`."""
        return self._positions.get(word, [])

    @cached_property
    def _positions(self) -> dict[Word, list[int]]:
        """The positions of every word present, found in one pass."""
        reads, words = self._reads, self.words
        positions: defaultdict[Word, list[int]] = defaultdict(list)
        for at in compress(count(), map(reads.__contains__, words)):  # the few that read as some
            for each in reads[words[at]]:
                positions[each].append(at)
        return positions

    @cached_property
    def place(self) -> Callable[[int], tuple[int, int]]:
        """`place(i)`: start and end in the original text of word i."""
        return word_locator(self.text, self._raw, self._pieces)

    @cached_property
    def tokens(self) -> list[Token]:
        """The field's words with their places in the original text."""
        return tokenize(self.text)


class IndexedArticle:
    """An article's title and body read once for many clauses, and its `attributes` (source,
    country, kind, language). A clause is tested once its words are known: those of the lexicon,
    or others after `learn(clause)`. `twins`: clauses.twins."""

    def __init__(self, title: str | None, text: str | None, lexicon: Lexicon | None = None,
                 *, attributes: dict[str, str] | None = None,
                 twins: dict[Clause, Clause] | None = None) -> None:
        lexicon = lexicon or Lexicon(())
        self.fields = {"title": Field(title or "", lexicon), "body": Field(text or "", lexicon)}
        self.attributes = attributes or {}
        self._spans: dict[str, dict[Clause, list[Span]]] = {"title": {}, "body": {}}
        self._present: dict[tuple[str, ...], set[Word]] = {}
        self._twins = twins or {}

    def learn(self, clause: Clause) -> None:
        """Make the words of a clause known, so that it can be tested."""
        words = clause.query_words()
        for field in self.fields.values():
            field.learn(words)
        self._present.clear()

    def present(self, fields: tuple[str, ...] = FIELDS) -> set[Word]:
        """The query words present in these fields (found once per set of fields)."""
        found = self._present.get(fields)
        if found is None:
            found = self._present[fields] = set().union(
                *(self.fields[name].present for name in fields))
        return found

    def spans(self, clause: Clause, name: str) -> list[Span]:
        """The spans of a positional clause in one field (found once per article)."""
        clause = self._twins.get(clause, clause)
        memo = self._spans[name]
        found = memo.get(clause)
        if found is None:
            lacking = not clause.required <= self.fields[name].present
            found = memo[clause] = [] if lacking else clause.find(self, name)
        return found
