"""The analysts' web view (`raqib web`): a Starlette application over raqib's database.

Server-rendered pages (Jinja2, autoescaped), plain CSS and one small script; read-only towards
articles and rules. Every page takes its state from the URL, so a view can be bookmarked and
shared. The queries are in storage/browse.py; this module parses requests and renders.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qs, urlencode
from zoneinfo import ZoneInfo

import yaml
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from monitor.arabic import normalized_words, strip_proclitics
from monitor.config import Config
from monitor.daemon.health import assess, how_ended
from monitor.rules import QuerySyntaxError
from monitor.web import access, i18n
from monitor.web.feeds import FeedEntry, atom_feed, csv_document
from monitor.web.present import (
    StoryView,
    direction,
    highlight,
    label,
    original_first,
    safe_url,
    story_view,
)
from monitor.web.search import compiled
from storage.browse import Filters, ListedArticle
from storage.records import RunSummary
from storage.repository import Repository

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
DAYS = 30
EXPORT_CAP = 5000  # rows in one CSV export
FEED_STORIES = 50
LANG_COOKIE = "raqib_lang"
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")


class BadRequest(Exception):
    """A parameter that cannot be used; the message says which and why."""


class WebView:
    """The application's state: configuration, repository, templates."""

    def __init__(self, config: Config, repository: Repository) -> None:
        self.config = config
        self.repository = repository
        self.browse = repository.browse
        self.settings = config.settings.web
        self.zone = ZoneInfo(self.settings.timezone)
        self.sources = {source.id: source for source in config.sources}
        self.rules = {rule.id: rule for rule in config.rules}
        self.digests = {digest.id: digest for digest in config.settings.digests}
        self.templates = Environment(loader=FileSystemLoader(HERE / "templates"),
                                     autoescape=select_autoescape(default=True,
                                                                  default_for_string=True),
                                     trim_blocks=True, lstrip_blocks=True)
        self.templates.globals.update(direction=direction, safe_url=safe_url)

    # --- request helpers ----------------------------------------------------------------------

    @property
    def password(self) -> str | None:
        return self.settings.password

    def language(self, request: Request) -> str:
        chosen = request.cookies.get(LANG_COOKIE)
        return chosen if chosen in i18n.LANGUAGES else self.settings.language

    def render(self, request: Request, template: str, status: int = 200, **context) -> HTMLResponse:
        lang = self.language(request)
        words = _Words(i18n.WORDS[lang])
        offset = datetime.now(UTC).astimezone(self.zone).strftime("%z")
        page = self.templates.get_template(template).render(
            request=request, lang=lang, dir="rtl" if lang == "ar" else "ltr", t=words,
            path=request.url.path, full_path=_full_path(request),
            signed_in=self.password is not None and _signed_in(self, request),
            zone_label=words["times_in"].format(
                zone=f"{self.settings.timezone} (UTC{offset[:3]}:{offset[3:]})"),
            date=lambda moment: i18n.short_date(moment, self.zone, lang),
            long_date=lambda moment: i18n.long_date(moment, self.zone, lang),
            source_name=lambda source_id: label(self.sources, source_id, lang),
            country_of=lambda source_id: self.country(source_id, lang),
            country_name=lambda code: i18n.COUNTRIES[lang].get(code, code),
            language_name=lambda code: i18n.LANGUAGE_NAMES[lang].get(code, code),
            rule_name=lambda rule_id: self.rule_name(rule_id, lang),
            **context)
        return HTMLResponse(page, status_code=status)

    def rule_name(self, rule_id: str, lang: str) -> str:
        """A rule's name in the reader's language (rules.yaml's `name_ar` in Arabic)."""
        rule = self.rules.get(rule_id)
        if rule is None:
            return rule_id
        return (rule.name_ar or rule.name) if lang == "ar" else rule.name

    def country(self, source_id: str, lang: str) -> str:
        source = self.sources.get(source_id)
        if source is None:
            return ""
        return i18n.COUNTRIES[lang].get(source.country, source.country)

    def utc_offset(self) -> timedelta:
        return datetime.now(UTC).astimezone(self.zone).utcoffset() or timedelta(0)

    def filters(self, request: Request, *, with_rule: bool = True) -> tuple[Filters, dict]:
        """Filters from the query string, and the values as given (for the form and links)."""
        params = request.query_params
        given = {key: params.get(key, "").strip() for key in
                 ("rule", "source", "country", "language", "from", "to")}
        if not with_rule:
            given.pop("rule")
        rule = given.get("rule") or None
        if rule is not None and rule not in self.rules:
            raise BadRequest(f"rule: no rule '{rule}'")
        sources: set[str] | None = None
        if given["source"]:
            sources = {given["source"]}
        if given["country"]:
            in_country = {s.id for s in self.sources.values() if s.country == given["country"]}
            sources = in_country if sources is None else sources & in_country
        languages = (given["language"],) if given["language"] else None
        since = self._day(given["from"], "from")
        until = self._day(given["to"], "to")
        return Filters(rules=(rule,) if rule else None,
                       sources=tuple(sorted(sources)) if sources is not None else None,
                       languages=languages, since=since,
                       until=until + timedelta(days=1) if until else None), given

    def _day(self, value: str, name: str) -> datetime | None:
        if not value:
            return None
        try:
            day = date.fromisoformat(value)
        except ValueError as exc:
            raise BadRequest(f"{name}: '{value}' is not a date (use YYYY-MM-DD)") from exc
        return datetime(day.year, day.month, day.day, tzinfo=self.zone)

    def feed_url(self, request: Request, path: str) -> str:
        base = str(request.base_url).rstrip("/") + path
        secret = self.settings.feed_secret
        return f"{base}?token={access.feed_token(secret, path)}" if secret else base


