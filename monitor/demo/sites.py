"""The bundled sample news web: an Arabic agency (RSS), an Arabic newspaper in windows-1256
(paginated listing), and an English daily (sitemap index, Google News sitemap, Atom feed).

Pages carry the clutter of real Gulf sites — cookie banner, menus, news ticker, breadcrumbs,
share bar, related news, footer — so that extraction is exercised, not flattered.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from importlib.resources import files

import yaml

from monitor.demo.web import LocalWeb, Page, Site

ARTICLES_FILE = files("monitor.demo") / "articles.yaml"

SITES = {
    "waha": {"name": "وكالة الواحة للأنباء", "language": "ar", "charset": "utf-8"},
    "sahifa": {"name": "صحيفة الخليج اليوم", "language": "ar", "charset": "windows-1256"},
    "gulfdaily": {"name": "Gulf Daily Courier", "language": "en", "charset": "utf-8"},
}


@dataclass(frozen=True)
class SampleArticle:
    slug: str
    site: str
    title: str
    dateline: str
    jsonld_date: str | None
    paragraphs: tuple[str, ...]

    @property
    def path(self) -> str:
        return f"/news/{self.slug}.html"

    @property
    def body_paragraphs(self) -> list[str]:
        """The paragraphs as the page shows them (an agency dateline opens the first)."""
        first, *rest = self.paragraphs
        return [f"{self.dateline} — {first}" if self.dateline else first, *rest]

    @property
    def expected_text(self) -> str:
        return "\n".join(self.body_paragraphs)


def load_articles() -> list[SampleArticle]:
    """The sample articles of the demo web."""
    data = yaml.safe_load(ARTICLES_FILE.read_text(encoding="utf-8"))
    return [SampleArticle(**{**item, "paragraphs": tuple(item["paragraphs"])})
            for item in data["articles"]]


def article_page(article: SampleArticle, url: str, site_name: str, language: str,
                 charset: str = "utf-8", related: list[tuple[str, str]] = ()) -> str:
    """A news article page with the surrounding clutter of a real site."""
    e = html.escape
    rtl = language == "ar"
    ld = ""
    if article.jsonld_date:
        ld = json.dumps({"@context": "https://schema.org", "@type": "NewsArticle",
                         "headline": article.title, "datePublished": article.jsonld_date,
                         "publisher": {"@type": "Organization", "name": site_name}},
                        ensure_ascii=False)
        ld = f'<script type="application/ld+json">{ld}</script>'
    labels = ({"home": "الرئيسية", "local": "محليات", "economy": "اقتصاد", "sport": "رياضة",
               "urgent": "عاجل", "share": "شارك الخبر", "related": "أخبار ذات صلة",
               "cookies": "نستخدم ملفات تعريف الارتباط لتحسين تجربتك على موقعنا.",
               "ok": "موافق", "rights": "جميع الحقوق محفوظة", "news": "أخبار",
               "ticker": "ارتفاع أسعار النفط في التعاملات الآسيوية",
               "newsletter": "اشترك في النشرة البريدية"}
              if rtl else
              {"home": "Home", "local": "UAE", "economy": "Business", "sport": "Sport",
               "urgent": "Breaking", "share": "Share this story", "related": "Related stories",
               "cookies": "We use cookies to improve your experience on our site.",
               "ok": "Accept", "rights": "All rights reserved", "news": "News",
               "ticker": "Oil prices rise in Asian trading",
               "newsletter": "Subscribe to our newsletter"})
    paragraphs = "\n".join(f"    <p>{e(p)}</p>" for p in article.body_paragraphs)
    related_items = "\n".join(f'      <li><a href="{e(href)}">{e(title)}</a></li>'
                              for href, title in related)
    return f"""<!DOCTYPE html>
<html lang="{language}" dir="{'rtl' if rtl else 'ltr'}">
<head>
  <meta charset="{charset}">
  <title>{e(article.title)} | {e(site_name)}</title>
  <link rel="canonical" href="{e(url)}">
  <meta property="og:title" content="{e(article.title)}">
  {ld}
