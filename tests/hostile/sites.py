"""The attack sites of the hostile web, one `.test` host (and one source) per family of attack.

Every site also serves a normal article (`/news/ok.html`), so that each test can check that
the crawl went on beside the attack.
"""

from __future__ import annotations

import gzip
import html
import json
from dataclasses import dataclass

from tests.hostile.web import (
    PUBLIC,
    SECRET,
    HostileWeb,
    brotli_bomb,
    deflate_bomb,
    dribble,
    encoded,
    endless,
    gzip_bomb,
    page,
    raw,
    redirect,
    stall,
    zstd_bomb,
)

GCC = ("السعودية", "الإمارات", "البحرين", "الكويت", "عُمان", "قطر")
PARAGRAPHS = (
    "عقدت اللجنة الوزارية للحكومة الإلكترونية بدول مجلس التعاون لدول الخليج العربية اجتماعها "
    "الدوري بمشاركة ممثلي هيئات الحكومة الرقمية في الدول الأعضاء، وناقشت خطة العمل المشتركة.",
    "واستعرض المجتمعون مؤشرات التحوّل الرقمي للخدمات الحكومية، وتبادل البيانات بين الجهات، "
    "وإطلاق منصة خليجية موحّدة للهوية الرقمية تتيح للمواطنين إنجاز معاملاتهم إلكترونياً.",
    "وأكّد الأمين العام المساعد أهمية تعزيز الأمن السيبراني وحماية البيانات الشخصية، وتأهيل "
    "الكوادر الوطنية في مجالات الحوسبة السحابية والذكاء الاصطناعي وتحليل البيانات.",
)


def article_html(title: str, paragraphs: list[str], head: str = "") -> str:
    """An article page as news sites write them (title, meta, body)."""
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return (f'<!DOCTYPE html><html lang="ar" dir="rtl"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title>{head}</head><body>"
            f'<nav><a href="/">الرئيسية</a></nav><main><article><h1>{html.escape(title)}</h1>'
            f"{body}</article></main><footer>جميع الحقوق محفوظة</footer></body></html>")


def story(site: str, slug: str) -> tuple[str, list[str]]:
    """A distinct article (title, paragraphs) for a site: its own numbers, so never a duplicate."""
    number = sum(map(ord, site + slug)) % 900 + 100
    country = GCC[number % len(GCC)]
    title = f"اجتماع اللجنة الوزارية للحكومة الإلكترونية الخليجية رقم {number}"
    return title, [*PARAGRAPHS, f"وبلغ عدد الخدمات الرقمية الجديدة {number} خدمة في {country} "
                                f"وفق ما أعلنته الجهة المنظمة ({site} {slug})."]


def ok_page(site: str, slug: str = "ok", head: str = "") -> str:
    title, paragraphs = story(site, slug)
    return article_html(title, paragraphs, head)


def rss(web: HostileWeb, host: str, paths: list[str], prolog: str = "") -> str:
    items = "\n".join(
        f"<item><title>خبر</title><link>{html.escape(path if '://' in path else web.url(host, path))}"
        f"</link><pubDate>Tue, 05 Nov 2024 07:00:00 GMT</pubDate></item>" for path in paths)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n{prolog}<rss version="2.0"><channel>'
            f"<title>{host}</title><link>/</link>\n{items}\n</channel></rss>\n")


def urlset(web: HostileWeb, host: str, paths: list[str]) -> str:
    urls = "".join(f"<url><loc>{web.url(host, p)}</loc><lastmod>2024-11-05</lastmod></url>"
                   for p in paths)
    return ('<?xml version="1.0" encoding="UTF-8"?><urlset '
            f'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>')


def sitemap_index(web: HostileWeb, host: str, paths: list[str]) -> str:
    entries = "".join(f"<sitemap><loc>{web.url(host, p)}</loc></sitemap>" for p in paths)
    return ('<?xml version="1.0" encoding="UTF-8"?><sitemapindex '
            f'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</sitemapindex>')


XML = "application/xml"
RSS = "application/rss+xml"


@dataclass
class Attack:
    """One source of the hostile web."""

    source: dict
    host: str


