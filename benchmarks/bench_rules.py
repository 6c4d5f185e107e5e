"""Benchmark: 50 watch rules on one article vs trafilatura extracting that article's page.

Run: python benchmarks/bench_rules.py [--rounds N]. Prints timings and the ratio; exits 1 when
the rules cost 5% or more of the extraction. The rule side includes indexing the article
(tokenising and normalising once per article) as the crawl pipeline does.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import trafilatura
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.rules import IndexedArticle, RuleSet, WatchRule  # noqa: E402

BUDGET = 0.05
RULES_FILE = Path(__file__).resolve().parent.parent / "config" / "rules.yaml"

PARAGRAPHS = [
    "الرياض ١٤ رجب ١٤٤٥ هـ الموافق ٢٦ يناير ٢٠٢٤ م واس — عقدت اللجنة الوزارية للحكومة "
    "الإلكترونية بدول مجلس التعاون لدول الخليج العربية اجتماعها الثاني عشر اليوم في الرياض، "
    "برئاسة معالي محافظ هيئة الحكومة الرقمية، وبمشاركة أصحاب المعالي الوزراء المعنيين بالحكومة "
    "الإلكترونية في الدول الأعضاء، ومعالي الأمين العام لمجلس التعاون.",
    "وناقش الاجتماع عدداً من الموضوعات المدرجة على جدول أعماله، ومنها تقرير اللجنة التنفيذية "
    "للحكومة الإلكترونية عن سير العمل في المشاريع المشتركة، ومشروع الربط بين البوابات الحكومية "
    "الوطنية، ومبادرة الاعتراف المتبادل بالهوية الرقمية والتوقيع الإلكتروني بين دول المجلس.",
    "وأكد معاليه في كلمته الافتتاحية أن التكامل الرقمي الخليجي يمثل ركيزة أساسية لتحقيق "
    "تطلعات قادة دول المجلس، مشيراً إلى أن ما تحقق خلال الأعوام الماضية يعكس حرص الدول الأعضاء "
    "على تبادل الخبرات وتوحيد المعايير في مجال الخدمات الحكومية الرقمية.",
    "من جانبه، أشاد الأمين العام لمجلس التعاون بالجهود التي تبذلها فرق العمل المنبثقة عن اللجنة "
    "التنفيذية، مؤكداً أن الأمانة العامة ستواصل دعمها لهذه الفرق من أجل استكمال المشاريع في "
    "مواعيدها المحددة، وفي مقدمتها منصة الخدمات الخليجية الموحدة.",
    "واستعرض الاجتماع نتائج ورشتي العمل اللتين عُقدتا على هامش الاجتماع حول قياس نضج الحكومة "
    "الإلكترونية والخدمات الاستباقية، بمشاركة خبراء من الأمم المتحدة والبنك الدولي وعدد من "
    "الجهات الحكومية في الدول الست.",
    "كما اطلعت اللجنة على التقرير السنوي لمؤشرات الأداء، الذي أظهر ارتفاع نسبة الخدمات الحكومية "
    "المقدمة إلكترونياً في دول المجلس إلى أكثر من ٩٠٪، وارتفاع نسبة رضا المستفيدين إلى ٨٥٪ "
    "وفق آخر استطلاع أجرته الأمانة العامة بالتعاون مع الأجهزة الوطنية.",
    "واعتمدت اللجنة في ختام اجتماعها الخطة التنفيذية للأعوام ٢٠٢٥ – ٢٠٢٧م، والتي تتضمن ١٥ "
    "مبادرة مشتركة في مجالات البيانات المفتوحة، والحوسبة السحابية الحكومية، والأمن السيبراني، "
    "والذكاء الاصطناعي في الخدمات العامة، وتطوير الكفاءات الوطنية.",
    "وقررت اللجنة عقد اجتماعها المقبل في سلطنة عُمان خلال الربع الأخير من العام الجاري، على أن "
    "يسبقه اجتماع للجنة التنفيذية لمتابعة تنفيذ القرارات والتوصيات الصادرة عن هذا الاجتماع.",
    "يُذكر أن اللجنة الوزارية للحكومة الإلكترونية تأسست بقرار من المجلس الأعلى لمجلس التعاون، "
    "وتضم في عضويتها الوزراء ورؤساء الأجهزة المعنية بالحكومة الإلكترونية في الدول الأعضاء، "
    "وتعقد اجتماعاتها بصفة دورية بالتناوب بين دول المجلس.",
    "وشهد الاجتماع توقيع مذكرة تفاهم بين الأمانة العامة وعدد من الجهات الدولية لتبادل الخبرات في "
    "مجال التحول الرقمي الحكومي، وتنظيم برامج تدريبية مشتركة لموظفي الجهات الحكومية.",
]

SIDE_LINKS = [f"خبر ذو صلة رقم {i}: وزير الداخلية يستقبل سفير إحدى الدول الصديقة" for i in range(60)]
MOST_READ = [f"الأكثر قراءة {i}: أمير المنطقة يدشن مشروعات تنموية بتكلفة {i * 7} مليون ريال"
             for i in range(30)]
MENU = ["الرئيسية", "محليات", "خليجي", "عربي", "دولي", "اقتصاد", "رياضة", "ثقافة", "منوعات",
        "تقارير", "صور", "فيديو", "اتصل بنا", "من نحن", "الأرشيف"]


TRACKING = "\n".join(f"gtag('event','view_{i}',{{'section':'gulf','slot':{i}}});" for i in range(120))


def build_page() -> str:
    """A ~30 KB Arabic agency article page: header, menus, article, related news, footer."""
    nav = "".join(f'<li><a href="/cat/{i}">{name}</a></li>' for i, name in enumerate(MENU))
    side = "".join(f'<li><a href="/news/{1000 + i}">{text}</a></li>'
                   for i, text in enumerate(SIDE_LINKS))
    most = "".join(f'<li><a href="/news/{2000 + i}">{text}</a></li>'
                   for i, text in enumerate(MOST_READ))
    # Agency pages carry the story and, below it, a recap of earlier coverage: about 5 KB of text.
    body = "".join(f"<p>{p}</p>" for p in PARAGRAPHS + PARAGRAPHS[2:7])
    title = "اللجنة الوزارية للحكومة الإلكترونية بدول مجلس التعاون تعقد اجتماعها الـ ١٢ في الرياض"
    return f"""<!DOCTYPE html><html lang="ar" dir="rtl"><head><meta charset="utf-8">