class _Words:
    """The interface's words for templates: `t.clear` is the word, never a dict method."""

    def __init__(self, words: dict[str, str]) -> None:
        self._words = words

    def __getattr__(self, key: str) -> str:
        try:
            return self._words[key]
        except KeyError as exc:
            raise AttributeError(key) from exc

    def __getitem__(self, key: str) -> str:
        return self._words[key]

    def __contains__(self, key: str) -> bool:
        return key in self._words


def _full_path(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def _signed_in(view: WebView, request: Request) -> bool:
    password = view.password
    if password is None:
        return True
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer ") and access.valid_password(password, header[7:].strip()):
        return True
    return access.valid_session(password, request.cookies.get(access.SESSION_COOKIE))


def _int(value: str | None, name: str) -> int | None:
    if value in (None, ""):
        return None
    if not value.isdigit() or len(value) > 12:
        raise BadRequest(f"{name}: '{value}' is not a number")
    return int(value)


def _link(path: str, given: dict, **changes) -> str:
    params = {key: value for key, value in {**given, **changes}.items() if value}
    return path + ("?" + urlencode(params) if params else "")


def _local_path(value: str | None) -> str:
    # Only a path on this site: never an address elsewhere ("//evil", "https://…").
    if (value and value.startswith("/") and not value.startswith("//") and "\\" not in value
            and value.isprintable()):
        return value
    return "/"


# --- pages ---------------------------------------------------------------------------------

def inbox(view: WebView, request: Request) -> Response:
    filters, given = view.filters(request)
    before = _int(request.query_params.get("before"), "before")
    page = view.browse.inbox(filters, before=before, limit=view.settings.page_size)
    rule = filters.rules[0] if filters.rules else None
    stories = [story_view(copies, view.sources, rule) for copies in page.stories]
    filtered = any(given.values())
    return view.render(
        request, "inbox.html", nav="inbox", stories=stories, given=given, filtered=filtered,
        before=before, options=_options(view, request),
        older=_link("/", given, before=page.next_before) if page.next_before else None,
        newest=_link("/", given) if before else None,
        export=_link("/export/inbox.csv", given),
        feed=view.feed_url(request, f"/feeds/rule/{rule}.atom") if rule else None,
        clear="/" if filtered else None)


def _options(view: WebView, request: Request) -> dict:
    lang = view.language(request)
    countries = sorted({s.country for s in view.sources.values()},
                       key=lambda code: i18n.COUNTRIES[lang].get(code, code))
    return {
        "rules": [(rule.id, view.rule_name(rule.id, lang)) for rule in view.rules.values()],
        "sources": sorted(((s.id, label(view.sources, s.id, lang)) for s in view.sources.values()),
                          key=lambda pair: pair[1]),
        "countries": [(code, i18n.COUNTRIES[lang].get(code, code)) for code in countries],
        "languages": [(code, i18n.LANGUAGE_NAMES[lang][code]) for code in ("ar", "en")],
    }


def search(view: WebView, request: Request) -> Response:
    query = request.query_params.get("q", "").strip()
    filters, given = view.filters(request, with_rule=False)
    given = {"q": query, **given}
    context = dict(nav="search", query=query, given=given, options=_options(view, request),
                   error=None, hits=[], page=None)
    if not query:
        return view.render(request, "search.html", examples=_examples(view), **context)
    try:
        engine_search = compiled(query)
    except QuerySyntaxError as exc:
        context["error"] = {"message": exc.message, "position": exc.position,
                            "before": query[:exc.position], "at": query[exc.position:exc.position + 1],
                            "after": query[exc.position + 1:]}
        return view.render(request, "search.html", status=400, examples=_examples(view), **context)
    before = _int(request.query_params.get("before"), "before")
    page = engine_search.page(view.browse, filters, before=before,
                              limit=view.settings.page_size, sources=view.sources)
    articles = {a.id: a for a in view.browse.listed([hit.article_id for hit in page.hits])}
    hits = [{"article": articles[hit.article_id], "clauses": hit.match.clauses,
             "snippets": [highlight(s, hit.match.clauses) for s in hit.match.snippets[:3]]}
            for hit in page.hits if hit.article_id in articles]
    context.update(hits=hits, page=page, rule_yaml=_rule_yaml(query),
                   older=_link("/search", given, before=page.next_before)
                   if page.next_before else None,
                   newest=_link("/search", given) if before else None,
                   export=_link("/export/search.csv", given))
    return view.render(request, "search.html", **context)


def _examples(view: WebView) -> list[str]:
    return ['"مجلس التعاون" AND ~لجنة', "اجتماع* NEAR/5 \"الحكومة الإلكترونية\"",
            '"هيئة الحكومة الرقمية" OR "برنامج يسر"', '"e-government" AND GCC']


def _rule_yaml(query: str) -> str:
    operators = {"and", "or", "not"}
    words = [w for w in normalized_words(query) if w.isascii() and w.isalpha()
             and w not in operators and not w.startswith("near")][:3]
    slug = "-".join(words) or "search-" + hashlib.sha1(query.encode()).hexdigest()[:6]
    rule = {"id": slug.lower()[:40], "name": " ".join(query.split())[:80],
            "languages": ["ar", "en"], "query": query}
    return yaml.safe_dump([rule], allow_unicode=True, sort_keys=False, width=100)


def story(view: WebView, request: Request) -> Response:
    key = _int(request.path_params["key"], "story")
    copies = view.browse.story(key or 0)
    if not copies:
        raise HTTPException(404)
    ordered = original_first(copies, view.sources)
    lead = ordered[0]
    rows = [{"article": copy, "diff": _title_diff(lead.title or "", copy.title or ""),
             "same": (copy.title or "") == (lead.title or "")} for copy in ordered]
    return view.render(request, "story.html", nav="inbox", lead=lead, rows=rows,
                       view_model=story_view(copies, view.sources))


def _title_diff(original: str, title: str) -> Markup:
    """A copy's headline with the words the original does not have marked <ins>."""
    # Words compared as the rules read them: "للحكومة" is not new beside "الحكومة".
    theirs = {reading for piece in original.split() for word in normalized_words(piece)
              for reading in strip_proclitics(word)}
    parts = []
    for piece in title.split():
        words = normalized_words(piece)
        new = bool(words) and not all(theirs.intersection(strip_proclitics(word))
                                      for word in words)
        parts.append(Markup("<ins>") + escape(piece) + Markup("</ins>") if new else escape(piece))
    return Markup(" ").join(parts)


def article(view: WebView, request: Request) -> Response:
    article_id = _int(request.path_params["article_id"], "article")
    found = view.browse.article(article_id or 0)
    if found is None:
        raise HTTPException(404)
    copies = view.browse.story(found.story)
    matches = [{"rule_id": rule_id, "clauses": list(explanation.get("clauses") or []),
                "snippets": [highlight(s, explanation.get("clauses") or [])
                             for s in explanation.get("snippets") or []]}
               for rule_id, explanation in sorted(found.explanations.items())]
    clauses = [clause for match in matches for clause in match["clauses"]]
    paragraphs = [highlight(line.strip(), clauses) for line in found.text.split("\n")
                  if line.strip()]
    lang = view.language(request)
    return view.render(request, "article.html", nav="inbox", article=found, matches=matches,
                       paragraphs=paragraphs, copies=len(copies),
                       method=i18n.DATE_METHODS[lang].get(found.published_method,
                                                          found.published_method))


def sources(view: WebView, request: Request) -> Response:
    now = datetime.now(UTC)
    ids = list(view.sources)
    activity = view.browse.source_activity(ids, days=DAYS, now=now, utc_offset=view.utc_offset())
    lang = view.language(request)
    rows = []
    for source in sorted(view.sources.values(), key=lambda s: (not s.enabled, s.country, s.id)):
        found = activity[source.id]
        state, problem = assess(RunSummary(
            source.id, last_run_at=found.last_run_at, last_status=found.last_status,
            last_new_article_at=found.last_new_article_at,
            consecutive_failures=found.consecutive_failures,
            consecutive_warnings=found.consecutive_warnings, last_error=found.last_error),
            view.config.settings.health, now)
        rows.append({"source": source, "activity": found, "state": state,
                     "ended": how_ended(found.consecutive_failures, found.consecutive_warnings),
                     "chart": _bars(found.per_day, now, view, lang),
                     "total": sum(found.per_day),
                     "kind": i18n.KINDS[lang].get(source.kind, source.kind)})
    return view.render(request, "sources.html", nav="sources", rows=rows)


def rules(view: WebView, request: Request) -> Response:
    now = datetime.now(UTC)
    activity = view.browse.rule_activity(list(view.rules), days=DAYS, now=now,
                                         utc_offset=view.utc_offset())
    lang = view.language(request)
    rows = [{"rule": rule, "activity": activity[rule.id],
             "chart": _bars(activity[rule.id].per_day, now, view, lang),
             "total": sum(activity[rule.id].per_day),
             "feed": view.feed_url(request, f"/feeds/rule/{rule.id}.atom"),
             "search": _link("/search", {"q": " ".join(rule.query.split())}),
             "inbox": _link("/", {"rule": rule.id})}
            for rule in view.rules.values()]
    return view.render(request, "rules.html", nav="rules", rows=rows)


def _bars(per_day: list[int], now: datetime, view: WebView, lang: str) -> Markup:
    """A bar chart of counts per day as inline SVG (attributes only: the CSP allows no style).
    Built here rather than in a template loop: the sources page draws 48 of them."""
    height, width, gap = 40, 8, 2
    top = max(per_day, default=0) or 1
    today = now.astimezone(view.zone).date()
    total = (width + gap) * len(per_day) - gap
    caption = escape(i18n.WORDS[lang]["per_day_caption"].format(n=sum(per_day)))
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {total} {height}" width="{total}" '
             f'height="{height}" aria-label="{caption}"><title>{caption}</title>'
             f'<line x1="0" y1="{height - 0.5}" x2="{total}" y2="{height - 0.5}" class="axis"/>']
    for at, (count, name) in enumerate(zip(per_day, _day_names(today, len(per_day), lang),
                                           strict=True)):
        h = 0 if count == 0 else max(2, round(count / top * height))
        label = f"{name}: {count}"
        parts.append(f'<rect x="{at * (width + gap)}" y="{height - h}" width="{width}" '
                     f'height="{h}" rx="1" class="{"bar" if count else "bar-zero"}">'
                     f"<title>{label}</title></rect>")  # digits and our month names
    parts.append("</svg>")
    return Markup("".join(parts))


