"""The web view over HTTP: every page, filter, feed and export, on SQLite and PostgreSQL, with
hostile titles and texts; search equal to the rule engine; access control."""

from __future__ import annotations

import csv
import html
import io
import os
import re
import shutil
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from sqlalchemy import text
from starlette.testclient import TestClient

from monitor.config import load_config
from monitor.rules import RuleSet, WatchRule, compile_query
from monitor.web import create_app
from monitor.web.access import AccessError, check_bind, feed_token
from monitor.web.feeds import neutralise
from monitor.web.search import Search, _prefilter, index_only
from storage import db, schema, search_index
from storage.repository import Repository
from tests.conftest import ROOT, _postgres_database, run_cli
from tests.web_sample import HOSTILE_TITLE, seed

ATOM = "{http://www.w3.org/2005/Atom}"
PAGE_SIZE = 5


def write_web_config(directory: Path, database_url: str, **web) -> Path:
    """The shipped sources and rules, a digest, and web settings for tests."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("sources.yaml", "rules.yaml"):
        shutil.copy(ROOT / "config" / name, directory / name)
    settings = {"database_url": database_url,
                "digests": [{"id": "egov", "name": "لجان الحكومة الإلكترونية",
                             "rules": ["gcc-egov-committee"], "recipients": ["a@example.org"],
                             "schedule": {"cron": "0 7 * * *"}}],
                "web": {"page_size": PAGE_SIZE, "password_env": "RAQIB_TEST_WEB_PASSWORD",
                        "feed_secret_env": "RAQIB_TEST_WEB_FEED_SECRET", **web}}
    (directory / "settings.yaml").write_text(yaml.safe_dump(settings, allow_unicode=True),
                                             encoding="utf-8")
    return directory


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql",
                                                               marks=pytest.mark.postgres)])
def archive(request, tmp_path_factory):
    """A seeded archive and its configuration, once per database kind for the module."""
    os.environ.pop("RAQIB_TEST_WEB_PASSWORD", None)
    if request.param == "sqlite":
        urls = iter([f"sqlite:///{tmp_path_factory.mktemp('web')}/raqib.db"])
    else:
        urls = _postgres_database()
    url = next(urls)
    config_dir = write_web_config(tmp_path_factory.mktemp("config"), url)
    config = load_config(config_dir)
    repository = Repository(url)
    sample = seed(repository, config)
    yield config, repository, sample, config_dir
    repository.close()
    for _rest in urls:  # drops the PostgreSQL database
        pass


@pytest.fixture
def client(archive):
    config, repository, _sample, _dir = archive
    return TestClient(create_app(config, repository))


def _story_keys(html: str) -> list[int]:
    return [int(key) for key in re.findall(r'id="story-(\d+)"', html)]


def _next_link(html: str) -> str | None:
    found = re.search(r'href="([^"]+)" rel="next"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def _walk(client: TestClient, path: str) -> list[str]:
    pages, seen = [], set()
    while path:
        assert path not in seen, "pagination loops"
        seen.add(path)
        response = client.get(path)
        assert response.status_code == 200, response.text[:500]
        pages.append(response.text)
        path = _next_link(response.text)
    return pages


# --- pages ---------------------------------------------------------------------------------

def test_inbox_lists_each_flagged_story_once_original_first_with_the_other_sources(client, archive):
    config, repository, sample, _dir = archive
    pages = _walk(client, "/")
    keys = [key for page in pages for key in _story_keys(page)]
    assert len(keys) == len(set(keys)), "a story appears twice across pages"
    flagged = {a.cluster or a.id for a in repository.articles.find(flagged=True, limit=None)}
    assert set(keys) == flagged
    # The GCC e-government story of tests/neardup: carried by several papers, one entry.
    egov23 = sample.stories["egov23"]
    assert egov23[0] in keys
    page = next(p for p in pages if f'id="story-{egov23[0]}"' in p)
    entry = page.split(f'id="story-{egov23[0]}"')[1].split("</li>")[0]
    assert "ورد أيضاً في" in entry
    assert 'href="https://spa.example/news/egov23-spa"' in entry.split("ورد أيضاً في")[0]
    assert "<mark>" in entry  # the matched words highlighted


def test_inbox_is_arabic_rtl_with_per_article_direction_and_an_english_switch(client):
    page = client.get("/").text
    assert '<html lang="ar" dir="rtl">' in page
    assert 'dir="auto"' in page and 'lang="en"' in page  # English items read left to right
    switched = client.get("/lang/en?next=/", follow_redirects=True)
    assert '<html lang="en" dir="ltr">' in switched.text
    assert "Flagged news" in switched.text
    assert client.get("/lang/en?next=https://evil.example/", follow_redirects=False) \
        .headers["location"] == "/"


def test_hostile_titles_and_texts_render_as_text_everywhere(client, archive):
    _config, _repository, sample, _dir = archive
    for path in ("/", f"/article/{sample.hostile}", f"/story/{sample.hostile}",
                 "/search?q=" + "اجتماع", "/rules"):
        page = client.get(path).text
        assert "<script>alert" not in page and "<img src=x" not in page, path
    article = client.get(f"/article/{sample.hostile}").text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in article
    assert "&lt;img src=x onerror=alert(1)&gt;" in article
    headers = client.get("/").headers
    assert "default-src 'none'" in headers["content-security-policy"]
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize("name,value", [("rule", "gcc-egov-authorities"), ("source", "spa"),
                                        ("country", "AE"), ("language", "en")])
def test_each_filter_narrows_the_inbox_and_stays_in_the_links(client, archive, name, value):
    config, repository, _sample, _dir = archive
    pages = _walk(client, f"/?{name}={value}")
    keys = {key for page in pages for key in _story_keys(page)}
    assert keys
    country = {s.id: s.country for s in config.sources}
    expected = set()
    for article in repository.articles.find(flagged=True, limit=None):
        if name == "rule" and value not in article.rules:
            continue
        if name == "source" and article.source != value:
            continue
        if name == "country" and country.get(article.source) != value:
            continue
        if name == "language" and article.language != value:
            continue
        expected.add(article.cluster or article.id)
    assert keys == expected
    if len(pages) > 1:
        assert f"{name}={value}" in _next_link(pages[0])
    assert f'name="{name}"' in pages[0]


def test_a_date_range_in_the_readers_zone(client, archive):
    config, repository, _sample, _dir = archive
    zone_now = datetime.now(UTC) + timedelta(hours=3)
    start = (zone_now - timedelta(days=6)).date()
    keys = {k for page in _walk(client, f"/?from={start}&to={zone_now.date()}")
            for k in _story_keys(page)}
    since = datetime(start.year, start.month, start.day, tzinfo=UTC) - timedelta(hours=3)
    expected = {a.cluster or a.id for a in repository.articles.find(flagged=True, limit=None)
                if (a.published_at or a.fetched_at) >= since}
    assert keys == expected and keys
    assert client.get("/?from=yesterday").status_code == 400
    assert "YYYY-MM-DD" in client.get("/?from=yesterday").text
    assert client.get("/?rule=no-such-rule").status_code == 400


def test_an_empty_view_says_what_to_do(client):
    page = client.get("/?from=2001-01-01&to=2001-01-02").text
    assert "لا توجد أخبار تطابق هذه التصفية" in page and "مسح التصفية" in page


def test_story_page_lists_every_copy_with_title_differences(client, archive):
    _config, repository, sample, _dir = archive
    ids = sample.stories["egov23"]
    page = client.get(f"/story/{ids[0]}").text
    for article_id in ids:
        assert f'href="/article/{article_id}"' in page
    assert "الأصل" in page and "<ins>" in page  # the copies' headlines differ from the original
    assert client.get(f"/story/{ids[1]}").text.count('<li class="copy') == len(ids)  # any copy's id
    assert client.get("/story/99999999").status_code == 404


def test_article_page_shows_text_date_method_rules_and_story(client, archive):
    _config, _repository, sample, _dir = archive
    article_id = sample.ids["egov23-spa"]
    page = client.get(f"/article/{article_id}").text
    assert "عقدت <mark>اللجنة</mark> التنفيذية <mark>للحكومة الإلكترونية</mark>" in page
    assert "بيانات JSON-LD" in page  # how the date was found
    # the rule by its Arabic name (rules.yaml's name_ar) on the Arabic page, its name in English
    assert "لجان الحكومة الإلكترونية الخليجية واجتماعاتها وفعالياتها" in page
    assert "GCC e-government committees and gatherings" in client.get(
        f"/article/{article_id}", cookies={"raqib_lang": "en"}).text
    assert f'href="/story/{article_id}"' in page
    assert client.get("/article/abc").status_code == 400
    assert client.get("/article/99999999").status_code == 404


def test_sources_page_shows_health_and_a_30_day_chart(client, archive):
    _config, _repository, sample, _dir = archive
    page = html.unescape(client.get("/sources").text)
    row = page.split(f"<code>{sample.failing_source}</code>")[1].split("</tr>")[0]
    assert "فشل الجلب 3 مرات متتالية" in row and "all 2 feed(s) answered HTTP 503" in row
    assert page.count("<svg class=\"chart\"") >= 10
    assert re.search(r'<rect x="\d+" y="\d+" width="8" height="\d+"', page)



def test_sources_page_names_warning_and_interrupted_runs(tmp_path):
    """The statuses a crawl can end in besides ok/failed read in the interface's language."""
    url = f"sqlite:///{tmp_path}/raqib.db"
    config = load_config(write_web_config(tmp_path / "config", url))
    repository = Repository(url)
    first, second = (s.id for s in config.sources[:2])
    repository.runs.finish(repository.runs.start(first), "warning", {},
                           "no article link in its feeds, sitemaps or listing pages")
    repository.runs.finish(repository.runs.start(second), "interrupted", {}, "stopped by Ctrl-C")
    client = TestClient(create_app(config, repository))
    page = html.unescape(client.get("/sources").text)
    warned = page.split(f"<code>{first}</code>")[1].split("</tr>")[0]
    assert 'status-warning">تنبيه<' in warned and "no article link in its feeds" in warned
    stopped = page.split(f"<code>{second}</code>")[1].split("</tr>")[0]
    assert 'status-interrupted">أُوقف<' in stopped
    client.cookies.set("raqib_lang", "en")
    english = html.unescape(client.get("/sources").text)
    assert 'status-warning">warning<' in english
    repository.close()

