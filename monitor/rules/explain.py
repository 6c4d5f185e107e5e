"""Explanations: the clauses that matched, snippets of the original text, or why a rule failed."""

from __future__ import annotations

from monitor.rules.article import FIELDS, IndexedArticle
from monitor.rules.clauses import Attribute, Clause, Hit, InTitle, Near, Not, Or, Phrase

SNIPPET_CONTEXT = 8  # words of context on each side of a matched clause
MAX_SNIPPETS = 5
MAX_SNIPPET_WORDS = 40  # merged windows stop growing here, so one snippet is never the article
MAX_SNIPPET_CHARS = 1_000
MAX_GLUED = 60  # characters glued to a snippet's first or last word that it keeps (no spaces)
MAX_REASONS = 3
MAX_REASON_CHARS = 100


def describe(node: Clause, article: IndexedArticle, fields: tuple[str, ...], source: str) -> str:
    """A matched positional clause as written, naming only the OR alternatives in the article."""
    if isinstance(node, Near):
        operator = "ONEAR" if node.ordered else "NEAR"
        return (f"{describe(node.left, article, fields, source)} {operator}/{node.distance} "
                f"{describe(node.right, article, fields, source)}")
    if isinstance(node, Or):  # an alternative of one word holds if the word is present
        present = article.present(fields)
        found = [describe(child, article, fields, source)
                 for child, word in zip(node.children, node.lone_words, strict=True)
                 if (word in present if word is not None else child.holds(article, fields))]
        return found[0] if len(found) == 1 else "(" + " OR ".join(found) + ")"
    return node.describe(source)


def clauses(hits: list[Hit], article: IndexedArticle, fields: tuple[str, ...],
            source: str) -> list[str]:
    """The matched clauses of `hits`, each once, in the query's order."""
    return list(dict.fromkeys(describe(hit.node, article, hit.fields or fields, source)
                              for hit in hits))


def snippets(hits: list[Hit], article: IndexedArticle) -> list[str]:
    """Original-text windows around the matched spans, title first, overlapping ones merged."""
    spans = sorted({span for hit in hits for span in hit.spans})  # (field, first, last)
    found: list[str] = []
    for name in FIELDS:
        field = article.fields[name]
        last = len(field.words) - 1
        windows: list[list[int]] = []
        wanted = MAX_SNIPPETS - len(found)
        for start, end in [(first, last) for where, first, last in spans if where == name]:
            lo, hi = max(start - SNIPPET_CONTEXT, 0), min(end + SNIPPET_CONTEXT, last)
            if windows and lo <= windows[-1][1] + 1 and hi - windows[-1][0] <= MAX_SNIPPET_WORDS:
                windows[-1][1] = max(windows[-1][1], hi)
            elif len(windows) == wanted:  # the windows wanted can grow no more
                break
            else:
                windows.append([lo, hi])
        for lo, hi in windows:
            text = " ".join(_excerpt(field.text, field.place(lo)[0], field.place(hi)[1]))
            cut = len(text) > MAX_SNIPPET_CHARS  # a window of few but very long "words"
            text = text[:MAX_SNIPPET_CHARS - 1] if cut else text
            if name == "body":
                text = ("…" if lo > 0 else "") + text + ("…" if hi < last or cut else "")
            found.append(text[:MAX_SNIPPET_CHARS])
    return found


def _excerpt(text: str, start: int, end: int) -> list[str]:
    """The words of text[start:end] and what is glued to its ends (MAX_GLUED at most)."""
    before = text.rfind(" ", max(start - MAX_GLUED, 0), start)
    after = text.find(" ", end, end + MAX_GLUED)
    first = before + 1 if before >= 0 or start <= MAX_GLUED else start
    stop = after if after >= 0 else len(text) if len(text) - end <= MAX_GLUED else end
    return text[first:stop].split()


def failures(root: Clause, article: IndexedArticle, fields: tuple[str, ...],
             source: str) -> tuple[list[str], list[Hit]]:
    """Why a clause fails: the failed clauses (shortest first) and the NOTs that excluded the
    article, and the hits of those NOTs."""
    missing: list[str] = []
    excluded: list[str] = []
    struck: list[Hit] = []

    def walk(node: Clause) -> None:
        if isinstance(node, Not):
            excluded.append(node.child.describe(source))
            struck.extend(node.child.hits(article, fields) or [])
        elif isinstance(node, Near) and not (node.left.holds(article, fields)
                                             and node.right.holds(article, fields)):
            walk(node.right if node.left.holds(article, fields) else node.left)
        elif isinstance(node, Or) and not all(isinstance(child, Phrase | Attribute | InTitle)
                                              for child in node.children):
            for child in node.children:
                walk(child)
        elif isinstance(node, Or | Near | Phrase | Attribute | InTitle):
            missing.append(node.describe(source))
        else:  # an AND: what of it fails
            for child in node.parts():
                if not child.holds(article, fields):
                    walk(child)

    walk(root)
    missing = sorted(dict.fromkeys(missing), key=len)
    reasons = [f"missing: {_clip(clause)}" for clause in missing[:MAX_REASONS]]
    if len(missing) > MAX_REASONS:
        reasons.append(f"and {len(missing) - MAX_REASONS} more missing clause(s)")
    reasons += [f"excluded by NOT {_clip(clause)}" for clause in dict.fromkeys(excluded)]
    return reasons, struck


def _clip(text: str) -> str:
    return text if len(text) <= MAX_REASON_CHARS else text[:MAX_REASON_CHARS - 1] + "…"
