"""The one door to the database: every read and write raqib makes goes through `Repository`.

The repository is a set of rooms, one module each, that take and return plain values
(`storage.records`), never ORM rows:

    repo.articles    stored articles and their rule matches          storage/articles.py
    repo.crawl       seen URLs and their outcomes, HTTP validators    storage/crawl_state.py
    repo.runs        crawl runs and source health                     storage/runs.py
    repo.signatures  the near-duplicate index and clusters            storage/signatures.py
    repo.outbox      digests built and delivered exactly once         storage/outbox.py
    repo.locks       advisory locks across processes and machines     storage/locks.py
    repo.browse      the web view's reads: inbox, search, stories     storage/browse.py

Opening a repository checks the database's schema (storage.schema): an empty database gets it
when `create` is true; an older, newer or foreign one is a `SchemaError`.
"""

from __future__ import annotations

from sqlalchemy import Engine

from storage import schema
from storage.articles import Articles
from storage.browse import Browse
from storage.crawl_state import CrawlState
from storage.db import Database, make_engine
from storage.locks import AdvisoryLocks
from storage.outbox import DigestOutbox
from storage.runs import CrawlRuns
from storage.signatures import SignatureIndex


class Repository:
    """raqib's state, room by room; accepts an Engine or a database URL.

    `create`: give an empty database the schema (commands that write). `check=False` skips the
    schema check altogether (`raqib db upgrade`, which migrates whatever it finds).
    """

    def __init__(self, engine: Engine | str, *, create: bool = True, check: bool = True) -> None:
        self.db = Database(make_engine(engine) if isinstance(engine, str) else engine)
        if check:
            try:
                schema.check(self.db.engine, create=create)
            except Exception:
                self.db.engine.dispose()
                raise
        self.crawl = CrawlState(self.db)
        self.articles = Articles(self.db, self.crawl)
        self.runs = CrawlRuns(self.db)
        self.signatures = SignatureIndex(self.db)
        self.outbox = DigestOutbox(self.db, self.articles)
        self.locks = AdvisoryLocks(self.db)
        self.browse = Browse(self.db)

    @property
    def engine(self) -> Engine:
        return self.db.engine

    @property
    def dialect(self) -> str:
        return self.db.dialect

    def close(self) -> None:
        self.locks.close()
        self.db.engine.dispose()