def test_rules_page_shows_query_matches_per_day_and_latest(client, archive):
    config, _repository, _sample, _dir = archive
    page = client.get("/rules").text
    for rule in config.rules:
        assert f'id="{rule.id}"' in page
    assert "~لجنة OR لجان" in page
    assert "/feeds/rule/gcc-egov-committee.atom" in page
    assert "أحدث المطابقات" in page and 'href="/article/' in page


# --- search --------------------------------------------------------------------------------

QUERIES = [
    "اجتماع اللجنة",  # two Arabic words
    "اجتماع* NEAR/5 \"الحكومة الإلكترونية\"",
    "\"مجلس التعاون\" AND ~لجنة",
    "الهيئه",  # ة written ه
    "المؤتمر OR الملتقى",
    "لجنة NOT وزاري*",
    "(workshop OR forum) AND GCC",
    "e-government NEAR/3 committee",
    "٢٠٢٤",
    "~اجتماعات",
    "~لجنتها OR ~ورشتين",
    "~ministries OR ~meetings",
    "~بيتها",
]


@pytest.mark.parametrize("query", QUERIES)
def test_search_gives_exactly_what_the_rule_engine_says(client, archive, query):
    _config, repository, _sample, _dir = archive
    engine = RuleSet([WatchRule("q", "q", query)])
    expected = {article.id for batch in repository.articles.batches() for article in batch
                if engine.evaluate(article.title or "", article.text, article.language)}
    pages = _walk(client, "/search?" + f"q={query}")
    found = [int(i) for page in pages
             for i in re.findall(r'<h3 class="story-title".*?href="/article/(\d+)"', page, re.S)]
    found = [int(i) for page in pages for i in re.findall(r'·</span><a href="/article/(\d+)">', page)]
    assert len(found) == len(set(found))
    assert set(found) == expected
    assert found == sorted(found, reverse=True)  # newest stored first


