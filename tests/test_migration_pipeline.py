"""Migration 0006_pipeline: fingerprints recomputed with today's normaliser, the near-duplicate
index rebuilt in its new form (b-bit signatures, facts, 32-bit band keys), clusters kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from sqlalchemy import text

from crawler.extraction import content_fingerprint
from crawler.neardup import BANDS, NUM_PERM, index_entry, sketch
from storage import db, schema
from storage.packing import unpack_facts
from storage.records import NewArticle
from storage.repository import Repository
from storage.signatures import entry_keys

STORIES = yaml.safe_load((Path(__file__).parent / "neardup" / "stories_gcc_egov.yaml")
                         .read_text(encoding="utf-8"))["articles"]
KEYS = ["egov23-spa", "egov23-okaz", "egov26-spa"]


def _seed_at_0004(url: str) -> None:
    """Three stored articles with fingerprints of an older normaliser, an old-format signature
    and band of the first, and a cluster."""
    engine = db.make_engine(url)
    schema.upgrade(engine, "0004_notify")
    with engine.begin() as connection:
        for number, key in enumerate(KEYS, start=1):
            connection.execute(text(
                "INSERT INTO articles (id, source, url, title, text, language, published_at, "
                "fetched_at, content_fingerprint, cluster_id, similarity) VALUES (:id, 'spa', "
                ":url, :title, :body, 'ar', :at, :at, :fp, :cluster, :sim)"),
                {"id": number, "url": f"https://spa.example/{key}", "title": STORIES[key]["title"],
                 "body": STORIES[key]["text"], "at": datetime(2025, 1, 14, 9, number),
                 "fp": f"{number:064x}", "cluster": 1 if number < 3 else None,
                 "sim": 0.9 if number == 2 else None})
        connection.execute(text(
            "INSERT INTO article_signatures (article_id, signature, created_at) "
            "VALUES (1, :sig, :at)"), {"sig": b"\x00" * 256, "at": datetime(2025, 1, 14, 9)})
        connection.execute(text("INSERT INTO signature_bands (band_key, article_id) "
                                "VALUES ('00abcdef0123456789', 1)"))
    engine.dispose()


def test_0005_recomputes_fingerprints_and_rebuilds_the_index(database_url):
    _seed_at_0004(database_url)
    engine = db.make_engine(database_url)
    schema.upgrade(engine)
    assert schema.current_revision(engine) == schema.head_revision()
    with engine.connect() as connection:
        fingerprints = dict(connection.execute(
            text("SELECT id, content_fingerprint FROM articles")).all())
        signatures = {row.article_id: row for row in connection.execute(
            text("SELECT article_id, signature, shingles, facts FROM article_signatures"))}
        bands = connection.execute(text("SELECT band_key, article_id FROM signature_bands")).all()
        clusters = dict(connection.execute(text("SELECT id, cluster_id FROM articles")).all())
    engine.dispose()
    for number, key in enumerate(KEYS, start=1):
        assert fingerprints[number] == content_fingerprint(STORIES[key]["text"])
        expected = sketch(STORIES[key]["title"], STORIES[key]["text"])
        assert bytes(signatures[number].signature) == expected.signature
        assert len(expected.signature) == 2 * NUM_PERM
        assert signatures[number].shingles == expected.shingles
        assert unpack_facts(bytes(signatures[number].facts)) == expected.facts  # packed (0007)
        at = datetime(2025, 1, 14, 9, number, tzinfo=UTC)  # filed by week since 0007
        assert sorted(b.band_key for b in bands if b.article_id == number) == entry_keys(
            expected.bands, at, at)
    assert len(bands) <= BANDS * len(KEYS) and all(isinstance(b.band_key, int) for b in bands)
    assert clusters == {1: 1, 2: 1, 3: None}  # clusters kept
    # A copy of a stored text crawled after the upgrade is a duplicate of it.
    repository = Repository(database_url)
    try:
        result = repository.articles.save(NewArticle(
            source="okaz", url="https://okaz.example/copy", fetched_url="https://okaz.example/copy",
            title=STORIES["egov26-spa"]["title"], text=STORIES["egov26-spa"]["text"],
            language="ar", content_fingerprint=content_fingerprint(STORIES["egov26-spa"]["text"]),
            fetched_at=datetime(2025, 1, 15, tzinfo=UTC)))
        assert result.status == "duplicate" and result.duplicate_of == 3
    finally:
        repository.close()


def test_0005_downgrades_to_the_old_index_tables(database_url):
    _seed_at_0004(database_url)
    engine = db.make_engine(database_url)
    schema.upgrade(engine)
    schema_config = schema.alembic_config(engine)
    from alembic import command

    command.downgrade(schema_config, "0004_notify")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM article_signatures")).scalar() == 0
        assert connection.execute(text("SELECT count(*) FROM articles")).scalar() == 3
    schema.upgrade(engine)  # and up again
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM article_signatures")).scalar() == 3
    engine.dispose()


# --- 0007: band keys filed by week, created_at in seconds, facts packed ----------------------

INDEXED = [  # (story, published, fetched): two copies, another story, an archive copy
    ("egov23-spa", datetime(2025, 1, 14, 9), datetime(2025, 1, 14, 9, 5)),
    ("egov23-okaz", datetime(2025, 1, 14, 12), datetime(2025, 1, 14, 12, 30)),
    ("egov26-spa", datetime(2025, 1, 20, 8), datetime(2025, 1, 20, 8, 10)),
    ("egov23-alyaum", datetime(2024, 6, 1, 7), datetime(2025, 1, 15, 10)),
]
PROBE = "egov23-wam"


def _seed_at_0006(url: str) -> dict[int, object]:
    """Articles indexed as 0006 indexes them (32-bit band keys, facts as encoded); sketches."""
    engine = db.make_engine(url)
    schema.upgrade(engine, "0006_pipeline")
    sketches = {}
    with engine.begin() as connection:
        for number, (key, published, fetched) in enumerate(INDEXED, start=1):
            story = sketch(STORIES[key]["title"], STORIES[key]["text"])
            sketches[number] = story
            connection.execute(text(
                "INSERT INTO articles (id, source, url, title, text, language, published_at, "
                "fetched_at, content_fingerprint) VALUES (:id, 'spa', :url, :title, :body, 'ar', "
                ":published, :fetched, :fp)"),
                {"id": number, "url": f"https://spa.example/{key}", "title": STORIES[key]["title"],
                 "body": STORIES[key]["text"], "published": published, "fetched": fetched,
                 "fp": content_fingerprint(STORIES[key]["text"])})
            connection.execute(text(
                "INSERT INTO article_signatures (article_id, signature, created_at, shingles, "
                "facts) VALUES (:id, :sig, :at, :shingles, :facts)"),
                {"id": number, "sig": story.signature, "at": published, "shingles": story.shingles,
                 "facts": story.facts})
            for band in sorted(set(story.bands)):
                connection.execute(text("INSERT INTO signature_bands (band_key, article_id) "
                                        "VALUES (:key, :id)"), {"key": band, "id": number})
        if connection.dialect.name == "postgresql":  # the ids were given
            connection.execute(text("SELECT setval('articles_id_seq', 100)"))
    engine.dispose()
    return sketches


def _candidates(url: str, **window) -> dict[int, tuple]:
    from sqlalchemy.orm import Session

    from storage.signatures import candidates_in

    probe = sketch(STORIES[PROBE]["title"], STORIES[PROBE]["text"])
    engine = db.make_engine(url)
    try:
        with Session(engine) as session:
            return {row[0]: row for row in candidates_in(session, probe.bands, **window)}
    finally:
        engine.dispose()


def test_0007_files_band_keys_by_week_and_finds_the_same_candidates(database_url):
    sketches = _seed_at_0006(database_url)
    engine = db.make_engine(database_url)
    schema.upgrade(engine)
    engine.dispose()
    week = timedelta(days=7)
    # A dated copy: the two earlier copies of its story (the other story shares too few
    # bands, the archive copy was published months before).
    at = datetime(2025, 1, 15, 9, tzinfo=UTC)
    dated = _candidates(database_url, since=at - week, until=at + week,
                        fetched_window=(at - week, at + week))
    assert sorted(dated) == [1, 2]
    for number, row in dated.items():  # stored as they were: signature, shingles, facts
        assert (bytes(row[1]), row[2], bytes(row[3])) == (
            sketches[number].signature, sketches[number].shingles, sketches[number].facts)
    # An undated copy fetched the next day also meets the archive copy, fetched that week
    # though published seven months before (filed under its fetch week too).
    fetched = datetime(2025, 1, 16, 9, tzinfo=UTC)
    undated = _candidates(database_url, since=fetched - week, until=fetched + week,
                          fetched_window=(fetched - week, fetched + week), undated=True)
    assert sorted(undated) == [1, 2, 4]
    engine = db.make_engine(database_url)
    with engine.connect() as connection:
        filed = connection.execute(text(
            "SELECT count(*) FROM signature_bands WHERE article_id = 4")).scalar()
    engine.dispose()
    assert filed == 2 * len(set(sketches[4].bands))  # publication week and fetch week
    # ... and the new articles' lookups agree with the migrated rows: a repository saving the
    # probe as a dated copy puts it in the first copy's story.
    repository = Repository(database_url)
    try:
        result = repository.articles.save(NewArticle(
            source="wam", url="https://wam.example/copy", fetched_url="https://wam.example/copy",
            title=STORIES[PROBE]["title"], text=STORIES[PROBE]["text"], language="ar",
            content_fingerprint=content_fingerprint(STORIES[PROBE]["text"]), fetched_at=at,
            published_at=at), index=index_entry(
                sketch(STORIES[PROBE]["title"], STORIES[PROBE]["text"]), at, at,
                threshold=0.55, window=week))
        assert result.cluster_id == 1
    finally:
        repository.close()


def test_0007_downgrades_to_the_32_bit_keys(database_url):
    sketches = _seed_at_0006(database_url)
    engine = db.make_engine(database_url)
    schema.upgrade(engine)
    from alembic import command

    command.downgrade(schema.alembic_config(engine), "0006_pipeline")
    with engine.connect() as connection:
        bands = connection.execute(text("SELECT band_key, article_id FROM signature_bands")).all()
        rows = {row.article_id: row for row in connection.execute(text(
            "SELECT article_id, created_at, facts FROM article_signatures"))}
    engine.dispose()
    for number, story in sketches.items():
        assert sorted(b.band_key for b in bands if b.article_id == number) == sorted(
            set(story.bands))
        assert bytes(rows[number].facts) == story.facts
        created = rows[number].created_at
        if isinstance(created, str):  # SQLite gives its text back
            created = datetime.fromisoformat(created)
        assert created == INDEXED[number - 1][1]
