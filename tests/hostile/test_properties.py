"""Property tests: what hostile text can do to the pure functions that read it.

Each function either returns a value within its contract or raises its one documented error;
normalisations are idempotent.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from crawler.dates import find_published_date, parse_date_text
from crawler.datetext import MIN_YEAR
from crawler.extraction import parse_html
from crawler.urls import canonical_url
from monitor.arabic import normalize
from monitor.rules import QuerySyntaxError, compile_query

# RAQIB_HYPOTHESIS_EXAMPLES=5000 for a longer hunt than the suite's 300 examples a property.
FAST = settings(max_examples=int(os.environ.get("RAQIB_HYPOTHESIS_EXAMPLES", 300)),
                deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
NOW = datetime(2024, 11, 5, 12, 0, tzinfo=UTC)

# --- canonical URLs ---------------------------------------------------------------------------

_URL_CHARS = st.sampled_from(list("azAZ09-._~:/?#[]@!$&'()*+,;=%") + ["%2F", "%25", "%41", "%zz",
                             "%D8%A7", "ا", "é", " ", "\t", "\x00", "..", "//", "utm_source=x"])
_HOSTS = st.sampled_from(["example.sa", "WWW.Example.SA", "xn--mgbh0fb.xn--mgberp4a5d4ar",
                          "مثال.السعودية", "127.0.0.1", "[::1]", "[fe80::1%25eth0]", "[::ffff:1.2.3.4",
                          "a..b", "", "user:pw@host", "host:0", "host:65536", "host:-1", "host:x"])
_URLS = st.one_of(
    st.text(max_size=80),
    st.builds(lambda scheme, host, rest: f"{scheme}://{host}{rest}",
              st.sampled_from(["http", "https", "HTTP", "ftp", "javascript", ""]),
              _HOSTS, st.lists(_URL_CHARS, max_size=25).map("".join)),
)


@FAST
@given(_URLS)
@example("http://example.sa/%2541")
@example("http://example.sa/a?b=%26&c=%3D")
@example("http://[::1")
def test_canonical_url_raises_only_value_error_and_is_idempotent(url):
    try:
        once = canonical_url(url)
    except ValueError:
        return
    assert isinstance(once, str)
    assert canonical_url(once) == once


@FAST
@given(_URLS, _URLS)
def test_canonical_url_with_a_base_raises_only_value_error(url, base):
    try:
        canonical_url(url, base=base)
    except ValueError:
        pass


# --- dates --------------------------------------------------------------------------------------

_DATE_WORDS = st.sampled_from([
    "0001-01-01", "9999-12-31T23:59:59-05:00", "2024-11-05T10:00:00+03:00", "2024-02-30",
    "Tue, 05 Nov 2024 07:00:00 GMT", "Fri, 31 Dec 9999 23:59:59 -1200", "منذ 999 ساعة",
    "منذ ٣ ساعات", "5 نوفمبر 2024", "٥ نوفمبر ٢٠٢٤", "3 جمادى الأولى 1446 هـ", "30 رمضان 9999",
    "الرياض 6 يونيو (واس)", "أمس", "9999", "31/12/9999", "12/31/0001", "1446/05/03",
    "٠٠٠١-٠١-٠١", "2024-11-05 25:61:61", "+99:99", "-9999", "\x00", "\ud800", "ـــ",
])
_TEXTS = st.one_of(st.text(max_size=120),
                   st.lists(st.one_of(_DATE_WORDS, st.text(max_size=8)), max_size=8).map(" ".join))


def _within_bounds(found, fetched_at) -> None:
    if found is None:
        return
    assert found.value.tzinfo is not None
    assert found.value.year >= MIN_YEAR
    assert found.value <= fetched_at + timedelta(days=1)


@FAST
@given(_TEXTS, st.sampled_from(["Asia/Riyadh", "Asia/Dubai", "UTC", "Pacific/Kiritimati",
                                "Etc/GMT+12"]))
def test_date_text_never_raises_and_stays_within_bounds(text, timezone):
    _within_bounds(parse_date_text(text, timezone=timezone, now=NOW), NOW)


_PLACES = [
    '<meta property="article:published_time" content="{}">',
    '<meta name="pubdate" content="{}">',
    '<time datetime="{}">x</time>',
    '<script type="application/ld+json">{{"@type": "NewsArticle", "datePublished": "{}"}}</script>',
    '<script type="application/ld+json">{}</script>',
    '<div class="date">{}</div>',
    "<p>{}</p>",
]


@FAST
@given(st.lists(st.tuples(st.sampled_from(_PLACES), _TEXTS), max_size=5),
       st.sampled_from(["http://x.sa/news/1.html", "http://x.sa/9999/99/99/a",
                        "http://x.sa/2024/11/05/a", "http://x.sa/0001/01/01/"]),
       st.sampled_from(["Asia/Riyadh", "Etc/GMT+12", "Etc/GMT-14"]))
def test_page_dates_never_raise_and_stay_within_bounds(parts, url, timezone):
    body = "".join(place.format(value.replace('"', "")) for place, value in parts)
    html = f"<html><head></head><body><article><h1>عنوان</h1>{body}</article></body></html>"
    found = find_published_date(parse_html(html), url=url, timezone=timezone, fetched_at=NOW,
                                title="عنوان", body=None)
    _within_bounds(found, NOW)


def test_dates_that_cannot_be_publication_dates_give_way_to_the_next_method():
    for bad in ("0001-01-01", "0001-01-01T00:00:00", "9999-12-31T23:59:59-05:00"):
        html = (f'<html><head><meta property="article:published_time" content="{bad}"></head>'
                "<body><h1>x</h1></body></html>")
        found = find_published_date(parse_html(html), url="http://x.sa/2024/11/05/a.html",
                                    timezone="Asia/Riyadh", fetched_at=NOW)
        assert found is not None and found.method == "url", bad
        assert found.value == datetime(2024, 11, 4, 21, 0, tzinfo=UTC)


@pytest.mark.parametrize("script", [
    "[" * 200_000 + "]" * 200_000,                               # deeper than json can read
    '{"@graph": ' * 900 + '{"datePublished": "2024-11-05"}' + "}" * 900,  # readable, too deep
])
def test_deep_json_ld_is_skipped_for_the_next_method(script):
    html = (f'<html><head><script type="application/ld+json">{script}</script>'
            '<meta property="article:published_time" content="2024-11-05T10:00:00+03:00">'
            "</head><body><h1>x</h1></body></html>")
    found = find_published_date(parse_html(html), url="http://x.sa/a.html", timezone="Asia/Riyadh",
                                fetched_at=NOW)
    assert found is not None and found.method == "meta"
    assert found.value == datetime(2024, 11, 5, 7, 0, tzinfo=UTC)


# --- the Arabic normaliser ------------------------------------------------------------------

_ARABIC = st.text(alphabet=st.sampled_from(
    list("ابتثجحخدذرسشصضطظعغفقكلمنهويءآأإؤئىةـًٌٍَُِّْٰ٠١٢٣٤٥٦٧٨٩۰۱۲ﻻﷲ") + ["\u200c", "\u200f",
                                                                           " ", "A", "é", "ß"]),
    max_size=60)


@FAST
@given(st.one_of(_ARABIC, st.text(max_size=60)))
@example("أَحْمَدُ الإِمَارَاتِ ـــ ٢٠٢٤")
def test_arabic_normalize_is_idempotent_and_never_raises(text):
    once = normalize(text)
    assert isinstance(once, str)
    assert normalize(once) == once


# --- the rule parser --------------------------------------------------------------------------

_QUERY_PARTS = st.sampled_from(["AND", "OR", "NOT", "(", ")", '"', "NEAR/3", "ONEAR/2", "NEAR/x",
                                "title:(", "source:spa", "country:SA", "lang:ar", "kind:press",
                                "word*", "~word", "*", "~", "الحكومة", "الإلكترونية", ":", "/",
                                "NEAR/99999999999999999999", "title:", "lang:xx", "and"])


@FAST
@given(st.one_of(st.text(max_size=60), st.lists(_QUERY_PARTS, max_size=20).map(" ".join)))
def test_rule_parser_raises_only_query_syntax_errors(text):
    assume(text.strip())
    try:
        compile_query(text)
    except QuerySyntaxError:
        pass


@pytest.mark.parametrize("depth", [2_000, 50_000])
def test_rule_parser_refuses_deep_nesting_with_a_syntax_error(depth):
    try:
        compile_query("(" * depth + "word" + ")" * depth)
    except QuerySyntaxError:
        pass
