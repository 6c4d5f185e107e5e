"""Near duplicates: dateline stripping, the labelled pair set (precision/recall), the index."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from crawler.neardup import (
    BANDS,
    Signature,
    StoryIndex,
    prepare,
    same_story,
    similarity,
    sketch,
    sketch_of,
    story_signature,
    verify_sketches,
)
from monitor.config import NearDuplicateSettings
from storage.records import NewArticle
from storage.repository import Repository

DATA = Path(__file__).parent / "neardup"
THRESHOLD = NearDuplicateSettings().threshold
WINDOW = NearDuplicateSettings().window_seconds


def load_articles() -> dict[str, dict]:
    articles: dict[str, dict] = {}
    for path in sorted(DATA.glob("*.yaml")):
        articles.update(yaml.safe_load(path.read_text(encoding="utf-8"))["articles"])
    return articles


ARTICLES = load_articles()


def labelled_pairs() -> list[tuple[str, str, bool]]:
    """Every pair of copies of one story (same) and of stories on one topic (different)."""
    return [(a, b, ARTICLES[a]["story"] == ARTICLES[b]["story"])
            for a, b in itertools.combinations(ARTICLES, 2)
            if ARTICLES[a]["topic"] == ARTICLES[b]["topic"]]


# --- pure functions ------------------------------------------------------------------------

BODY = ("عقدت اللجنة التنفيذية للحكومة الإلكترونية بدول مجلس التعاون اجتماعها الثالث والعشرين "
        "اليوم في مدينة الرياض وناقشت مشروع الاستراتيجية الخليجية المشتركة للحكومة الرقمية "
        "وتقارير فرق العمل في مجالات الهوية الرقمية والبيانات المفتوحة")


@pytest.mark.parametrize("dateline", [
    "الرياض 15 يناير 2025 (واس) - ",
    "الرياض 14 رجب 1446 هـ الموافق 14 يناير 2025 م واس\n",
    "دبي في 3 مارس/ وام/ ",
    "أبوظبي في 3 مارس / وام / ",
    "المنامة في 4 مايو / بنا / ",
    "الكويت - 5 - 6 (كونا) -- ",
    "مسقط في 5 يناير /العُمانية/ ",
    "الدوحة في ٠٥ يناير /قنا/ ",
    "الرياض - ",
])
def test_agency_datelines_do_not_count(dateline: str) -> None:
    bare, dated = prepare(None, BODY), prepare(None, dateline + BODY)
    assert dated.shingles == bare.shingles
    assert similarity(bare, dated) == 1.0


@pytest.mark.parametrize("dateline", ["RIYADH — ", "ABU DHABI, 3rd March, 2025 (WAM) -- ",
                                      "KUWAIT, Jan 5 (KUNA) -- ", "Doha, January 05 (QNA) - "])
def test_english_datelines_do_not_count(dateline: str) -> None:
    body = ("The GCC Ministerial Committee for E-Government held its tenth meeting today and "
            "reviewed the progress of the joint Gulf digital government strategy and the exchange "
            "of government data between member states")
    assert prepare(None, dateline + body).shingles == prepare(None, body).shingles


def test_tashkeel_tatweel_hamza_and_digits_do_not_change_the_story() -> None:
    plain = prepare(None, BODY + " للأعوام 2025 - 2030")
    dressed = prepare(None, BODY.replace("الإلكترونية", "الالكترونيـــة")
                      .replace("الرقمية", "الرَّقْمِيَّة") + " للأعوام ٢٠٢٥ - ٢٠٣٠")
    assert dressed.shingles == plain.shingles
    assert same_story(plain, dressed, THRESHOLD)


def test_an_ordinal_in_words_or_digits_is_one_number_and_a_different_one_conflicts() -> None:
    words = prepare(None, BODY)
    digits = prepare(None, BODY.replace("الثالث والعشرين", "الـ23"))
    other = prepare(None, BODY.replace("الثالث والعشرين", "السادس والعشرين"))
    assert same_story(words, digits, THRESHOLD)
    assert similarity(words, other) > 0.8
    assert not same_story(words, other, THRESHOLD)


def test_signature_round_trips_and_copies_share_band_keys() -> None:
    original = ARTICLES["egov23-spa"]
    copy = ARTICLES["egov23-okaz"]
    signature = story_signature(original["title"], original["text"])
    assert Signature.from_bytes(signature.to_bytes()).to_bytes() == signature.to_bytes()
    keys = signature.band_keys()
    assert len(keys) == BANDS and all(-2**31 <= key < 2**31 for key in keys)  # INTEGER keys
    assert set(keys) & set(story_signature(copy["title"], copy["text"]).band_keys())
    assert story_signature(original["title"], original["text"]) == signature  # deterministic


def test_short_texts_are_not_clustered() -> None:
    caption = prepare(None, "صور من اجتماع اللجنة")
    assert not caption.indexable
    assert not same_story(caption, caption, THRESHOLD)


# --- the labelled set ----------------------------------------------------------------------

def test_labelled_set_precision_and_recall() -> None:
    pairs = labelled_pairs()
    positives = sum(same for _, _, same in pairs)
    assert len(pairs) >= 60 and positives >= 30 and len(pairs) - positives >= 30
    assert sum(1 for a in ARTICLES if ARTICLES[a]["text"].count("ال") > 5) >= 0.7 * len(ARTICLES)
    prepared = {key: prepare(a["title"], a["text"]) for key, a in ARTICLES.items()}
    true_pos = false_pos = false_neg = 0
    missed, wrong = [], []
    for a, b, same in pairs:
        found = same_story(prepared[a], prepared[b], THRESHOLD)
        true_pos += found and same
        false_pos += found and not same
        false_neg += same and not found
        (wrong if found and not same else missed if same and not found else []).append((a, b))
    precision = true_pos / (true_pos + false_pos)
    recall = true_pos / (true_pos + false_neg)
    print(f"\nnear duplicates, {len(pairs)} labelled pairs ({positives} same story, "
          f"{len(pairs) - positives} different stories on one topic), threshold {THRESHOLD}: "
          f"precision {precision:.3f}, recall {recall:.3f}; missed {missed}")
    assert wrong == []
    assert precision == 1.0
    assert recall >= 0.9


def test_no_pair_across_topics_is_one_story() -> None:
    prepared = {key: prepare(a["title"], a["text"]) for key, a in ARTICLES.items()}
    merged = [(a, b) for a, b in itertools.combinations(ARTICLES, 2)
              if ARTICLES[a]["topic"] != ARTICLES[b]["topic"]
              and same_story(prepared[a], prepared[b], THRESHOLD)]
    assert merged == []


# --- the index, on SQLite and PostgreSQL ---------------------------------------------------

@pytest.fixture
def repository(database_url: str):
    """A fresh repository on SQLite and on PostgreSQL (the shared `database_url` fixture)."""
    repo = Repository(database_url)
    yield repo
    repo.close()


def _store(repo: Repository, key: str, published: datetime | None) -> int:
    article = ARTICLES[key]
    result = repo.articles.save(NewArticle(
        source=key.rsplit("-", 1)[-1], url=f"https://example.org/{key}",
        fetched_url=f"https://example.org/{key}", title=article["title"], text=article["text"],
        language="ar", content_fingerprint=key, fetched_at=datetime(2025, 3, 1, tzinfo=UTC),
        published_at=published))
    assert result.status == "new"
    return result.article_id


def test_index_clusters_copies_under_the_first_article(repository: Repository) -> None:
    index = StoryIndex(repository.signatures, threshold=THRESHOLD, window_seconds=WINDOW)
    day = datetime(2025, 1, 14, 9, tzinfo=UTC)
    order = ["egov23-spa", "egov23-okaz", "egov26-spa", "egov23-alriyadh", "egov23-wam",
             "congrats-mr-spa", "congrats-al-spa", "congrats-al-almadina"]
    ids, clusters = {}, {}
    for offset, key in enumerate(order):
        ids[key] = _store(repository, key, day + timedelta(hours=offset))
        clusters[key] = index.add(ids[key], ARTICLES[key]["title"], ARTICLES[key]["text"],
                                  day + timedelta(hours=offset), day)
    first = ids["egov23-spa"]
    assert clusters["egov23-spa"] is None and clusters["egov26-spa"] is None
    for key in ("egov23-okaz", "egov23-alriyadh", "egov23-wam"):
        assert clusters[key] is not None and clusters[key].cluster_id == first, key
        assert THRESHOLD <= clusters[key].similarity <= 1.0
    assert clusters["congrats-al-spa"] is None  # the same template, another president
    assert clusters["congrats-al-almadina"].cluster_id == ids["congrats-al-spa"]
    shown = {view.id: view.cluster for view in repository.articles.find(limit=None)}
    assert shown[first] == first  # the first article shows its own group once it has copies
    assert shown[ids["egov23-okaz"]] == shown[ids["egov23-wam"]] == first
    assert shown[ids["egov26-spa"]] is None and shown[ids["congrats-mr-spa"]] is None


def test_two_copies_indexed_at_once_by_two_processes_end_in_one_story(
        repository: Repository) -> None:
    # Worker A stored the agency story (the earlier id) but had not indexed it when worker B
    # stored and indexed the newspaper's copy: B looked and found nothing. A, looking last,
    # must find B's copy and bring it into its story.
    day = datetime(2025, 1, 14, 9, tzinfo=UTC)
    first = _store(repository, "egov23-spa", day)
    copy = _store(repository, "egov23-okaz", day + timedelta(hours=1))
    worker_b = StoryIndex(repository.signatures, threshold=THRESHOLD, window_seconds=WINDOW)
    assert worker_b.add(copy, ARTICLES["egov23-okaz"]["title"], ARTICLES["egov23-okaz"]["text"],
                        day + timedelta(hours=1), day) is None
    worker_a = StoryIndex(repository.signatures, threshold=THRESHOLD, window_seconds=WINDOW)
    assert worker_a.add(first, ARTICLES["egov23-spa"]["title"], ARTICLES["egov23-spa"]["text"],
                        day, day) is None  # the first copy belongs to no earlier story
    shown = {view.id: view.cluster for view in repository.articles.find(limit=None)}
    assert shown[first] == shown[copy] == first


def test_index_survives_a_restart_and_respects_the_window(repository: Repository) -> None:
    day = datetime(2025, 1, 14, 9, tzinfo=UTC)
    first = _store(repository, "egov23-spa", day)
    StoryIndex(repository.signatures, threshold=THRESHOLD, window_seconds=WINDOW).add(
        first, ARTICLES["egov23-spa"]["title"], ARTICLES["egov23-spa"]["text"], day, day)
    fresh = StoryIndex(repository.signatures, threshold=THRESHOLD, window_seconds=WINDOW)  # a new process
    late = _store(repository, "egov23-okaz", day + timedelta(seconds=WINDOW + 3600))
    assert fresh.add(late, ARTICLES["egov23-okaz"]["title"], ARTICLES["egov23-okaz"]["text"],
                     day + timedelta(seconds=WINDOW + 3600), day) is None
    copy = _store(repository, "egov23-wam", None)
    found = fresh.add(copy, ARTICLES["egov23-wam"]["title"], ARTICLES["egov23-wam"]["text"],
                      None, day + timedelta(days=1))  # no date known: its fetch time counts
    assert found is not None and found.cluster_id == first
    # Indexing an article twice (a retried pipeline step) keeps its entry.
    again = fresh.add(copy, ARTICLES["egov23-wam"]["title"], ARTICLES["egov23-wam"]["text"],
                      None, day + timedelta(days=1))
    assert again == found
    sizes = repository.signatures.index_bytes()
    assert sizes["article_signatures"] > 0 and sizes["signature_bands"] > 0


@pytest.mark.parametrize("undated_first", [False, True])
def test_an_undated_copy_meets_an_old_dated_original_fetched_the_same_week(
        repository: Repository, undated_first: bool) -> None:
    # Crawling an archive: the original says it was published months ago, a newspaper's copy
    # gives no date at all. Both were fetched today, so the copy must still find the original.
    fetched = datetime(2026, 11, 23, 9, tzinfo=UTC)
    published = datetime(2025, 1, 14, 9, tzinfo=UTC)
    index = StoryIndex(repository.signatures, threshold=THRESHOLD, window_seconds=WINDOW)
    order = [("egov23-okaz", None), ("egov23-spa", published)]
    if not undated_first:
        order.reverse()
    ids = []
    for offset, (key, date) in enumerate(order):
        result = repository.articles.save(NewArticle(
            source=key.rsplit("-", 1)[-1], url=f"https://example.org/{key}",
            fetched_url=f"https://example.org/{key}", title=ARTICLES[key]["title"],
            text=ARTICLES[key]["text"], language="ar", content_fingerprint=key,
            fetched_at=fetched + timedelta(minutes=offset), published_at=date))
        ids.append(result.article_id)
        found = index.add(result.article_id, ARTICLES[key]["title"], ARTICLES[key]["text"],
                          date, fetched + timedelta(minutes=offset))
    assert found is not None and found.cluster_id == ids[0]
    # ...but two dated reports a year apart stay different stories, fetched together or not.
    later = repository.articles.save(NewArticle(
        source="wam", url="https://example.org/egov23-wam-2026", fetched_url="https://example.org/w",
        title=ARTICLES["egov23-wam"]["title"], text=ARTICLES["egov23-wam"]["text"], language="ar",
        content_fingerprint="egov23-wam-2026", fetched_at=fetched,
        published_at=published + timedelta(days=365)))
    assert index.add(later.article_id, ARTICLES["egov23-wam"]["title"], ARTICLES["egov23-wam"]["text"],
                     published + timedelta(days=365), fetched) is None


# --- numbers in digits are whole numbers (meetings 30, 130 and 180 are three stories) --------

MEETING = ("عقدت لجنة التعاون المالي والاقتصادي بدول مجلس التعاون لدول الخليج العربية {n} اليوم "
           "في مدينة الرياض برئاسة وزير المالية، وبمشاركة أصحاب المعالي وزراء المالية والاقتصاد "
           "في الدول الأعضاء والأمين العام لمجلس التعاون. وناقشت اللجنة خلال الاجتماع تقارير "
           "الأمانة العامة حول مسيرة العمل الاقتصادي المشترك ومستجدات الاتحاد الجمركي والسوق "
           "الخليجية المشتركة، واعتمدت توصيات اللجان الفنية المختصة ورفعتها إلى المجلس الوزاري. "
           "وأكد رئيس الاجتماع أهمية استكمال متطلبات التكامل الاقتصادي بين دول المجلس {tail}")
TAILS = ["بما يحقق تطلعات القيادة.", "خدمةً لمواطني دول المجلس.",
         "وفق ما نصت عليه الاتفاقية الاقتصادية الموحدة.", "في أقرب وقت ممكن."]


@pytest.mark.parametrize(("first", "second"), [
    ("اجتماعها الـ30", "اجتماعها رقم 130"), ("اجتماعها الـ30", "الاجتماع 180 للجنة وهو اجتماعها"),
    ("اجتماعها رقم 130", "اجتماعها الـ180"), ("اجتماعها الـ85", "اجتماعها رقم 105"),
    ("اجتماعها ٨٥", "اجتماعها 105"),
])
def test_numbers_in_digits_are_compared_as_whole_numbers(first: str, second: str) -> None:
    a = prepare(None, MEETING.format(n=first, tail=TAILS[0]))
    b = prepare(None, MEETING.format(n=second, tail=TAILS[1]))
    assert similarity(a, b) > THRESHOLD  # one template, two meetings
    assert not same_story(a, b, THRESHOLD)
    # ...decided alike from what the index stores (sketches), as the crawl decides
    assert verify_sketches(sketch_of(a), sketch_of(b), THRESHOLD) is None


def test_a_copy_of_one_meeting_with_its_number_written_otherwise_is_the_same_story() -> None:
    agency = prepare(None, MEETING.format(n="اجتماعها الـ130", tail=TAILS[2]))
    paper = prepare(None, MEETING.format(n="اجتماعها رقم 130", tail=TAILS[3]))
    assert same_story(agency, paper, THRESHOLD)
    assert verify_sketches(sketch_of(agency), sketch_of(paper), THRESHOLD) is not None


def test_labelled_set_decided_from_stored_sketches_as_from_texts() -> None:
    # The crawl verifies a candidate from what the index stores (b-bit MinHash, shingle count,
    # hashed facts), never its text: it must find what the exact comparison finds.
    prepared = {key: prepare(a["title"], a["text"]) for key, a in ARTICLES.items()}
    sketches = {key: sketch_of(story) for key, story in prepared.items() if story.indexable}
    true_pos = false_pos = false_neg = 0
    for a, b, same in labelled_pairs():
        found = a in sketches and b in sketches and verify_sketches(
            sketches[a], sketches[b], THRESHOLD) is not None
        true_pos += found and same
        false_pos += found and not same
        false_neg += same and not found
    precision, recall = true_pos / (true_pos + false_pos), true_pos / (true_pos + false_neg)
    print(f"\nfrom stored sketches: precision {precision:.3f}, recall {recall:.3f}")
    assert precision == 1.0 and recall >= 0.928


# --- what the index stores: facts packed, band keys filed by week ----------------------------

def test_stored_facts_come_back_byte_for_byte_and_smaller() -> None:
    from storage.packing import pack_facts, unpack_facts

    sizes = []
    for article in ARTICLES.values():
        story = sketch(article["title"], article["text"])
        if story is None:
            continue
        packed = pack_facts(story.facts)
        assert unpack_facts(packed) == story.facts
        sizes.append((len(packed), len(story.facts)))
    assert sum(p for p, _ in sizes) < sum(raw for _, raw in sizes)
    for odd in (None, b"", b"\x00" * 6, b"seven b", b"\x00" * 6 + b"\x09\x00\x00\x00\x03\x00\x00\x00"):
        assert unpack_facts(pack_facts(odd)) == odd  # anything else is kept as it is


def test_band_keys_are_filed_under_the_week_and_far_fetch_times_under_both() -> None:
    from storage.signatures import KEY_BITS, SLACK, entry_keys, stored_keys

    story = sketch(ARTICLES["egov23-spa"]["title"], ARTICLES["egov23-spa"]["text"])
    published = datetime(2025, 1, 14, 9, tzinfo=UTC)
    keys = entry_keys(story.bands, published, published + timedelta(hours=5))
    assert len(keys) == len(set(story.bands))
    assert all(-(1 << (KEY_BITS - 1)) <= key < 1 << (KEY_BITS - 1) for key in keys)
    archive = entry_keys(story.bands, published, published + SLACK + timedelta(days=30))
    assert len(archive) == 2 * len(keys) and set(keys) < set(archive)
    # Another week, other keys: a lookup reads only the weeks it asks for.
    weeks = stored_keys(story.bands, [100, 101])
    assert len(weeks) == 2 * len(keys) and not set(stored_keys(story.bands, [100])) & set(
        stored_keys(story.bands, [101]))