@lru_cache(maxsize=8)
def _day_names(today: date, days: int, lang: str) -> tuple[str, ...]:
    """"7 Dec" for each of the `days` days up to `today`, oldest first (once per chart day)."""
    return tuple(f"{day.day} {i18n.short_month(day.month, lang)}" for day in
                 (today - timedelta(days=days - 1 - at) for at in range(days)))


# --- feeds and exports -----------------------------------------------------------------------

def _check_feed(view: WebView, request: Request) -> None:
    secret = view.settings.feed_secret
    if view.password is None and secret is None:
        return  # loopback without access control: feeds are as open as the pages
    if secret is None or not access.valid_feed_token(secret, request.url.path,
                                                      request.query_params.get("token")):
        raise HTTPException(403, "a valid feed token is required")


def rule_feed(view: WebView, request: Request) -> Response:
    rule_id = request.path_params["rule_id"]
    if rule_id not in view.rules:
        raise HTTPException(404)
    _check_feed(view, request)
    rule = view.rules[rule_id]
    return _feed(view, request, Filters(rules=(rule_id,)), f"urn:raqib:feed:rule:{rule_id}",
                 f"raqib — {rule.name}", _link("/", {"rule": rule_id}), rule_id)


def digest_feed(view: WebView, request: Request) -> Response:
    digest_id = request.path_params["digest_id"]
    digest = view.digests.get(digest_id)
    if digest is None:
        raise HTTPException(404)
    _check_feed(view, request)
    return _feed(view, request, Filters(rules=tuple(digest.rules)),
                 f"urn:raqib:feed:digest:{digest_id}", f"raqib — {digest.name or digest.id}",
                 "/", None, language=digest.language)