def _source(source_id: str, **entry) -> dict:
    return {"id": source_id, "name": f"{source_id} (hostile)", "country": "SA", "language": "ar",
            "kind": "press", "timezone": "Asia/Riyadh", **entry}


def build(web: HostileWeb) -> dict[str, Attack]:
    """Every attack site on `web`; returns the sources by id."""
    attacks: dict[str, Attack] = {}

    def site(source_id: str, host: str, **entry) -> str:
        attacks[source_id] = Attack(_source(source_id, **entry), host)
        web.add(host, "/news/ok.html", page(ok_page(host)))
        return host

    # --- SSRF: names that resolve inside, rebinding, redirects and refreshes to inside -----
    h = site("ssrf", "ssrf.test", feeds=[web.url("ssrf.test", "/rss.xml")])
    web.resolve("internal.ssrf.test", SECRET)
    web.resolve("rebind.ssrf.test", PUBLIC, SECRET)          # public for robots.txt, then inside
    # robots.txt from the public address, then a failed lookup, then inside
    web.resolve("flaky.ssrf.test", PUBLIC, None, SECRET)
    for name in ("rebind.ssrf.test", "flaky.ssrf.test"):
        web.add(name, "/robots.txt", page("User-agent: *\nAllow: /\n", content_type="text/plain"))
    secret_url = f"http://{SECRET}:{web.port}"
    redirects = {
        "/news/moved.html": web.url("internal.ssrf.test", "/secret/moved"),
        "/news/moved-literal.html": f"{secret_url}/secret/literal",
        "/news/moved-decimal.html": f"http://2130706433:{web.port}/secret/decimal",
        "/news/moved-octal.html": f"http://0177.0.0.1:{web.port}/secret/octal",
        "/news/moved-mapped.html": f"http://[::ffff:127.0.0.1]:{web.port}/secret/mapped",
        "/news/moved-v6.html": f"http://[::1]:{web.port}/secret/v6",
        "/news/moved-localhost.html": f"http://localhost:{web.port}/secret/localhost",
        "/news/moved-file.html": "file:///etc/passwd",
    }
    for path, location in redirects.items():
        web.add(h, path, redirect(location, 302 if "literal" in path else 301))
    web.add(h, "/news/refresh.html", page(
        f'<html><head><meta http-equiv="refresh" content="0;url='
        f'{web.url("internal.ssrf.test", "/secret/refresh")}"></head><body>…</body></html>'))
    web.add(h, "/rss.xml", page(rss(web, h, [
        "/news/ok.html", *redirects, "/news/refresh.html",
        web.url("internal.ssrf.test", "/secret/link"),
        web.url("rebind.ssrf.test", "/secret/rebind"),
        web.url("flaky.ssrf.test", "/secret/flaky-1"),
        web.url("flaky.ssrf.test", "/secret/flaky-2")]), content_type=RSS))

    # Sources configured on inside addresses themselves, in every spelling.
    port = web.port
    attacks["inside"] = Attack(_source("inside", feeds=[
        f"http://127.0.0.1:{port}/rss.xml", f"http://2130706433:{port}/rss.xml",
        f"http://0177.0.0.1:{port}/rss.xml", f"http://0x7f.1:{port}/rss.xml",
        f"http://127.1:{port}/rss.xml", f"http://[::1]:{port}/rss.xml",
        f"http://[::ffff:127.0.0.1]:{port}/rss.xml", f"http://localhost:{port}/rss.xml",
        f"http://LOCALHOST.:{port}/rss.xml", f"http://0.0.0.0:{port}/rss.xml",
        web.url("internal.ssrf.test", "/rss.xml")]), SECRET)

    # --- sitemap indexes that recurse ------------------------------------------------------
    h = site("loops", "loops.test", sitemaps=[
        web.url("loops.test", p) for p in ("/self.xml", "/a.xml", "/ten.xml", "/d0.xml")])
    web.add(h, "/self.xml", page(sitemap_index(web, h, ["/self.xml", "/news-sitemap.xml"]),
                                 content_type=XML))
    web.add(h, "/a.xml", page(sitemap_index(web, h, ["/b.xml"]), content_type=XML))
    web.add(h, "/b.xml", page(sitemap_index(web, h, ["/a.xml"]), content_type=XML))
    web.add(h, "/ten.xml", page(sitemap_index(web, h, ["/ten.xml"] * 10), content_type=XML))
    for depth in range(10):
        web.add(h, f"/d{depth}.xml", page(sitemap_index(web, h, [f"/d{depth + 1}.xml"]),
                                          content_type=XML))
    web.add(h, "/news-sitemap.xml", page(urlset(web, h, ["/news/ok.html"]), content_type=XML))

    # --- robots.txt that fails, is missing, is huge, never answers -------------------------
    for source_id, robots in (("robots503", page("down", 503, "text/plain")),
                              ("robots404", page("no such file", 404, "text/plain")),
                              ("robotsslow", stall(60)),
                              ("robotshuge", None)):
        h = site(source_id, f"{source_id}.test", feeds=[web.url(f"{source_id}.test", "/rss.xml")])
        web.add(h, "/private/p.html", page(ok_page(h, "private")))
        web.add(h, "/late/l.html", page(ok_page(h, "late")))
        web.add(h, "/rss.xml", page(rss(web, h, ["/news/ok.html", "/private/p.html",
                                                 "/late/l.html"]), content_type=RSS))
        if robots is not None:
            web.add(h, "/robots.txt", robots)
    # 20 MB of rules sent without a length: the rule past the first 512 KiB is never read.
    head = (b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n"
            b"User-agent: *\nDisallow: /private/\n")
    filler = b"Disallow: /archive/0000000000/*.php$\n"
    web.add("robotshuge.test", "/robots.txt",
            raw(head + filler * (20_000_000 // len(filler)) + b"Disallow: /late/\n"))

    # --- dates that cannot be publication dates --------------------------------------------
    h = site("dates", "dates.test", feeds=[web.url("dates.test", "/rss.xml")])
    deep_json = "[" * 200_000 + "]" * 200_000
    cases = {
        "/news/2024/11/05/year-one.html":
            '<meta property="article:published_time" content="0001-01-01T00:00:00">',
        "/news/2024/11/05/year-9999.html":
            '<meta property="article:published_time" content="9999-12-31T23:59:59-05:00">',
        "/news/2024/11/05/deep-json.html":
            f'<script type="application/ld+json">{deep_json}</script>',
        "/news/2024/11/05/deep-graph.html":
            '<script type="application/ld+json">'
            + '{"@graph": ' * 950 + "{}" + "}" * 950 + "</script>",
    }
    for path, head_html in cases.items():
        web.add(h, path, page(ok_page(h, path, head_html)))
    web.add(h, "/rss.xml", page(rss(web, h, ["/news/ok.html", *cases]), content_type=RSS))

    # --- gzipped sitemaps, and a gzip bomb served as a sitemap ------------------------------
    h = site("gz", "gz.test", sitemaps=[web.url("gz.test", "/sitemap.xml.gz"),
                                       web.url("gz.test", "/bomb.xml.gz")])
    web.add(h, "/sitemap.xml.gz", page(gzip.compress(urlset(web, h, ["/news/ok.html"]).encode()),
                                       content_type="application/x-gzip"))
    web.add(h, "/bomb.xml.gz", page(gzip_bomb(512 << 20), content_type="application/octet-stream"))

    # --- control characters in a page ------------------------------------------------------
    h = site("controls", "controls.test", feeds=[web.url("controls.test", "/rss.xml")])
    title, paragraphs = story(h, "controls")
    paragraphs[1] = paragraphs[1].replace("الرقمي", "الرقمي\x08", 1)
    paragraphs[2] = "\x1b[31m" + paragraphs[2] + "\x1b[0m\x00\x0c"
    web.add(h, "/news/controls.html", page(article_html(title, paragraphs)))
    web.add(h, "/rss.xml", page(rss(web, h, ["/news/ok.html", "/news/controls.html"]),
                                content_type=RSS))

    # --- a listing whose selectors select elements (issue 25) ------------------------------
    h = site("listing", "listing.test", listings=[{
        "url": web.url("listing.test", "/news/"), "links": 'a[href$=".html"]',
        "next": "a.next", "max_pages": 2}])
    web.add(h, "/news/", page('<html><body><a href="/news/ok.html">خبر</a> <a class="next" '
                              'href="/news/page2">التالي</a></body></html>'))
    web.add(h, "/news/page2", page('<html><body><a href="/news/second.html">خبر</a></body></html>'))
    web.add(h, "/news/second.html", page(ok_page(h, "second")))

    # --- XML attacks: external entities, entity expansion, deep nesting ---------------------
    h = site("xml", "xml.test", feeds=[web.url("xml.test", p) for p in
                                       ("/xxe.xml", "/laughs.xml", "/deep.xml")],
             sitemaps=[web.url("xml.test", "/xxe-sitemap.xml")])
    xxe = (f'<!DOCTYPE rss [<!ENTITY passwd SYSTEM "file:///etc/passwd">'
           f'<!ENTITY inside SYSTEM "{secret_url}/secret/xxe">]>')
    web.add(h, "/xxe.xml", page(rss(web, h, ["/news/ok.html", "/news/&passwd;.html",
                                             "/news/&inside;.html"], prolog=xxe)
                                .replace("<title>xml.test</title>", "<title>&passwd;&inside;</title>"),
                                content_type=RSS))
    laughs = '<!DOCTYPE rss [<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">'
        for i in range(1, 10)) + "]>"
    web.add(h, "/laughs.xml", page(rss(web, h, ["/news/laughs.html", "/news/&lol9;.html"],
                                       prolog=laughs), content_type=RSS))
    web.add(h, "/news/laughs.html", page(ok_page(h, "laughs")))
    web.add(h, "/deep.xml", page('<?xml version="1.0"?><rss><channel>' + "<x>" * 100_000
                                 + "</x>" * 100_000 + "</channel></rss>", content_type=RSS))
    web.add(h, "/xxe-sitemap.xml", page(
        '<?xml version="1.0"?>' + xxe.replace("rss", "urlset")
        + '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        + f"<url><loc>{web.url(h, '/news/')}&passwd;</loc></url></urlset>", content_type=XML))

    # --- compression bombs on article pages ------------------------------------------------
    h = site("bombs", "bombs.test", feeds=[web.url("bombs.test", "/rss.xml")])
    double = gzip.compress(gzip_bomb(256 << 20), compresslevel=1)
    # 512 MiB (half a megabyte on the wire: gzip's best ratio) to 1 GiB each, 2 MB allowed.
    bombs = {"/news/gzip.html": encoded(gzip_bomb(512 << 20), "gzip"),
             "/news/deflate.html": encoded(deflate_bomb(512 << 20), "deflate"),
             "/news/br.html": encoded(brotli_bomb(), "br"),
             "/news/zstd.html": encoded(zstd_bomb(), "zstd"),
             "/news/gzip-gzip.html": encoded(double, "gzip, gzip")}
    for path, route in bombs.items():
        web.add(h, path, route)
    web.add(h, "/rss.xml", page(rss(web, h, ["/news/ok.html", *bombs]), content_type=RSS))

    # --- redirect chains and loops ---------------------------------------------------------
    h = site("redirects", "redirects.test", feeds=[web.url("redirects.test", "/rss.xml")])
    web.add(h, "/news/chain.html", redirect(web.url(h, "/r/1")))
    for hop in range(1, 40):
        web.add(h, f"/r/{hop}", redirect(web.url(h, f"/r/{hop + 1}"), 302))
    web.add(h, "/news/loop.html", redirect(web.url(h, "/r/loop-a")))
    web.add(h, "/r/loop-a", redirect(web.url(h, "/r/loop-b")))
    web.add(h, "/r/loop-b", redirect(web.url(h, "/r/loop-a")))
    web.add(h, "/news/refresh-loop.html", page(
        f'<html><head><meta http-equiv="refresh" content="0;url={web.url(h, "/news/refresh-loop.html")}">'
        "</head><body>…</body></html>"))
    web.add(h, "/rss.xml", page(rss(web, h, ["/news/ok.html", "/news/chain.html",
                                             "/news/loop.html", "/news/refresh-loop.html"]),
                                content_type=RSS))

    # --- 100,000-deep HTML -----------------------------------------------------------------
    h = site("deep", "deep.test", feeds=[web.url("deep.test", "/rss.xml")])
    title, paragraphs = story(h, "deep")
    nested = "<div>" * 100_000 + "".join(f"<p>{p}</p>" for p in paragraphs) + "</div>" * 100_000
    web.add(h, "/news/deep.html", page(f"<html><head><title>{title}</title></head><body>"
                                       f"<h1>{title}</h1>{nested}</body></html>"))
    web.add(h, "/rss.xml", page(rss(web, h, ["/news/ok.html", "/news/deep.html"]),
                                content_type=RSS))

    # --- slowloris: slow headers, slow body ------------------------------------------------
    h = site("slow", "slow.test", feeds=[web.url("slow.test", "/rss.xml")])
    article = ok_page(h, "slow").encode()
    web.add(h, "/news/slow-headers.html", dribble(b"", b"HTTP/1.0 200 OK\r\n" + b"X-Pad: y\r\n" * 50,
                                                  0.2))
    web.add(h, "/news/slow-body.html", dribble(
        b"HTTP/1.0 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
        + f"Content-Length: {len(article)}\r\n\r\n".encode(), article, 0.2))
    web.add(h, "/rss.xml", page(rss(web, h, ["/news/ok.html", "/news/slow-headers.html",
                                             "/news/slow-body.html"]), content_type=RSS))

    # --- header floods ---------------------------------------------------------------------
    h = site("headers", "headers.test", feeds=[web.url("headers.test", "/rss.xml")])
    body = ok_page(h, "flood").encode()
    status = b"HTTP/1.0 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
    web.add(h, "/news/many-headers.html", raw(
        status + b"".join(b"X-Flood-%d: %d\r\n" % (i, i) for i in range(100_000))
        + b"\r\n" + body))
    web.add(h, "/news/long-header.html", raw(status + b"X-Long: " + b"a" * (8 << 20) + b"\r\n\r\n"
                                             + body))
    web.add(h, "/news/endless-headers.html", endless(status, b"X-Again: and again\r\n"))
    web.add(h, "/rss.xml", page(rss(web, h, ["/news/ok.html", "/news/many-headers.html",
                                             "/news/long-header.html",
                                             "/news/endless-headers.html"]), content_type=RSS))
    # --- over-long addresses (issue 21 point 6: refused and recorded after the layout refactor)
    h = site("longurls", "longurls.test", feeds=[web.url("longurls.test", "/rss.xml")])
    long_canonical = web.url(h, "/news/canonical-" + "c" * 3000 + ".html")
    web.add(h, "/news/canonical.html", page(ok_page(
        h, "canonical", f'<link rel="canonical" href="{long_canonical}">')))
    long_link = "/news/link-" + "l" * 2100 + ".html"
    web.add(h, long_link, page(ok_page(h, "link")))
    web.add(h, "/rss.xml", page(rss(web, h, ["/news/ok.html", "/news/canonical.html", long_link]),
                                content_type=RSS, ETag='"' + "e" * 600 + '"'))

    # --- a 9 MB page of 2 million short words: not crawled with the others (point 10) -------
    words = " ".join(("في", "من", "على", "إلى", "عن")[i % 5] + str(i % 97) for i in range(2_000_000))
    web.add("hugetext.test", "/news/huge.html", page(article_html("نص ضخم", [words])))
    web.add("hugetext.test", "/rss.xml", page(rss(web, "hugetext.test", ["/news/huge.html"]),
                                              content_type=RSS))
    return attacks


HUGE_TEXT_SOURCE = _source("hugetext", feeds=["http://hugetext.test:{port}/rss.xml"])


def sources_yaml(attacks: dict[str, Attack]) -> list[dict]:
    return [attack.source for attack in attacks.values()]


def dump(attacks: dict[str, Attack]) -> str:
    return json.dumps(sources_yaml(attacks), ensure_ascii=False, indent=1)