@pytest.mark.parametrize("narrowing", ["language=en", "country=SA", "source=spa"])
def test_search_with_filters_gives_the_engines_matches_among_them(client, archive, narrowing):
    config, repository, _sample, _dir = archive
    query = "(اجتماع* OR meeting OR committee) AND (الخليج* OR GCC OR التعاون)"
    engine = RuleSet([WatchRule("q", "q", query)])
    country = {s.id: s.country for s in config.sources}
    name, value = narrowing.split("=")
    keep = {"language": lambda a: a.language == value,
            "country": lambda a: country.get(a.source) == value,
            "source": lambda a: a.source == value}[name]
    expected = {article.id for batch in repository.articles.batches() for article in batch
                if keep(article) and engine.evaluate(article.title or "", article.text,
                                                     article.language)}
    pages = _walk(client, f"/search?q={query}&{narrowing}")
    found = {int(i) for page in pages for i in re.findall(r'·</span><a href="/article/(\d+)">',
                                                          page)}
    assert found == expected and expected


def test_search_finds_an_other_spelling_and_explains_with_the_engine(client, archive):
    _config, _repository, sample, _dir = archive
    # The labelled text writes "الإلكترونية" and "اللجنة": search with plain alif and ه.
    page = "".join(_walk(client, "/search?q=" + "\"الحكومه الالكترونيه\" AND اللجنه"))
    assert f'href="/article/{sample.ids["ar-ministerial-riyadh"]}"' in page
    assert "<mark>" in page and "<code>" in page  # snippets and matched clauses
    assert "id: " in page and "query: " in page  # the "save as rule" YAML