def _feed(view: WebView, request: Request, filters: Filters, feed_id: str, title: str,
          alternate: str, rule: str | None, language: str | None = None) -> Response:
    page = view.browse.inbox(filters, limit=FEED_STORIES)
    lang = language or view.settings.language
    entries = [story_entry(story_view(copies, view.sources, rule), view, lang)
               for copies in page.stories]
    base = str(request.base_url).rstrip("/")
    document = atom_feed(feed_id=feed_id, title=title, self_url=str(request.url),
                         alternate_url=base + alternate, entries=entries, language=lang)
    return Response(document, media_type="application/atom+xml; charset=utf-8")


def story_entry(story: StoryView, view: WebView, lang: str) -> FeedEntry:
    """A story as a feed entry: the original's title and link, the snippet, the other sources."""
    lead = story.lead
    summary = " … ".join(str(s.striptags()) for s in story.snippets)
    if story.others:
        names = ", ".join(label(view.sources, o.source, lang) for o in story.others)
        summary += f"\n{i18n.WORDS[lang]['also']}: {names}"
    return FeedEntry(id=f"urn:raqib:story:{story.key}", title=lead.title or lead.url,
                     link=safe_url(lead.url), updated=story.latest, published=lead.published_at,
                     source=label(view.sources, lead.source, lang), summary=summary,
                     categories=story.rules, language=lead.language)


