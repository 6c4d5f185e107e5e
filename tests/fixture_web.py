"""The test web: the bundled sample sites plus sites that misbehave in every way we survive."""

from __future__ import annotations

from pathlib import Path

import yaml

from monitor.demo.sites import (
    SampleArticle,
    article_page,
    demo_sources,
    populate,
    rss_feed,
)
from monitor.demo.web import LocalWeb, Page, Site

FAULTY_ARTICLE = SampleArticle(
    slug="cait-digital-services", site="faulty",
    title="الجهاز المركزي لتكنولوجيا المعلومات يستعرض خطة التحول الرقمي للجهات الحكومية",
    dateline="الكويت - 5 - 11 (كونا)", jsonld_date="2024-11-05T10:00:00+03:00",
    paragraphs=(
        "استعرض الجهاز المركزي لتكنولوجيا المعلومات في دولة الكويت خطته للتحول الرقمي في الجهات "
        "الحكومية خلال السنوات الثلاث المقبلة، والتي تتضمن ربط الأنظمة الحكومية بمنصة موحدة للخدمات.",
        "وقال مسؤول في الجهاز إن الخطة تهدف إلى رفع نسبة الخدمات الحكومية المقدمة إلكترونياً، وتقليص "
        "مدة إنجاز المعاملات، وتعزيز حماية البيانات الحكومية وفق أفضل المعايير الدولية.",
        "وأضاف أن الجهاز يعمل بالتنسيق مع الجهات الحكومية على تدريب الكوادر الوطنية في مجالات الحوسبة "
        "السحابية والأمن السيبراني وتحليل البيانات."),
)

BROKEN_HTML = (
    "<html><head><title>خبر بلا إغلاق</title><body><div class='content'><h1>تدشين منصة بيانات مفتوحة"
    "<p>دشنت الجهة المختصة منصة جديدة للبيانات الحكومية المفتوحة تتيح للباحثين والمطورين الوصول إلى "
    "مجموعات بيانات محدثة في مجالات الاقتصاد والتعليم والصحة <b>والنقل<p>وتضم المنصة في مرحلتها "
    "الأولى أكثر من ثلاثمئة مجموعة بيانات، على أن تضاف مجموعات جديدة كل شهر وفق خطة معلنة، مع "
    "إتاحة واجهات برمجية للمطورين<div><table><tr><td>وأكدت الجهة أن المنصة تلتزم بمعايير حماية "
    "الخصوصية وأن البيانات المنشورة لا تتضمن أي معلومات شخصية، داعية الجهات الحكومية إلى المساهمة "
    "في إثراء المنصة بمزيد من البيانات</span></i></html"
)


def build_test_web() -> tuple[LocalWeb, dict]:
    """Start the test web and return it with its sample articles by site."""
    web = LocalWeb([Site("waha"), Site("sahifa"), Site("gulfdaily"), Site("faulty"),
                    Site("down"), Site("empty"), Site("copycat")]).start()
    by_site = populate(web)
    faulty = web["faulty"]
    faulty.add(FAULTY_ARTICLE.path, article_page(FAULTY_ARTICLE, faulty.url(FAULTY_ARTICLE.path),
                                                 "موقع متعثر", "ar"))
    faulty.add("/news/server-error.html", Page("<h1>Internal Server Error</h1>", status=500))
    faulty.add("/news/slow.html", Page(article_page(FAULTY_ARTICLE, "", "x", "ar"), delay=40))
    faulty.add("/news/huge.html", Page(b"<html><body>" + b"<p>" + b"x" * (20 << 20) + b"</p></body></html>"))
    faulty.add("/news/broken.html", BROKEN_HTML)
    faulty.add("/news/gallery.html", "<html><body><h1>معرض الصور</h1><img src='a.jpg'></body></html>")
    faulty.add("/private/hidden.html", article_page(FAULTY_ARTICLE, "", "x", "ar"))
    faulty.add("/robots.txt", Page("User-agent: *\nDisallow: /private/\n", content_type="text/plain"))
    links = ["/news/cait-digital-services.html?utm_source=rss&fbclid=abc", "/news/dead.html",
             "/news/server-error.html", "/news/slow.html", "/news/huge.html", "/news/broken.html",
             "/news/gallery.html", "/private/hidden.html", "https://elsewhere.example/news/1.html"]
    faulty.add("/rss.xml", Page(rss_feed("متعثر", [(faulty.url(p) if p.startswith("/") else p,
                                                    "خبر", "Tue, 05 Nov 2024 07:00:00 GMT")
                                                   for p in links]),
                                content_type="application/rss+xml"))
    web["down"].add("/rss.xml", Page("Service Unavailable", status=503, content_type="text/plain"))
    web["empty"].add("/rss.xml", Page(rss_feed("فارغ", []), content_type="application/rss+xml"))
    original = by_site["waha"][0]
    copycat = web["copycat"]
    copycat.add("/ar/story-77.html", article_page(original, copycat.url("/ar/story-77.html"),
                                                  "ناقل", "ar"))
    copycat.add("/rss.xml", Page(rss_feed("ناقل", [(copycat.url("/ar/story-77.html"), "x",
                                                     "Sun, 17 Nov 2024 08:00:00 GMT")]),
                                 content_type="application/rss+xml"))
    return web, by_site


def fixture_sources(web: LocalWeb) -> list[dict]:
    """sources.yaml entries for every site of the test web."""
    sources = demo_sources(web)
    for name, country in (("faulty", "KW"), ("down", "QA"), ("empty", "AE"), ("copycat", "BH")):
        sources.append({"id": name, "name": f"{name} site", "country": country, "language": "ar",
                        "kind": "press", "timezone": "Asia/Kuwait",
                        "feeds": [web[name].url("/rss.xml")]})
    return sources


def write_config(directory: Path, sources: list[dict], database_url: str,
                 rules: str | None = None, **crawl) -> Path:
    """A config directory for tests: fast timeouts, loopback allowed, the shipped rules."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sources.yaml").write_text(
        yaml.safe_dump({"sources": sources}, allow_unicode=True), encoding="utf-8")
    shipped_rules = Path(__file__).resolve().parent.parent / "config" / "rules.yaml"
    (directory / "rules.yaml").write_text(
        rules if rules is not None else shipped_rules.read_text(encoding="utf-8"), encoding="utf-8")
    settings = {"database_url": database_url,
                "crawl": {"allow_private_addresses": True, "autothrottle": False,
                          "download_timeout": 2, "retry_times": 1, "extraction_workers": 1,
                          **crawl}}
    (directory / "settings.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    return directory