def test_a_query_syntax_error_shows_the_message_and_position(client):
    response = client.get("/search?q=" + "(لجنة OR اجتماع")
    assert response.status_code == 400
    assert "'(' is never closed" in html.unescape(response.text)
    assert "عند الموضع 0" in response.text
    assert client.get("/search?q=" + "لجنة NEAR/500 اجتماع").status_code == 400


def test_every_word_a_stem_or_wildcard_matches_has_an_index_term_the_prefilter_finds():
    """Soundness of the prefilter word by word: over the distinct words of the labelled texts,
    a word the engine reads as ~stem or prefix* has an index term the prefilter accepts."""
    texts = yaml.safe_load((ROOT / "tests/rules_eval/gcc_egov.yaml").read_text(encoding="utf-8"))
    words = sorted({w for case in texts["cases"] for w in (case["title"] + " " + case["body"])
                    .split()})
    queries = ["~لجنة", "~اجتماع", "~ورشة", "~حكومة", "~إلكترونية", "~بيت", "~خليجي",
               "~ministry", "~committee", "~meeting", "اجتماع*", "الحكوم*", "committee*"]
    for query in queries:
        search = Search(query)
        accepts = _accepts(search.prefilter)
        for word in words:
            if search.decide(word, "", None) is not None:
                assert accepts(search_index.index_terms(word)), (query, word)


def _accepts(tree):
    kind = tree[0]
    if kind == "term":
        return lambda terms: tree[1] in terms
    if kind == "prefix":
        return lambda terms: any(term.startswith(tree[1]) for term in terms)
    children = [_accepts(child) for child in tree[1]]
    combine = all if kind == "and" else any
    return lambda terms: combine(child(terms) for child in children)


def test_the_prefilter_only_narrows():
    # NOT and short stems cannot narrow; every other clause becomes index terms.
    assert _prefilter(compile_query("لجنة NOT اجتماع")) == ("term", "لجنه")
    assert _prefilter(compile_query("لجنة OR (اجتماع NOT قمة)")) == (
        "or", [("term", "لجنه"), ("term", "اجتماع")])
    assert _prefilter(compile_query("اجتمع* NEAR/3 ~ورشة")) == (
        "and", [("prefix", "اجتمع"), ("prefix", "ورش")])
    assert _prefilter(compile_query("~بيتها OR ~ministries")) == (
        "or", [("prefix", "بي"), ("prefix", "ministr")])
    # Field operators (source:, lang:, title:…) of the coming engine narrow nothing here.
    assert index_only(("and", [("field", "source", "spa"), ("term", "لجنه")])) == ("term", "لجنه")
    assert index_only(("or", [("field", "lang", "ar"), ("term", "لجنه")])) is None
    assert set(search_index.index_terms("والحكومةُ", "بالمؤتمر")) == {
        "والحكومه", "الحكومه", "حكومه", "بالموتمر", "الموتمر", "موتمر"}


# --- feeds and exports ---------------------------------------------------------------------