</head>
<body>
  <div class="cookie-banner">{labels['cookies']} <button>{labels['ok']}</button></div>
  <header class="site-header">
    <a class="logo" href="/">{e(site_name)}</a>
    <nav><ul><li><a href="/">{labels['home']}</a></li><li><a href="/news">{labels['local']}</a></li>
      <li><a href="/economy">{labels['economy']}</a></li><li><a href="/sport">{labels['sport']}</a></li></ul></nav>
  </header>
  <div class="news-ticker"><strong>{labels['urgent']}:</strong> <a href="/ticker">{labels['ticker']}</a></div>
  <div class="breadcrumb"><a href="/">{labels['home']}</a> › <a href="/news">{labels['news']}</a></div>
  <main>
  <article class="article-body">
    <h1>{e(article.title)}</h1>
{paragraphs}
    <div class="share-bar">{labels['share']}: <a href="#">X</a> <a href="#">Facebook</a> <a href="#">WhatsApp</a></div>
  </article>
  <aside class="related-news">
    <h3>{labels['related']}</h3>
    <ul>
{related_items}
    </ul>
  </aside>
  </main>
  <div class="newsletter"><form><label>{labels['newsletter']}</label><input type="email"></form></div>
  <footer class="site-footer">© 2024 {e(site_name)} — {labels['rights']}</footer>
</body>
</html>
"""


def rss_feed(title: str, items: list[tuple[str, str, str]]) -> str:
    """An RSS 2.0 feed of (url, title, RFC 822 date) items."""
    entries = "\n".join(
        f"<item><title>{html.escape(t)}</title><link>{html.escape(u)}</link>"
        f"<guid isPermaLink=\"true\">{html.escape(u)}</guid><pubDate>{d}</pubDate></item>"
        for u, t, d in items)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
            f"<title>{html.escape(title)}</title><link>/</link>\n{entries}\n</channel></rss>\n")


def atom_feed(title: str, items: list[tuple[str, str, str]]) -> str:
    """An Atom feed of (url, title, ISO date) entries."""
    entries = "\n".join(
        f'<entry><title>{html.escape(t)}</title><link rel="alternate" href="{html.escape(u)}"/>'
        f"<id>{html.escape(u)}</id><published>{d}</published><updated>{d}</updated></entry>"
        for u, t, d in items)
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>{html.escape(title)}</title>\n{entries}\n</feed>\n")


def news_sitemap(items: list[tuple[str, str, str]]) -> str:
    """A Google News sitemap of (url, title, ISO date) entries."""
    urls = "\n".join(
        f"<url><loc>{html.escape(u)}</loc><news:news><news:publication>"
        f"<news:name>Gulf Daily Courier</news:name><news:language>en</news:language>"
        f"</news:publication><news:publication_date>{d}</news:publication_date>"
        f"<news:title>{html.escape(t)}</news:title></news:news></url>" for u, t, d in items)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">\n'
            f"{urls}\n</urlset>\n")


def sitemap_index(locations: list[tuple[str, str]]) -> str:
    """A sitemap index of (url, lastmod) entries."""
    entries = "\n".join(f"<sitemap><loc>{html.escape(u)}</loc><lastmod>{m}</lastmod></sitemap>"
                        for u, m in locations)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            f"{entries}\n</sitemapindex>\n")


def listing_page(site_name: str, links: list[tuple[str, str]], next_href: str | None) -> str:
    """A newspaper's section page: article links in a list, and a next-page link."""
    items = "\n".join(f'<li><a class="title" href="{html.escape(h)}">{html.escape(t)}</a></li>'
                      for h, t in links)
    more = f'<a class="next" href="{next_href}">التالي</a>' if next_href else ""
    return (f'<!DOCTYPE html><html lang="ar" dir="rtl"><head><meta charset="windows-1256">'
            f"<title>محليات | {html.escape(site_name)}</title></head><body>"
            f'<nav><a href="/">الرئيسية</a></nav><ul class="news-list">{items}</ul>'
            f'<div class="pager">{more}</div><footer>© 2024</footer></body></html>')


def _rfc822(iso: str | None) -> str:
    from datetime import datetime
    from email.utils import format_datetime

    return format_datetime(datetime.fromisoformat(iso or "2024-11-14T08:00:00+03:00"))