def export_inbox(view: WebView, request: Request) -> Response:
    filters, _given = view.filters(request)
    lang = view.language(request)
    rule = filters.rules[0] if filters.rules else None

    def rows() -> Iterator[list]:
        before, done = None, 0
        while done < EXPORT_CAP:
            page = view.browse.inbox(filters, before=before, limit=200)
            for copies in page.stories:
                story = story_view(copies, view.sources, rule)
                yield _csv_row(view, lang, story.lead, story.rules,
                               " … ".join(str(s.striptags()) for s in story.snippets),
                               [f"{label(view.sources, o.source, lang)} {o.url}"
                                for o in story.others])
                done += 1
            if page.next_before is None:
                return
            before = page.next_before

    return _csv_response(rows(), "raqib-inbox.csv", story_column=True)


def export_search(view: WebView, request: Request) -> Response:
    query = request.query_params.get("q", "").strip()
    if not query:
        raise BadRequest("q: the search query is empty")
    filters, _given = view.filters(request, with_rule=False)
    try:
        engine_search = compiled(query)
    except QuerySyntaxError as exc:
        raise BadRequest(f"q: {exc.message} (at position {exc.position})") from exc
    lang = view.language(request)

    def rows() -> Iterator[list]:
        pending: list = []
        for hit in engine_search.every_hit(view.browse, filters, EXPORT_CAP, sources=view.sources):
            pending.append(hit)
            if len(pending) == 100:
                yield from _hit_rows(view, lang, pending)
                pending = []
        yield from _hit_rows(view, lang, pending)

    return _csv_response(rows(), "raqib-search.csv", story_column=False)


def _hit_rows(view: WebView, lang: str, hits: list) -> Iterator[list]:
    articles = {a.id: a for a in view.browse.listed([hit.article_id for hit in hits])}
    for hit in hits:
        if hit.article_id in articles:
            yield _csv_row(view, lang, articles[hit.article_id], [], " … ".join(hit.match.snippets),
                           None, clauses=hit.match.clauses)


_CSV_HEADER = ["id", "story", "published", "fetched", "source", "country", "language", "title",
               "url", "rules", "snippet"]


def _csv_row(view: WebView, lang: str, article: ListedArticle, rules: list[str], snippet: str,
             also: list[str] | None, clauses: list[str] | None = None) -> list:
    def local(moment: datetime | None) -> str:
        return moment.astimezone(view.zone).isoformat(timespec="minutes") if moment else ""

    source = view.sources.get(article.source)
    row = [article.id, article.story, local(article.published_at), local(article.fetched_at),
           article.source, source.country if source else "", article.language or "",
           article.title or "", article.url,
           " ".join(rules) if clauses is None else " · ".join(clauses),
           " ".join(snippet.split())]
    if also is not None:
        row.append(" | ".join(also))
    return row


