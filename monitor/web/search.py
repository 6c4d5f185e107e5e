"""Search: a watch-rule query tried on the archive. The index narrows, the rule engine decides.

A search is a rule with no language limit and the default fields: its results are exactly the
stored articles that `RuleSet.evaluate` says the query matches, with the engine's clauses and
snippets. The full-text index (storage/search_index.py) only gives the candidates, through a
prefilter that every matching article satisfies.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from monitor.config import Source
from monitor.rules import Query, RuleMatch, RuleSet, WatchRule, compile_query
from storage.browse import Browse, Filters, Prefilter
from storage.search_index import MAX_TERM

SEARCH_RULE_ID = "search"
BATCH = 100  # candidates read and decided at a time
MIN_PREFIX = 2  # a shorter prefix narrows nothing worth an index look-up
MIN_DECIDED = 25  # a page decides at least this many candidates, however long they take


def _prefilter(query: Query) -> Prefilter | None:
    """The engine's prefilter (every matching article meets it), fitted to the index: a term
    longer than the index keeps (MAX_TERM characters) is looked up by that beginning."""
    return _fitted(query.prefilter())


def _fitted(tree: Prefilter | None) -> Prefilter | None:
    if tree is None:
        return None
    if tree[0] == "term":
        return ("prefix", tree[1][:MAX_TERM]) if len(tree[1]) > MAX_TERM else tree
    if tree[0] == "prefix":
        return ("prefix", tree[1][:MAX_TERM]) if len(tree[1]) >= MIN_PREFIX else None
    if tree[0] in ("and", "or"):
        children = [_fitted(child) for child in tree[1]]
        if tree[0] == "and":
            return _all(children)
        if any(child is None for child in children):
            return None
        return children[0] if len(children) == 1 else ("or", children)
    return tree  # ("field", …): index_only decides what the index can look up


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

    def decide(self, title: str | None, text: str, language: str | None, *,
               source: Source | None = None) -> RuleMatch | None:
        """The engine's verdict on one article of `source` (None: no match)."""
        where = {"source": source.id, "country": source.country, "kind": source.kind} \
            if source is not None else {}
        with self._lock:
            found = self.rules.evaluate(title or "", text, language, **where)
        return found[0] if found else None

    def _decide(self, candidate, sources: Mapping[str, Source]) -> RuleMatch | None:
        return self.decide(candidate.title, candidate.text, candidate.language,
                           source=sources.get(candidate.source))

    def page(self, browse: Browse, filters: Filters, *, before: int | None = None,
             limit: int = 25, budget: float = 0.2,
             sources: Mapping[str, Source] | None = None) -> SearchPage:
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
                match = self._decide(candidate, sources or {})
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

    def every_hit(self, browse: Browse, filters: Filters, cap: int,
                  sources: Mapping[str, Source] | None = None) -> Iterator[Hit]:
        """Every hit, newest stored first, up to `cap` (for exports)."""
        cursor, found = None, 0
        while True:
            batch = browse.candidates(self.prefilter, filters, before=cursor, limit=BATCH)
            for candidate in batch.candidates:
                match = self._decide(candidate, sources or {})
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
