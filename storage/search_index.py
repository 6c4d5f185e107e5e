"""The full-text index of stored articles: the words a watch-rule query can look for.

An article is indexed as the set of its normalised words (monitor.arabic: hamza forms, ة/ه,
ى/ي, tashkeel, tatweel and digits folded) and of each word's readings without its proclitics
("والحكومة" is also "الحكومه" and "حكومه"). A query word is looked up as such and a wildcard
`word*` as a prefix of them, so the articles a query can match are found without reading
them; the rule engine then decides. The index holds no positions: phrases and NEAR are only
"all their words occur" here, and the engine checks the order and the distance.

SQLite: an FTS5 table without content (`article_terms`, rowid = article id, `detail=none`);
its `ascii` tokenizer splits on ASCII punctuation and spaces only, so an Arabic term is taken
exactly as raqib normalised it (FTS5's unicode61 would split at tashkeel and not fold hamza).
Beside it, `article_terms_known` lists every term once: a wildcard is looked up as the terms it
stands for (FTS5 would merge the whole of every such term's list of articles first).
PostgreSQL: a table of `tsvector`s built from the terms as they are (`array_to_tsvector`, no
text-search parser or dictionary in between) with a GIN index.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING

from monitor import arabic

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# SQLAlchemy is imported where the database is used: the extraction workers import this module
# for `index_terms` alone, and SQLAlchemy would add 0.3 s to each worker's start.

__all__ = ["MAX_TERM", "clear", "create", "index_article", "index_terms", "known_terms",
           "rebuild", "remove_article"]

# A term is kept to its first MAX_TERM characters: a page may hold a "word" of thousands of
# letters, which PostgreSQL refuses in a tsvector (2 KB a lexeme). A longer query word is then
# looked up as a prefix of its first MAX_TERM characters (monitor.web.search), so nothing is lost.
MAX_TERM = 100


def index_terms(*texts: str | None, text_words: list[str] | None = None) -> list[str]:
    """The distinct index terms of some texts (monitor.arabic.index_terms: normalised words and
    their readings without proclitics), cut to MAX_TERM characters. `text_words`: the last
    text's `normalized_words`, when the caller has them (the extraction worker)."""
    terms: dict[str, None] = {}
    for at, part in enumerate(texts):
        if part:
            last = at == len(texts) - 1
            for term in arabic.index_terms(part, text_words if last else None):
                terms[term[:MAX_TERM]] = None
    return list(terms)


def known_terms(session: Session, prefix: str, cap: int) -> list[str] | None:
    """SQLite: the indexed terms that begin with `prefix`, or None when there are over `cap`."""
    from sqlalchemy import text

    found = list(session.scalars(
        text("SELECT term FROM article_terms_known WHERE term >= :low AND term < :high "
             "LIMIT :n"), {"low": prefix, "high": prefix + "\U0010ffff", "n": cap + 1}))
    return None if len(found) > cap else found


def index_article(session: Session, article_id: int, title: str | None, text_: str | None, *,
                  terms: list[str] | None = None, known: set[str] | None = None) -> list[str]:
    """Index a newly stored article, in the caller's transaction (searchable once committed).
    `terms`: its `index_terms`, when computed already (the crawl's extraction worker does).

    `known` (SQLite): terms the caller saw committed to `article_terms_known` already; they are
    not written again. Returns the terms written there: the caller adds them to `known` once
    the transaction committed (a rolled-back term must be written by the next article)."""
    return _write(session, [(article_id, index_terms(title, text_) if terms is None else terms)],
                  known)


def remove_article(session: Session, article_id: int, title: str | None,
                   text_: str | None) -> None:
    """Drop an article from the index, given the title and text it was indexed with."""
    from sqlalchemy import text

    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("DELETE FROM article_terms WHERE article_id = :id"), {"id": article_id})
    else:  # a table without content forgets a row only when told what it indexed
        session.execute(text("INSERT INTO article_terms (article_terms, rowid, terms) "
                             "VALUES ('delete', :id, :terms)"),
                        {"id": article_id, "terms": " ".join(index_terms(title, text_))})


@lru_cache(maxsize=1)
def _write_postgresql():
    from sqlalchemy import text

    return text("INSERT INTO article_terms (article_id, terms) "
                "VALUES (:id, array_to_tsvector(CAST(:terms AS text[]))) "
                "ON CONFLICT (article_id) DO UPDATE SET terms = EXCLUDED.terms")


def _write(session: Session, rows: Iterable[tuple[int, list[str]]],
           known: set[str] | None = None) -> list[str]:
    rows = list(rows)
    if not rows:
        return []
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(_write_postgresql(),
                           [{"id": article_id, "terms": terms} for article_id, terms in rows])
        return []
    # Straight to the driver (plain text and integers: nothing for SQLAlchemy to convert).
    connection.exec_driver_sql("INSERT INTO article_terms (rowid, terms) VALUES (?, ?)",
                               [(article_id, " ".join(terms)) for article_id, terms in rows])
    # Most of an article's terms are known after a few hundred articles: a set look-up each
    # instead of a B-tree probe each (INSERT OR IGNORE of ~450 terms was 0.7 ms an article).
    fresh = list({term for _id, terms in rows for term in terms
                  if known is None or term not in known})
    if fresh:
        connection.exec_driver_sql("INSERT OR IGNORE INTO article_terms_known (term) VALUES (?)",
                                   [(term,) for term in fresh])
    return fresh


def create(connection) -> None:
    """Create the index table for the connection's database (the migration calls this)."""
    from sqlalchemy import text

    if connection.dialect.name == "postgresql":
        connection.execute(text(
            "CREATE TABLE article_terms (article_id INTEGER PRIMARY KEY "
            "REFERENCES articles (id) ON DELETE CASCADE, terms tsvector NOT NULL)"))
        connection.execute(text(
            "CREATE INDEX ix_article_terms_terms ON article_terms USING gin (terms)"))
    else:
        # No content (the terms are a function of the article's title and text) and no
        # positions: the rule engine, not the index, checks phrases and NEAR.
        connection.execute(text(
            "CREATE VIRTUAL TABLE article_terms USING fts5(terms, content='', detail=none, "
            "columnsize=0, tokenize='ascii')"))
        connection.execute(text(
            "CREATE TABLE article_terms_known (term TEXT PRIMARY KEY) WITHOUT ROWID"))


def clear(connection) -> None:
    """Empty the index (before `rebuild`, when the normaliser changed)."""
    from sqlalchemy import text

    if connection.dialect.name == "postgresql":
        connection.execute(text("TRUNCATE article_terms"))
    else:
        connection.execute(text("INSERT INTO article_terms (article_terms) VALUES ('delete-all')"))
        connection.execute(text("DELETE FROM article_terms_known"))


def rebuild(connection, batch_size: int = 500, progress=None) -> int:
    """Index every stored article into an empty index (the migration, `raqib db reindex`);
    returns how many. `progress(done)` is called after each batch."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    session = Session(bind=connection)
    done, last = 0, 0
    while True:
        batch = connection.execute(
            text("SELECT id, title, text FROM articles WHERE id > :last ORDER BY id LIMIT :n"),
            {"last": last, "n": batch_size}).all()
        if not batch:
            return done
        _write(session, [(row.id, index_terms(row.title, row.text)) for row in batch])
        done += len(batch)
        last = batch[-1].id
        if progress is not None:
            progress(done)