def test_rule_and_digest_feeds_are_valid_atom_with_one_entry_per_story(client, archive):
    _config, _repository, sample, _dir = archive
    for path in ("/feeds/rule/gcc-egov-committee.atom", "/feeds/digest/egov.atom"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/atom+xml")
        feed = ET.fromstring(response.content)
        entries = feed.findall(f"{ATOM}entry")
        assert entries and feed.find(f"{ATOM}updated") is not None
        ids = [entry.find(f"{ATOM}id").text for entry in entries]
        assert len(ids) == len(set(ids))
        assert all(entry.find(f"{ATOM}summary").text for entry in entries)
    feed = client.get("/feeds/rule/gcc-egov-committee.atom").text
    assert f"urn:raqib:story:{sample.stories['egov23'][0]}" in feed
    assert "<script>" not in feed
    assert client.get("/feeds/rule/nope.atom").status_code == 404


def test_csv_exports_are_excel_friendly_and_neutralise_formulas(client, archive):
    _config, _repository, sample, _dir = archive
    response = client.get("/export/inbox.csv")
    assert response.status_code == 200
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["id", "story", "published", "fetched"] and "snippet" in rows[0]
    titles = {row[0]: row[rows[0].index("title")] for row in rows[1:]}
    assert titles[str(sample.hostile)] == "'" + HOSTILE_TITLE
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    snippet = rows[0].index("snippet")
    assert any("الحكومة الإلكترونية" in row[snippet] for row in rows[1:])
    ruled = client.get("/export/inbox.csv?rule=gcc-egov-authorities").content.decode("utf-8-sig")
    assert len(ruled.splitlines()) < len(rows)
    found = client.get("/export/search.csv?q=" + "اجتماع").content.decode("utf-8-sig")
    search_rows = list(csv.reader(io.StringIO(found)))
    assert search_rows[0][rows[0].index("rules")] == "clauses" and len(search_rows) > 5
    assert client.get("/export/search.csv?q=(").status_code == 400


def test_neutralise_every_formula_start():
    for cell in ("=1+1", "+1", "-1", "@SUM(A1)", "\t=1", " =1"):
        assert neutralise(cell).startswith("'")
    assert neutralise("اجتماع") == "اجتماع" and neutralise(None) == ""


def test_items_format_atom_from_the_shell(archive):
    _config, _repository, sample, config_dir = archive
    result = run_cli("items", "--flagged", "--limit", "0", "--format", "atom",
                     config_dir=config_dir)
    assert result.returncode == 0, result.stderr
    feed = ET.fromstring(result.stdout)
    ids = [entry.find(f"{ATOM}id").text for entry in feed.findall(f"{ATOM}entry")]
    assert f"urn:raqib:story:{sample.stories['egov23'][0]}" in ids
    assert len(ids) == len(set(ids))


# --- access --------------------------------------------------------------------------------

def test_a_non_loopback_bind_needs_a_password():
    check_bind("127.0.0.1", None, "X")
    check_bind("::1", None, "X")
    check_bind("localhost", None, "X")
    check_bind("0.0.0.0", "secret", "X")
    with pytest.raises(AccessError, match="RAQIB_WEB_PASSWORD"):
        check_bind("0.0.0.0", None, "RAQIB_WEB_PASSWORD")
    with pytest.raises(AccessError, match="web.password_env"):
        check_bind("192.168.1.10", None, None)


def test_raqib_web_refuses_to_serve_beyond_loopback_without_a_password(archive):
    _config, _repository, _sample, config_dir = archive
    result = run_cli("web", "--host", "0.0.0.0", "--port", "18099", config_dir=config_dir,
                     timeout=60)
    assert result.returncode == 2
    assert "refusing to serve on 0.0.0.0" in result.stderr
    assert "RAQIB_TEST_WEB_PASSWORD" in result.stderr
    assert "Traceback" not in result.stderr


def test_raqib_web_serves_the_archive_on_loopback(archive):
    _config, _repository, _sample, config_dir = archive
    import subprocess
    import sys
    import time
    import urllib.request

    from tests.browser import free_port

    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("RAQIB_TEST_WEB_PASSWORD", None)
    process = subprocess.Popen([sys.executable, "-m", "monitor.cli", "--config-dir",
                                str(config_dir), "web", "--port", str(port)], env=env, cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline, page = time.monotonic() + 60, None
        while page is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                    page = response.read().decode("utf-8")
            except OSError:
                assert process.poll() is None, process.communicate()[1]
                time.sleep(0.3)
        assert page is not None and 'id="story-' in page
        second = run_cli("web", "--port", str(port), config_dir=config_dir, timeout=60)
        assert second.returncode == 1 and "the port is in use" in second.stderr
    finally:
        process.terminate()
        _out, err = process.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/" in err and "Traceback" not in err


def test_with_a_password_pages_need_sign_in_and_feeds_their_token(archive, monkeypatch):
    config, repository, _sample, _dir = archive
    monkeypatch.setenv("RAQIB_TEST_WEB_PASSWORD", "s3cret-pass")
    monkeypatch.delenv("RAQIB_TEST_WEB_FEED_SECRET", raising=False)
    client = TestClient(create_app(config, repository))
    first = client.get("/?rule=gcc-egov-committee", headers={"accept": "text/html"},
                       follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"].startswith("/login?next=")
    assert client.get("/export/inbox.csv").status_code == 401
    assert client.get("/healthz").status_code == 200
    wrong = client.post("/login", data={"password": "guess", "next": "/"})
    assert wrong.status_code == 401 and "كلمة المرور غير صحيحة" in wrong.text
    signed = client.post("/login", data={"password": "s3cret-pass",
                                         "next": "/?rule=gcc-egov-committee"},
                         follow_redirects=False)
    assert signed.status_code == 303 and signed.headers["location"] == "/?rule=gcc-egov-committee"
    assert "httponly" in signed.headers["set-cookie"].lower()
    page = client.get("/rules")
    assert page.status_code == 200 and "s3cret" not in page.text
    bearer = TestClient(create_app(config, repository))
    assert bearer.get("/export/inbox.csv",
                      headers={"authorization": "Bearer s3cret-pass"}).status_code == 200
    # Feeds: their own token, shown on the rules page; none or a wrong one is refused.
    path = "/feeds/rule/gcc-egov-committee.atom"
    link = re.search(r'value="(http://testserver/feeds/rule/gcc-egov-committee\.atom\?token=\w+)"',
                     page.text).group(1)
    token = parse_qs(urlsplit(link).query)["token"][0]
    assert token == feed_token("s3cret-pass", path)
    anonymous = TestClient(create_app(config, repository))
    assert anonymous.get(path).status_code == 403
    assert anonymous.get(path + "?token=" + "0" * 32).status_code == 403
    assert anonymous.get(f"{path}?token={token}").status_code == 200
    # The token of one feed does not open another; a new feed secret revokes them all.
    assert anonymous.get(f"/feeds/rule/gcc-egov-authorities.atom?token={token}").status_code == 403
    monkeypatch.setenv("RAQIB_TEST_WEB_FEED_SECRET", "rotated")
    assert anonymous.get(f"{path}?token={token}").status_code == 403


# --- the index -----------------------------------------------------------------------------

def test_a_word_too_long_for_an_index_term_is_stored_and_found(archive, client):
    _config, repository, _sample, _dir = archive
    from storage.records import NewArticle

    word = "ا" + "ب" * 3000  # PostgreSQL refuses a tsvector lexeme over 2 KB
    result = repository.articles.save(NewArticle(
        source="spa", url="https://spa.example/news/long-word", fetched_url="https://spa.example/"
        "news/long-word", title="كلمة طويلة جداً", text=f"في النص {word} وغيرها", language="ar",
        content_fingerprint="e" * 64, fetched_at=datetime.now(UTC)))
    assert result.status == "new"
    page = client.get("/search?q=" + word).text
    assert f'href="/article/{result.article_id}"' in page
    assert f'href="/article/{result.article_id}"' in client.get("/search?q=" + word[:500] + "*").text


def test_the_migration_indexes_an_existing_archive(tmp_path):
    url = f"sqlite:///{tmp_path}/old.db"
    engine = db.make_engine(url)
    schema.upgrade(engine, "0002")
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO articles (id, source, url, title, text, language, fetched_at, "
            "content_fingerprint) VALUES (7, 'spa', 'https://spa.example/7', :title, :body, 'ar', "
            ":at, :fp)"), {"title": "اللجنة الوزارية للحكومة الإلكترونية",
                           "body": "عقدت اللجنةُ اجتماعَها الـ٢٦ في الرياض.",
                           "at": datetime(2024, 11, 20, 8, 0), "fp": "f" * 64})
    schema.upgrade_to_head(engine)  # `raqib db upgrade`: 0003 builds the index
    engine.dispose()
    repository = Repository(url)
    try:
        search = Search("اجتماعها AND ٢٦ AND الالكترونيه")
        assert search.prefilter is not None
        assert [c.id for c in repository.browse.candidates(
            search.prefilter, search_filters()).candidates] == [7]
        size, articles = repository.browse.index_size()
        assert articles == 1 and size > 0
        # `raqib db reindex` empties and rebuilds it (after a change of the normaliser).
        result = run_cli("db", "reindex", config_dir=write_web_config(tmp_path / "c", url))
        assert result.returncode == 0 and "rebuilt: 1 articles" in result.stdout, result.stderr
        assert [c.id for c in repository.browse.candidates(
            search.prefilter, search_filters()).candidates] == [7]
    finally:
        repository.close()


def search_filters():
    from storage.browse import Filters

    return Filters()