<title>{title} | وكالة الأنباء</title>
<meta property="og:title" content="{title}">
<meta name="description" content="{PARAGRAPHS[0][:150]}">
<meta property="article:published_time" content="2024-01-26T10:15:00+03:00">
<link rel="canonical" href="https://agency.example/news/123456">
<style>body{{font-family:sans-serif}} .menu li{{display:inline}}</style>
<script type="application/ld+json">{{"@context":"https://schema.org","@type":"NewsArticle",
"headline":"{title}","datePublished":"2024-01-26T10:15:00+03:00","inLanguage":"ar",
"publisher":{{"@type":"Organization","name":"وكالة الأنباء"}}}}</script>
<script>window.dataLayer=window.dataLayer||[];function gtag(){{dataLayer.push(arguments)}}
{TRACKING}</script>
</head><body><header><div class="logo">وكالة الأنباء</div><nav><ul class="menu">{nav}</ul></nav>
<form class="search"><input name="q" placeholder="بحث"></form></header>
<main><article><h1>{title}</h1><div class="meta"><time datetime="2024-01-26">٢٦ يناير ٢٠٢٤</time>
<span class="section">خليجي</span></div><div class="article-body">{body}</div>
<div class="tags"><a href="/tag/1">الحكومة الإلكترونية</a> <a href="/tag/2">مجلس التعاون</a></div>
</article><aside><h3>أخبار ذات صلة</h3><ul>{side}</ul><h3>الأكثر قراءة</h3><ol>{most}</ol>
</aside></main>
<footer><ul class="menu">{nav}</ul><p>جميع الحقوق محفوظة © ٢٠٢٤ وكالة الأنباء</p></footer>
</body></html>"""


def fifty_rules() -> RuleSet:
    """The shipped rules, then realistic topic rules until there are 50."""
    entries = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))["rules"]
    rules = [WatchRule(id=e["id"], name=e["name"], query=e["query"],
                       languages=tuple(e.get("languages", ()))) for e in entries]
    topics = [
        '"الأمن السيبراني" OR ~سيبراني OR cybersecurity',
        '(~وزير OR الوزراء) NEAR/4 (الداخلية OR الخارجية) AND "مجلس التعاون"',
        '"الذكاء الاصطناعي" NEAR/8 (~حكومة OR ~خدمة) NOT ~شركة',
        '(اتفاقية OR "مذكرة تفاهم") NEAR/5 (~تعاون OR التعاون) AND (رقمي* OR تقني*)',
        '"البيانات المفتوحة" OR "open data" OR بيانات* NEAR/3 ~حكومة',
        '(منصة OR ~بوابة) NEAR/5 (موحد* OR خليجي*) NOT رياضة',
        'ميزانية* OR "الموازنة العامة" OR budget*',
        '"الحوسبة السحابية" OR cloud* NEAR/3 (government OR حكوم*)',
        '(~مؤشر OR ترتيب OR تصنيف) NEAR/6 ("الأمم المتحدة" OR "United Nations")',
        '"الهوية الرقمية" OR "التوقيع الإلكتروني" OR "digital identity"',
    ]
    for i in range(50 - len(rules)):
        rules.append(WatchRule(id=f"topic-{i}", name=f"Topic {i}",
                               query=f"({topics[i % len(topics)]}) AND NOT \"نشرة {i}\""))
    return RuleSet(rules)


def decide_all(rules: RuleSet, title: str, text: str) -> list[bool]:
    """Index once and decide every rule, without building explanations."""
    article = IndexedArticle(title, text)
    return [article.matches(rule.compiled.root, rule.fields) for rule in rules]


def median_seconds(work: Callable[[], object], rounds: int) -> float:
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()

    html = build_page()
    extracted = trafilatura.bare_extraction(html, with_metadata=True)
    doc = extracted if isinstance(extracted, dict) else extracted.as_dict()
    title, text = doc.get("title") or "", doc.get("text") or ""
    rules = fifty_rules()
    matched = [m.rule_id for m in rules.evaluate(title, text, "ar")]

    extract_s = median_seconds(lambda: trafilatura.bare_extraction(html, with_metadata=True),
                               args.rounds)
    rules_s = median_seconds(lambda: rules.evaluate(title, text, "ar"), args.rounds * 5)
    index_s = median_seconds(lambda: IndexedArticle(title, text), args.rounds * 5)
    decide_s = median_seconds(lambda: decide_all(rules, title, text), args.rounds * 5)
    ratio = rules_s / extract_s

    print(f"page: {len(html.encode('utf-8')) / 1024:.1f} KB HTML; extracted "
          f"{len(text)} characters of text, title {len(title)} characters")
    print(f"trafilatura.bare_extraction(with_metadata=True): {extract_s * 1000:8.2f} ms (median)")
    print(f"{len(rules)} rules on the extracted title+text:    {rules_s * 1000:8.2f} ms (median)")
    print(f"  of which indexing the article once:      {index_s * 1000:8.2f} ms")
    print(f"  indexing + deciding all 50 rules:         {decide_s * 1000:8.2f} ms "
          f"({decide_s / extract_s:.1%} of extraction)")
    print(f"  the rest: clauses and snippets for the {len(matched)} matches")
    print(f"rules matched: {', '.join(matched) or 'none'}")
    print(f"ratio rules/extraction: {ratio:.1%} (budget {BUDGET:.0%}): "
          f"{'OK' if ratio < BUDGET else 'OVER BUDGET'}")
    return 0 if ratio < BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
