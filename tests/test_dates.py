"""Publication dates: a table of Gulf agency / newspaper styles (tests/dates/cases.yaml)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from crawler.dates import PublishedDate, find_published_date, parse_date_text
from crawler.extraction import parse_html

CASES = yaml.safe_load((Path(__file__).parent / "dates" / "cases.yaml").read_text("utf-8"))
DEFAULTS = CASES["defaults"]


def _run(kind: str, case: dict) -> PublishedDate | None:
    opts = {**DEFAULTS, **case}
    now = datetime.fromisoformat(opts["now"])
    if kind == "text":
        return parse_date_text(opts["text"], timezone=opts["timezone"], now=now)
    return find_published_date(
        parse_html(opts.get("html", "")),
        url=opts["url"],
        timezone=opts["timezone"],
        fetched_at=now,
        title=opts.get("title"),
        body=opts.get("body"),
    )


def _expected(case: dict) -> datetime | None:
    return datetime.fromisoformat(case["expect"]) if case["expect"] else None


ALL = [(kind, case) for kind in ("text", "pages") for case in CASES[kind]]


def test_table_accuracy() -> None:
    """At least 98% right, and never a wrong date (a None where a date was due is only a miss)."""
    right, wrong, missed = 0, [], []
    for kind, case in ALL:
        got = _run(kind, case)
        want = _expected(case)
        value = got.value if got else None
        if value == want and (got is None or case.get("method") in (None, got.method)):
            right += 1
        elif got is None:
            missed.append(case["id"])
        else:
            wrong.append(f"{case['id']}: got {value} ({got.method}), want {want}")
    accuracy = right / len(ALL)
    print(
        f"\ndates: {len(ALL)} cases, accuracy {accuracy:.1%}, wrong non-null {len(wrong)}, "
        f"missed {missed}"
    )
    assert len(ALL) >= 120
    assert not wrong, "\n".join(wrong)
    assert accuracy >= 0.98, missed


@pytest.mark.parametrize(("kind", "case"), ALL, ids=[c["id"] for _, c in ALL])
def test_case(kind: str, case: dict) -> None:
    got = _run(kind, case)
    want = _expected(case)
    assert (got.value if got else None) == want
    if got is not None:
        assert got.value.tzinfo is not None and got.value.utcoffset().total_seconds() == 0
        assert got.raw.strip()
        if "method" in case:
            assert got.method == case["method"]


def test_raw_keeps_the_original_string() -> None:
    got = parse_date_text(
        "الخميس ٦ يونيو ٢٠٢٤ - ١٠:٣٠ ص",
        timezone="Asia/Riyadh",
        now=datetime(2024, 6, 7, tzinfo=UTC),
    )
    assert got == PublishedDate(
        datetime(2024, 6, 6, 7, 30, tzinfo=UTC), "الخميس ٦ يونيو ٢٠٢٤ - ١٠:٣٠ ص", "text"
    )


def test_dateline_raw_is_the_date_not_the_article() -> None:
    body = "الرياض 15 يناير 2025 (واس) - " + "أعلنت هيئة الحكومة الرقمية عن نتائج المؤشر. " * 5
    got = find_published_date(
        None,
        url="https://spa.gov.sa/N1",
        timezone="Asia/Riyadh",
        fetched_at=datetime(2025, 1, 16, tzinfo=UTC),
        body=body,
    )
    assert got is not None and got.raw == "15 يناير 2025"


def test_fast_on_a_large_page() -> None:
    sidebar = "".join(
        f"<li><a href='/n/{i}'>خبر رقم {i}</a><span>منذ {i} ساعات</span></li>" for i in range(400)
    )
    page = (
        f"<html><body><nav><ul>{sidebar}</ul></nav><article><h1>عنوان</h1>"
        f"<div class='date'>الخميس 6 يونيو 2024</div>{'<p>فقرة من نص الخبر.</p>' * 400}"
        "</article></body></html>"
    )
    start = time.perf_counter()
    for _ in range(10):
        got = find_published_date(
            parse_html(page),
            url="https://example.sa/n/1",
            timezone="Asia/Riyadh",
            fetched_at=datetime(2024, 6, 7, tzinfo=UTC),
        )
    assert got is not None and got.value == datetime(2024, 6, 5, 21, tzinfo=UTC)
    assert (time.perf_counter() - start) / 10 < 0.05


REAL = Path(__file__).parent / "pages" / "real"
REAL_PAGES = [  # saved real pages (see tests/pages/real/SOURCES.md) and their true dates
    ("aljazeera_en_helicopter_crash", "Asia/Qatar", datetime(2019, 11, 20, 8, 2, tzinfo=UTC)),
    ("aljazeera_en_moon_shot", "Asia/Qatar", datetime(2019, 11, 19, 7, 9, tzinfo=UTC)),
    # Drupal RDFa in the article's own <footer>: 8 February 2019, Tunis time.
    ("assabah_tn_khaled_massa", "Africa/Tunis", datetime(2019, 2, 7, 23, tzinfo=UTC)),
    # The only visible date is a "آخر تحديث" stamp (28 Aug) on a story of 3 Aug: None, not 28 Aug.
    ("cnn_arabic_syria_clashes", "Asia/Dubai", None),
    # Al Bayan (Dubai): JSON-LD and <time> datePublished 2020-06-03T03:01+0400; the page's
    # "last-modified" meta (2020-03-15 20:18:45 GST) must not win.
    ("albayan_afghan_embassy", "Asia/Dubai", datetime(2020, 6, 2, 23, 1, tzinfo=UTC)),
    # Al Yaum (Dammam): JSON-LD 2020-12-01T02:00:00+03:00, shown as "٠٢:٠٠ الثلاثاء ١ / ١٢ / ٢٠٢٠";
    # its <meta name="dateModified"> (2020-11-30 20:36:03) is earlier than the publication.
    ("alyaum_fakhrizadeh_burial", "Asia/Riyadh", datetime(2020, 11, 30, 23, 0, tzinfo=UTC)),
]


@pytest.mark.parametrize(("name", "zone", "want"), REAL_PAGES, ids=[p[0] for p in REAL_PAGES])
def test_saved_real_pages(name: str, zone: str, want: datetime | None) -> None:
    page = REAL / f"{name}.html"
    if not page.exists():
        pytest.skip(f"{page} not present")
    got = find_published_date(
        parse_html(page.read_text("utf-8")),
        url=f"https://example.org/{name}",
        timezone=zone,
        fetched_at=datetime(2024, 6, 7, tzinfo=UTC),
    )
    assert (got.value if got else None) == want
