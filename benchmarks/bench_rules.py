"""Benchmark: 50 and 500 watch rules on one article, as a share of trafilatura extracting it.

Run: python benchmarks/bench_rules.py [--rounds N] [--real-pages]

Both sides run in turn in every round on CPU time (`time.process_time`), so a busy machine
slows them alike; the figures are medians. The extraction side is trafilatura's call exactly as
crawler/extraction.py makes it (same options, on the tree raqib hands it). The rule side is what
the pipeline does with the title and text that extraction returns: `RuleSet.evaluate` (reading
the article's words, deciding the rules, the clauses and snippets of those that matched) and
`to_dict()` of every match. The page is a small agency page whose story many of the rules'
words occur in: the costly case for the rules. 50 rules: the shipped three and 47 topic rules
of a Gulf monitoring desk; 500: those and 450 entity watches (companies, bodies, places, each
near one of ten subjects), some of whose words the story has. "Seen" is the cost once the rule
set has met the article's words (every later article shares most of them); "cold" is a fresh
rule set in a fresh process state (a crawl's first article). Budget: 50 rules within 15% of
trafilatura, 500 rules within 3 times 50; the script prints the figures and exits 1 when over.
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import trafilatura
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crawler.extraction import TRAFILATURA_OPTIONS, extract_article, prepared_tree  # noqa: E402
from monitor import arabic  # noqa: E402
from monitor.rules import RuleSet, WatchRule  # noqa: E402

BUDGET_50 = 0.15  # of trafilatura's time
BUDGET_500 = 3.0  # times the cost of 50 rules
PAGE_URL = "https://agency.example/news/123456"
RULES_FILE = Path(__file__).resolve().parent.parent / "config" / "rules.yaml"
REAL_PAGES = Path(__file__).resolve().parent.parent / "tests" / "pages" / "real"

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


# Topic rules of the kind Gulf media-monitoring desks keep: Arabic and English, phrases, NEAR,
# wildcards, stems and NOT. On the benchmark article (a GCC e-government committee meeting) two
# of them match, as a story about e-government should: cyber security and digital identity.
TOPICS = [
    'أوبك OR OPEC OR (~نفط OR "crude oil") NEAR/5 (~إنتاج OR أسعار OR production)',
    '~أمطار OR ~غبار OR "المركز الوطني للأرصاد" OR rain* OR sandstorm* OR "weather warning"',
    '~حج OR ~عمرة OR الحجاج OR المعتمرين OR Hajj OR Umrah',
    '"كأس الخليج" OR "دوري روشن" OR ~منتخب NEAR/3 (القدم OR ~كرة) OR "Gulf Cup"',
    '(~سوق OR ~بورصة) NEAR/4 (~أسهم OR تداول) OR "stock market" OR Tadawul',
    '("البنك المركزي" OR "مؤسسة النقد") NEAR/8 (الفائدة OR ~تضخم) OR "interest rate*"',
    'الحوثي* OR "أنصار الله" OR Houthi* AND ("Red Sea" OR Yemen)',
    '"قطاع غزة" OR غزة OR ~فلسطين NEAR/5 (~عدوان OR ~حرب) OR Gaza',
    '~سعودة OR ~توطين OR نطاقات OR Saudization OR Emiratisation OR Omanisation',
    '(~سياحة OR السياح OR ~سائح) NEAR/6 (~موسم OR ~تأشيرة) OR tourism OR tourist*',
    '(~تأشيرة OR ~إقامة) NEAR/5 (~وافد OR المقيمين OR العمالة) OR "golden visa"',
    '(~عقار OR العقارات OR ~إسكان) NEAR/5 (أسعار OR ~صفقة) OR "real estate"',
    '"وزارة الصحة" OR ~لقاح OR ~وباء OR كورونا OR vaccine* OR pandemic OR "Ministry of Health"',
    '("وزارة التعليم" OR "وزارة التربية" OR ~جامعة) NEAR/6 (~قبول OR ~منحة OR "العام الدراسي")',
    '"الطاقة المتجددة" OR "الطاقة الشمسية" OR ~هيدروجين OR solar OR "renewable energy"',
    '~تحلية NEAR/3 المياه OR desalination',
    '(~طيران OR ~مطار OR "الخطوط الجوية") NEAR/6 (~رحلة OR ~مسافر) OR airline* OR airport*',
    '"إكسبو 2030" OR "Expo 2030" OR "كأس العالم" NEAR/3 2034',
    '~سباق NEAR/3 (الهجن OR الخيل) OR "camel racing" OR ~مهرجان NEAR/3 الإبل',
    '(~حادث OR ~مرور) NEAR/4 (~طريق OR ~وفاة OR ~إصابة)',
    '(~محكمة OR النيابة) NEAR/6 (~حكم OR ~قضية OR ~متهم) NOT ~رياضة',
    '"الأمن السيبراني" OR ~سيبراني OR cybersecurity OR "cyber security"',
    '"الذكاء الاصطناعي" NEAR/8 (~شركة OR ~استثمار OR ~شراكة) OR "artificial intelligence"',
    '"البيانات المفتوحة" NEAR/10 (~منصة OR ~بوابة) OR "open data portal"',
    '"الهوية الرقمية" OR "التوقيع الإلكتروني" OR "digital identity" OR e-signature',
    '"القمة الخليجية" OR "المجلس الأعلى" NEAR/3 ~دورة OR "GCC summit"',
    '(~وزير OR الوزراء) NEAR/4 (الداخلية OR الخارجية) AND "مجلس التعاون"',
    'ميزانية* OR "الموازنة العامة" OR budget*',
    '"الحوسبة السحابية" NEAR/5 (~شركة OR "مراكز البيانات") OR "cloud region"',
    '(~مؤشر OR ترتيب OR تصنيف) NEAR/6 ("الأمم المتحدة" OR "United Nations")',
    '"أمر ملكي" OR "مرسوم أميري" OR "مرسوم سلطاني" OR "royal decree"',
    'رمضان OR "عيد الفطر" OR "عيد الأضحى" OR Ramadan OR Eid',
    '(~فضاء OR ~قمر) NEAR/4 (~صناعي OR ~مسبار OR ~رائد) OR "space agency" OR astronaut*',
    '(~مصرف OR ~بنك) NEAR/5 (~أرباح OR ~اندماج OR ~استحواذ) OR bank NEAR/5 (merger OR profit*)',
    '"مجلس الأمة" OR ~نائب NEAR/3 ~استجواب OR "National Assembly"',
    '"الغاز الطبيعي المسال" OR LNG OR ~غاز NEAR/4 ~حقل',
    '"سلامة الغذاء" OR ~تسمم NEAR/4 ~غذائي OR "food safety"',
    '"تغير المناخ" OR ~انبعاث NEAR/3 الكربون OR "الحياد الصفري" OR climate OR "net zero"',
    '(~ميناء OR الموانئ) NEAR/6 (~حاوية OR ~شحن) OR "port of" NEAR/4 container*',
    '(~جمارك OR ~منفذ) NEAR/5 (~ضبط OR ~تهريب) OR smuggl*',
    '"التجارة الإلكترونية" OR e-commerce OR ecommerce',
    '(5G OR "الجيل الخامس") NEAR/5 (~شبكة OR ~تغطية)',
    '~شركة NEAR/2 ناشئة OR startup* OR "venture capital"',
    '~تحويل NEAR/3 (~مالي OR أموال) AND (~وافد OR المقيمين OR العمالة)',
    '"تمكين المرأة" OR ~مرأة NEAR/4 ~قيادة OR "women empowerment"',
    '(~تمرين OR ~مناورة) NEAR/5 (~عسكري OR ~بحري) OR "joint exercise"',
    '("المدن الذكية" OR نيوم OR NEOM) NOT ~وظيفة',
]

# Entity watches: a body, company or place, in Arabic and English, near one of ten subjects.
ENTITIES = [
    ("أرامكو", "Aramco"), ("سابك", "SABIC"), ("الاتصالات السعودية", "stc"), ("اتصالات", "Etisalat"),
    ("أريدُ", "Ooredoo"), ("زين", "Zain"), ("بتلكو", "Batelco"), ("عمانتل", "Omantel"),
    ("أدنوك", "ADNOC"), ("قطر للطاقة", "QatarEnergy"), ("طيران الإمارات", "Emirates airline"),
    ("الخطوط القطرية", "Qatar Airways"), ("الخطوط السعودية", "Saudia"), ("موانئ دبي", "DP World"),
    ("صندوق الاستثمارات العامة", "Public Investment Fund"), ("مبادلة", "Mubadala"),
    ("جهاز قطر للاستثمار", "Qatar Investment Authority"), ("بنك الكويت الوطني", "NBK"),
    ("البنك الأهلي", "SNB"), ("مصرف الراجحي", "Al Rajhi"), ("هيئة الحكومة الرقمية",
    "Digital Government Authority"), ("الأمانة العامة", "GCC Secretariat"),
    ("الأمم المتحدة", "United Nations"), ("البنك الدولي", "World Bank"),
    ("صندوق النقد الدولي", "IMF"), ("جامعة الملك سعود", "King Saud University"),
    ("هيئة السياحة", "Tourism Authority"), ("وزارة المالية", "Ministry of Finance"),
    ("وزارة الطاقة", "Ministry of Energy"), ("وزارة الصحة", "Ministry of Health"),
    ("هيئة الاتصالات", "Communications Authority"), ("سدايا", "SDAIA"),
    ("الهيئة الوطنية للأمن السيبراني", "National Cybersecurity Authority"), ("نيوم", "NEOM"),
    ("القدية", "Qiddiya"), ("البحر الأحمر", "Red Sea Global"), ("مطار الملك خالد", "KKIA"),
    ("ميناء جبل علي", "Jebel Ali"), ("سوق دبي المالي", "DFM"), ("تداول", "Tadawul"),
    ("بورصة قطر", "Qatar Stock Exchange"), ("الدوحة", "Doha"), ("مسقط", "Muscat"),
    ("المنامة", "Manama"), ("الكويت", "Kuwait"),
]
SUBJECTS = [
    "(~أرباح OR ~خسارة OR profit* OR loss*)", "(~اتفاقية OR ~مذكرة OR agreement* OR MoU)",
    "(~توظيف OR ~وظيفة OR job* OR hiring)", "(~استثمار OR ~صفقة OR invest* OR deal*)",
    "(~مشروع OR ~إطلاق OR project* OR launch*)", "(~عقد OR ~مناقصة OR contract* OR tender*)",
    "(~تحقيق OR ~مخالفة OR investigat* OR fine*)", "(~شراكة OR ~تعاون OR partner*)",
    "(~تقرير OR ~مؤشر OR report* OR index)", "(~رئيس OR ~تعيين OR appoint* OR CEO)",
]


def fifty_rules() -> RuleSet:
    """The shipped rules, then realistic topic rules until there are 50."""
    return RuleSet(_rules(50))


def five_hundred_rules() -> RuleSet:
    """The 50, then entity watches until there are 500."""
    return RuleSet(_rules(500))


def _rules(count: int) -> list[WatchRule]:
    entries = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))["rules"]
    rules = [WatchRule(id=e["id"], name=e["name"], query=e["query"],
                       languages=tuple(e.get("languages", ()))) for e in entries]
    rules += [WatchRule(id=f"topic-{i}", name=f"Topic {i}", query=query)
              for i, query in enumerate(TOPICS[:50 - len(rules)])]
    watches = [f'("{arabic_name}" OR "{english}") NEAR/8 {subject}'
               for arabic_name, english in ENTITIES for subject in SUBJECTS]
    rules += [WatchRule(id=f"watch-{i}", name=f"Watch {i}", query=query)
              for i, query in enumerate(watches[:count - len(rules)])]
    assert len(rules) == count, len(rules)
    return rules


def pipeline_rules(rules: RuleSet, title: str, text: str) -> list[dict]:
    """What the extraction worker does per article (crawler.extraction.process_page):
    evaluate, then the dicts it stores."""
    return [match.to_dict() for match in rules.evaluate(title, text, "ar", source="spa",
                                                        country="SA", kind="agency")]


def cold(count: int, title: str, text: str) -> float:
    """CPU seconds of the rule step with a rule set just built and the word caches empty."""
    rules = RuleSet(_rules(count))
    for cached in (arabic._readings, arabic._stem):
        cached.cache_clear()
    started = time.process_time()
    pipeline_rules(rules, title, text)
    return time.process_time() - started


def interleaved(works: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Median CPU seconds of each work, run in turn in every round, so that the load of a
    shared machine weighs on all of them alike. A work that returns a float timed itself.
    The first work (the extraction) runs again before each of the others: each then meets the
    caches as the pipeline leaves them, straight after trafilatura (a rule step timed after
    another rule step would find them warm, and look a fifth cheaper)."""
    first, *others = works
    timings: dict[str, list[float]] = {name: [] for name in works}
    for _ in range(rounds):
        for name, work in [(step, works[step]) for other in others
                           for step in (first, other)]:
            started = time.process_time()
            reported = work()
            elapsed = time.process_time() - started
            timings[name].append(reported if isinstance(reported, float) else elapsed)
    return {name: statistics.median(values) for name, values in timings.items()}