def _csv_response(rows: Iterator[list], filename: str, story_column: bool) -> Response:
    header = _CSV_HEADER + (["also_reported_by"] if story_column else [])
    if not story_column:
        header = [("clauses" if name == "rules" else name) for name in header]
    return StreamingResponse(csv_document(header, rows), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})


# --- access --------------------------------------------------------------------------------

async def login(view: WebView, request: Request) -> Response:
    next_path = _local_path(request.query_params.get("next"))
    if view.password is None:  # nothing to sign in to
        return RedirectResponse(next_path, status_code=303)
    if request.method == "GET":
        return view.render(request, "login.html", nav=None, failed=False, next_path=next_path)
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    given = (form.get("password") or [""])[0]
    next_path = _local_path((form.get("next") or [next_path])[0])
    if not access.valid_password(view.password, given):
        await asyncio.sleep(1)  # slows down guessing
        return view.render(request, "login.html", status=401, nav=None, failed=True,
                           next_path=next_path)
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(access.SESSION_COOKIE, access.session_cookie(view.password),
                        max_age=access.SESSION_SECONDS, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response


def logout(view: WebView, request: Request) -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(access.SESSION_COOKIE)
    return response


def switch_language(view: WebView, request: Request) -> Response:
    code = request.path_params["code"]
    if code not in i18n.LANGUAGES:
        raise HTTPException(404)
    response = RedirectResponse(_local_path(request.query_params.get("next")), status_code=303)
    response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, samesite="lax")
    return response


def healthz(view: WebView, request: Request) -> Response:
    return Response("ok\n", media_type="text/plain")


_OPEN = ("/static/", "/login", "/healthz", "/feeds/", "/lang/")


class _Guard(BaseHTTPMiddleware):
    """Security headers on every answer; sign-in in front of every page when access is set."""

    def __init__(self, app, view: WebView) -> None:
        super().__init__(app)
        self.view = view

    async def dispatch(self, request: Request, call_next) -> Response:
        path = request.url.path
        if self.view.password is not None and not path.startswith(_OPEN) \
                and not _signed_in(self.view, request):
            if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
                response: Response = RedirectResponse(
                    "/login?" + urlencode({"next": _full_path(request)}), status_code=303)
            else:
                response = Response("sign-in required\n", status_code=401,
                                    media_type="text/plain",
                                    headers={"WWW-Authenticate": 'Bearer realm="raqib"'})
        else:
            response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        if not path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        return response


def create_app(config: Config, repository: Repository) -> Starlette:
    """The web application over `repository`, configured by `config`."""
    view = WebView(config, repository)

    def page(function):
        if asyncio.iscoroutinefunction(function):
            async def endpoint(request: Request) -> Response:
                return await function(view, request)
            return endpoint

        def sync_endpoint(request: Request) -> Response:
            try:
                return function(view, request)
            except BadRequest as exc:
                return view.render(request, "error.html", status=400, nav=None,
                                   title=i18n.WORDS[view.language(request)]["bad_request"],
                                   message=str(exc))
        return sync_endpoint

    routes = [
        Route("/", page(inbox)),
        Route("/search", page(search)),
        Route("/story/{key}", page(story)),
        Route("/article/{article_id}", page(article)),
        Route("/sources", page(sources)),
        Route("/rules", page(rules)),
        Route("/feeds/rule/{rule_id}.atom", page(rule_feed)),
        Route("/feeds/digest/{digest_id}.atom", page(digest_feed)),
        Route("/export/inbox.csv", page(export_inbox)),
        Route("/export/search.csv", page(export_search)),
        Route("/login", page(login), methods=["GET", "POST"]),
        Route("/logout", page(logout), methods=["POST"]),
        Route("/lang/{code}", page(switch_language)),
        Route("/healthz", page(healthz)),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]

    async def not_found(request: Request, exc: HTTPException) -> Response:
        lang = view.language(request)
        words = i18n.WORDS[lang]
        if exc.status_code == 404:
            return view.render(request, "error.html", status=404, nav=None,
                               title=words["not_found"], message=words["not_found_hint"])
        return view.render(request, "error.html", status=exc.status_code, nav=None,
                           title=str(exc.status_code), message=exc.detail or "")

    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("web: %s %s failed", request.method, request.url.path, exc_info=exc)
        words = i18n.WORDS[view.language(request)]
        return view.render(request, "error.html", status=500, nav=None,
                           title=words["server_error"], message=words["server_error_hint"])

    return Starlette(routes=routes, middleware=[Middleware(_Guard, view=view)],
                     exception_handlers={HTTPException: not_found, Exception: server_error})
