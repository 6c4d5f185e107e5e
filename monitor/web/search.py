"""Search: a watch-rule query tried on the archive. The index narrows, the rule engine decides.

A search is a rule with no language limit and the default fields: its results are exactly the
stored articles that `RuleSet.evaluate` says the query matches, with the engine's clauses and
snippets. The full-text index (storage/search_index.py) only gives the candidates, through a
prefilter that every matching article satisfies.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from monitor.query import And, Near, Node, Not, Or, Phrase, Word
from monitor.rules import Query, RuleMatch, RuleSet, WatchRule, compile_query
from storage.browse import Browse, Filters, Prefilter
from storage.search_index import MAX_TERM

SEARCH_RULE_ID = "search"
BATCH = 100  # candidates read and decided at a time
MIN_PREFIX = 2  # a shorter prefix narrows nothing worth an index look-up
MIN_DECIDED = 25  # a page decides at least this many candidates, however long they take


def _prefilter(query: Query) -> Prefilter | None:
    """The index terms a matching article must have, as a tree; None when nothing narrows.

    Swap for `Query.prefilter()` once the rule engine provides it (same tree).
    """
    return _narrow(query.root)


def _narrow(node: Node) -> Prefilter | None:
    # Each clause is read as "all its words occur" (phrases, NEAR) and NOT as "anything":
    # the engine's own screen (monitor.query.screen_of), over index terms.
    if isinstance(node, Phrase):
        return _all([_word(word) for word in node.words])
    if isinstance(node, Near):
        return _all([_narrow(node.left), _narrow(node.right)])
    if isinstance(node, And):
        return _all([_narrow(child) for child in node.children])
    if isinstance(node, Or):
        children = [_narrow(child) for child in node.children]
        if any(child is None for child in children):
            return None
        return children[0] if len(children) == 1 else ("or", children)
    if isinstance(node, Not):
        return None
    return None  # a clause this function does not know: it cannot narrow


def _word(word: Word) -> Prefilter | None:
    # An article word matches an exact query word when one of its readings without proclitics
    # is that word (monitor.matching._reads_as); the index holds every such reading (cut to
    # MAX_TERM characters: a longer word is looked up by that beginning).
    if word.kind == "exact":
        if len(word.key) > MAX_TERM:
            return ("prefix", word.key[:MAX_TERM])
        return ("term", word.key)
    if word.kind == "prefix":
        return ("prefix", word.key[:MAX_TERM]) if len(word.key) >= MIN_PREFIX else None
    # ~word: a light stem only cuts endings, so a reading that stems to the key begins with
    # the key — except where the stem's last letter was changed and kept: a three-letter
    # Arabic stem ending in a restored ه (بيتها → بيه) or an English one in y (ministries →
    # ministry); there it begins with the key but its last letter (monitor.matching._fragment).
    head = word.key
    if (len(head) == 3 and head.endswith("ه")) or (head.isascii() and head.endswith("y")):
        head = head[:-1]
    head = head[:MAX_TERM]
    return ("prefix", head) if len(head) >= MIN_PREFIX else None


def index_only(tree: Prefilter | None) -> Prefilter | None:
    """The prefilter with what the index cannot look up (field nodes: source:, lang:, title:…)
    read as "anything", so that only terms and prefixes reach storage.browse."""
    if tree is None or tree[0] in ("term", "prefix"):
        return tree
    if tree[0] == "and":
        return _all([index_only(child) for child in tree[1]])
    if tree[0] == "or":
        children = [index_only(child) for child in tree[1]]
        if any(child is None for child in children):
            return None
        return children[0] if len(children) == 1 else ("or", children)
    return None  # ("field", name, value) and anything newer


def _all(children: list[Prefilter | None]) -> Prefilter | None:
    kept = [child for child in children if child is not None]
    if not kept:
        return None
    return kept[0] if len(kept) == 1 else ("and", kept)


@dataclass
class Hit:
    """An article the query matched, with the engine's explanation."""

    article_id: int
    match: RuleMatch


@dataclass
class SearchPage:
    """One page of results; `next_before` continues below that id (more results, or more to
    scan when the time budget ran out: `partial`)."""

    hits: list[Hit] = field(default_factory=list)
    next_before: int | None = None
    partial: bool = False
    candidates_seen: int = 0


class Search:
    """A compiled query, run over the stored articles through the index."""

    def __init__(self, query_text: str) -> None:
        self.query_text = query_text
        self.rule = WatchRule(SEARCH_RULE_ID, query_text, query_text)  # QuerySyntaxError
        self.rules = RuleSet([self.rule])
        self.prefilter = index_only(_prefilter(compile_query(query_text)))
        # The rule set learns what each article word reads as; requests share it (see
        # `compiled`), one at a time.
        self._lock = threading.Lock()

    def decide(self, title: str | None, text: str, language: str | None) -> RuleMatch | None:
        """The engine's verdict on one article (None: no match)."""
        with self._lock:
            found = self.rules.evaluate(title or "", text, language)
        return found[0] if found else None

    def page(self, browse: Browse, filters: Filters, *, before: int | None = None,
             limit: int = 25, budget: float = 0.2) -> SearchPage:
        """Up to `limit` hits below id `before`, newest stored first, in about `budget` seconds."""
        result = SearchPage()
        deadline = time.monotonic() + budget
        cursor = before
        while True:
            batch = browse.candidates(self.prefilter, filters, before=cursor, limit=BATCH)
            for candidate in batch.candidates:
                if result.candidates_seen >= MIN_DECIDED and time.monotonic() > deadline:
                    # continue below the last one decided
                    result.next_before, result.partial = cursor, True
                    return result
                result.candidates_seen += 1
                match = self.decide(candidate.title, candidate.text, candidate.language)
                cursor = candidate.id
                if match is None:
                    continue
                if len(result.hits) == limit:
                    result.next_before = result.hits[-1].article_id
                    return result
                result.hits.append(Hit(candidate.id, match))
            cursor = batch.next_before
            if cursor is None:
                return result

    def every_hit(self, browse: Browse, filters: Filters, cap: int) -> Iterator[Hit]:
        """Every hit, newest stored first, up to `cap` (for exports)."""
        cursor, found = None, 0
        while True:
            batch = browse.candidates(self.prefilter, filters, before=cursor, limit=BATCH)
            for candidate in batch.candidates:
                match = self.decide(candidate.title, candidate.text, candidate.language)
                if match is not None:
                    yield Hit(candidate.id, match)
                    found += 1
                    if found >= cap:
                        return
            cursor = batch.next_before
            if cursor is None:
                return


@lru_cache(maxsize=64)
def compiled(query_text: str) -> Search:
    """The search for a query, kept for the next page and the next reader: its rule set has
    then already learnt the archive's words (a QuerySyntaxError is raised, not cached)."""
    return Search(query_text)