def populate(web: LocalWeb) -> dict[str, list[SampleArticle]]:
    """Fill the started sites `waha`, `sahifa`, `gulfdaily` with the sample articles."""
    by_site: dict[str, list[SampleArticle]] = {name: [] for name in SITES}
    for article in load_articles():
        by_site[article.site].append(article)
    for name, articles in by_site.items():
        site, meta = web[name], SITES[name]
        related = [(a.path, a.title) for a in articles][:3]
        for article in articles:
            page = article_page(article, site.url(article.path), meta["name"], meta["language"],
                                meta["charset"], [r for r in related if r[0] != article.path])
            site.add(article.path, Page(page, content_type=f"text/html; charset={meta['charset']}",
                                        encoding=meta["charset"]))
        site.add("/robots.txt", Page("User-agent: *\nDisallow: /private/\n",
                                     content_type="text/plain"))
    waha, sahifa, daily = web["waha"], web["sahifa"], web["gulfdaily"]
    waha.add("/rss.xml", Page(rss_feed(SITES["waha"]["name"], [
        (waha.url(a.path) + "?utm_source=rss&utm_medium=feed", a.title, _rfc822(a.jsonld_date))
        for a in by_site["waha"]]), content_type="application/rss+xml"))
    half = (len(by_site["sahifa"]) + 1) // 2
    pages = [by_site["sahifa"][:half], by_site["sahifa"][half:]]
    for number, chunk in enumerate(pages, start=1):
        path = "/news" if number == 1 else f"/news/page/{number}"
        next_href = f"/news/page/{number + 1}" if number < len(pages) else None
        sahifa.add(path, Page(listing_page(SITES["sahifa"]["name"],
                                           [(a.path, a.title) for a in chunk], next_href),
                              content_type="text/html; charset=windows-1256",
                              encoding="windows-1256"))
    entries = [(daily.url(a.path), a.title, a.jsonld_date or "2024-11-10T08:00:00+04:00")
               for a in by_site["gulfdaily"]]
    daily.add("/sitemaps/news.xml", Page(news_sitemap(entries), content_type="application/xml"))
    daily.add("/sitemaps/pages.xml", Page(news_sitemap([]), content_type="application/xml"))
    daily.add("/sitemap.xml", Page(sitemap_index([
        (daily.url("/sitemaps/pages.xml"), "2023-01-01"),
        (daily.url("/sitemaps/news.xml"), "2024-11-11")]), content_type="application/xml"))
    daily.add("/atom.xml", Page(atom_feed(SITES["gulfdaily"]["name"], entries),
                                content_type="application/atom+xml"))
    daily.add("/robots.txt", Page(f"User-agent: *\nDisallow: /private/\nSitemap: "
                                  f"{daily.url('/sitemap.xml')}\n", content_type="text/plain"))
    return by_site


def demo_web() -> LocalWeb:
    """The three sample sites, not yet started."""
    return LocalWeb([Site(name) for name in SITES])


def demo_sources(web: LocalWeb) -> list[dict]:
    """sources.yaml entries for the started demo web."""
    return [
        {"id": "waha", "name": SITES["waha"]["name"], "country": "SA", "language": "ar",
         "kind": "agency", "timezone": "Asia/Riyadh", "schedule": {"every": "15m"},
         "feeds": [web["waha"].url("/rss.xml")]},
        {"id": "sahifa", "name": SITES["sahifa"]["name"], "country": "BH", "language": "ar",
         "kind": "press", "timezone": "Asia/Bahrain", "schedule": {"every": "30m"},
         "listings": [{"url": web["sahifa"].url("/news"),
                       "links": "ul.news-list a.title::attr(href)",
                       "next": "a.next::attr(href)", "max_pages": 3}],
         "allow": [r"/news/[\w-]+\.html$"]},
        {"id": "gulfdaily", "name": SITES["gulfdaily"]["name"], "country": "OM",
         "language": "en", "kind": "press", "timezone": "Asia/Muscat",
         "schedule": {"every": "30m"}, "sitemaps": [web["gulfdaily"].url("/sitemap.xml")],
         "feeds": [web["gulfdaily"].url("/atom.xml")]},
    ]