def side_by_side(html: str, url: str) -> tuple[Callable[[], float], str, str]:
    """The extraction work to time, and the title and text the pipeline stores for the page.

    The timed work is trafilatura's call exactly as crawler/extraction.py makes it, on the tree
    the pipeline hands it (parsed and pre-cleaned by raqib, outside the timing).
    """
    article = extract_article(html, url, timezone="Asia/Riyadh", fetched_at=datetime.now(UTC))
    trees: list = []

    def extraction() -> float:
        if not trees:  # trafilatura may change the tree it is given: a fresh one every time
            trees.extend(prepared_tree(html) for _ in range(5))
        tree = trees.pop()
        started = time.process_time()
        trafilatura.bare_extraction(tree, url=url, **TRAFILATURA_OPTIONS)
        return time.process_time() - started

    if article is None:
        return extraction, "", ""
    return extraction, article.title or "", article.text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--real-pages", action="store_true",
                        help="also measure on the saved real pages under tests/pages/real")
    args = parser.parse_args()

    html = build_page()
    extraction, title, text = side_by_side(html, PAGE_URL)
    fifty, five_hundred = fifty_rules(), five_hundred_rules()
    median = interleaved({
        "extract": extraction,
        "50": lambda: pipeline_rules(fifty, title, text),
        "500": lambda: pipeline_rules(five_hundred, title, text),
        "50 cold": lambda: cold(50, title, text),
        "500 cold": lambda: cold(500, title, text),
    }, args.rounds)
    extract_s = median["extract"]
    share_50, times_500 = median["50"] / extract_s, median["500"] / median["50"]
    print(f"page: {len(html.encode('utf-8')) / 1024:.1f} KB HTML; extracted {len(text)} characters "
          f"of text, title {len(title)} characters; {args.rounds} rounds, CPU time, medians")
    print(f"trafilatura.bare_extraction as raqib calls it: {extract_s * 1000:7.2f} ms")
    for count, rules in (("50", fifty), ("500", five_hundred)):
        matched = [m.rule_id for m in rules.evaluate(title, text, "ar")]
        print(f"{count:>3} rules: {median[count] * 1000:6.2f} ms = {median[count] / extract_s:5.1%} "
              f"of trafilatura (cold: {median[count + ' cold'] * 1000:.2f} ms = "
              f"{median[count + ' cold'] / extract_s:.1%}); {len(matched)} matched")
    started = time.process_time()
    specs = pickle.dumps(five_hundred)
    rebuilt = pickle.loads(specs)
    print(f"500 rules pickled: {len(specs) / 1024:.0f} KB; unpickled (compiled again) in "
          f"{(time.process_time() - started) * 1000:.0f} ms; same matches: "
          f"{pipeline_rules(rebuilt, title, text) == pipeline_rules(five_hundred, title, text)}")
    within = share_50 <= BUDGET_50 and times_500 <= BUDGET_500
    print(f"50 rules = {share_50:.1%} of trafilatura (budget {BUDGET_50:.0%}); 500 rules = "
          f"{times_500:.2f} x 50 rules (budget {BUDGET_500:g} x): "
          f"{'OK' if within else 'OVER BUDGET'}")
    if args.real_pages:
        real_pages(fifty, five_hundred, max(args.rounds // 4, 5))
    return 0 if within else 1


def real_pages(fifty: RuleSet, five_hundred: RuleSet, rounds: int) -> None:
    """The same comparison on the saved real pages (tests/pages/real): real markup, whose
    extraction costs more than the benchmark page's, and texts few of the rules match."""
    print(f"\nsaved real pages ({rounds} rounds each):")
    for path in sorted(REAL_PAGES.glob("*.html")):
        html = path.read_bytes().decode("utf-8", errors="replace")
        extraction, title, text = side_by_side(html, f"https://example.org/{path.stem}")
        median = interleaved({
            "extract": extraction,
            "50": lambda t=title, x=text: pipeline_rules(fifty, t, x),
            "500": lambda t=title, x=text: pipeline_rules(five_hundred, t, x),
        }, rounds)
        extract_s = median["extract"]
        print(f"  {path.name:38s} {len(html) // 1024:3d} KB {len(text):5d} chars: extract "
              f"{extract_s * 1000:6.2f} ms; 50 rules {median['50'] * 1000:5.2f} ms = "
              f"{median['50'] / extract_s:.1%}; 500 rules {median['500'] * 1000:5.2f} ms = "
              f"{median['500'] / extract_s:.1%}")


if __name__ == "__main__":
    sys.exit(main())
