"""The web view's words in Arabic and English, and dates as a reader in the Gulf writes them."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from monitor.vocabulary import COUNTRY_NAMES, display_month, display_weekday

LANGUAGES = ("ar", "en")

COUNTRIES = COUNTRY_NAMES
LANGUAGE_NAMES = {"ar": {"ar": "العربية", "en": "الإنجليزية"},
                  "en": {"ar": "Arabic", "en": "English"}}
KINDS = {"ar": {"agency": "وكالة أنباء", "government": "جهة حكومية", "press": "صحيفة"},
         "en": {"agency": "news agency", "government": "government", "press": "newspaper"}}
DATE_METHODS = {
    "ar": {"meta": "وسم meta في الصفحة", "json-ld": "بيانات JSON-LD", "time": "عنصر <time>",
           "text": "سطر التاريخ في النص", "url": "رابط الصفحة", None: "لم يُعثر على تاريخ"},
    "en": {"meta": "a meta tag", "json-ld": "JSON-LD data", "time": "a <time> element",
           "text": "the text's dateline", "url": "the page address", None: "no date found"},
}

WORDS: dict[str, dict[str, str]] = {
    "ar": {
        "brand": "رقيب", "tagline": "رصد أخبار دول الخليج",
        "inbox": "الوارد", "search": "البحث", "rules": "القواعد", "sources": "المصادر",
        "switch": "English", "switch_title": "Switch to English",
        "inbox_title": "الأخبار المرصودة", "inbox_lead": "قصص طابقت قواعد الرصد، الأحدث أولاً. تظهر كل قصة مرة واحدة، ومعها المصادر الأخرى التي نقلتها.",
        "filters": "تصفية", "rule": "القاعدة", "source": "المصدر", "country": "الدولة",
        "language": "اللغة", "from": "من تاريخ", "to": "إلى تاريخ", "any": "الكل",
        "apply": "تطبيق", "clear": "مسح التصفية", "export": "تصدير CSV",
        "feed": "خلاصة Atom", "older": "الأقدم ←", "newest": "→ الأحدث",
        "also": "ورد أيضاً في", "story": "القصة", "copies": "نسخ", "untitled": "(بدون عنوان)",
        "no_date": "التاريخ غير معروف", "fetched": "جُلب", "published": "نُشر",
        "matched": "طابقت", "why": "سبب المطابقة",
        "empty_inbox": "لا توجد أخبار مرصودة بعد.",
        "empty_inbox_hint": "يظهر هنا كل خبر يطابق إحدى قواعد الرصد. شغّل «raqib crawl» لجلب الأخبار، أو «raqib run» ليجلبها رقيب وفق جدول كل مصدر.",
        "empty_filtered": "لا توجد أخبار تطابق هذه التصفية.",
        "empty_filtered_hint": "وسّع نطاق التاريخ أو أزل بعض عوامل التصفية.",
        "search_title": "البحث في الأرشيف",
        "search_lead": "ابحث في كل ما خزّنه رقيب بلغة قواعد الرصد نفسها: النتائج هي بالضبط ما ستلتقطه قاعدة بهذا الاستعلام.",
        "search_placeholder": "مثال: اجتماع \"الحكومة الإلكترونية\"",
        "how_title": "كيف تبحث", "write": "اكتب", "finds": "فيجد",
        "how": [("لجنة", "الكلمة بالسوابق وبدونها (اللجنة، للجنة، واللجنة)، بأي شكل للهمزة، ومع التشكيل أو التطويل"),
                ("\"مجلس التعاون\"", "العبارة بكلماتها متتالية (ومنها: لدول مجلس التعاون)"),
                ("قمة AND خليجية", "المقالات التي فيها الكلمتان معاً (والكلمات المتجاورة تعني AND)"),
                ("ورشة OR ندوة", "أيّاً منهما"),
                ("لجنة NOT الداخلية", "الأولى دون أن ترد الثانية"),
                ("اجتماع NEAR/6 الحكومة", "الكلمتان بينهما ست كلمات على الأكثر، بأي ترتيب"),
                ("اجتماع*", "الكلمات التي تبدأ بها: الاجتماعات، اجتماعها"),
                ("~ورشة", "الجذع الخفيف: ورشة، ورش، ورشتين")],
        "try": "جرّب",
        "search_button": "ابحث", "syntax": "صيغة الاستعلام",
        "syntax_help": "كلمات (تُوحَّد الهمزات والتاء المربوطة والتشكيل والسوابق)، \"عبارة\"، AND و OR و NOT والأقواس، a NEAR/5 b، كلمة* للبادئة، ~كلمة للجذع الخفيف.",
        "results": "النتائج", "newest_stored": "الأحدث تخزيناً أولاً",
        "no_results": "لا توجد مقالات مخزّنة تطابق هذا الاستعلام.",
        "no_results_hint": "جرّب كلمة أقل تحديداً، أو ~كلمة للجذع، أو كلمة* للبادئة، أو OR بين المترادفات.",
        "query_error": "تعذّر فهم الاستعلام", "at_position": "عند الموضع",
        "scanned_partly": "توقّف البحث مؤقتاً بعد فحص المقالات حتى رقم {id} حفاظاً على السرعة؛ قد توجد نتائج أقدم.",
        "continue": "تابع البحث في الأقدم", "candidates": "مرشّحة من الفهرس",
        "save_rule": "احفظ كقاعدة", "save_rule_hint": "ألصق هذا في ملف rules.yaml ثم شغّل «raqib rules test --stored» للتحقق و«raqib rules apply» لتطبيقه على الأرشيف.",
        "copy": "نسخ", "copied": "نُسخ",
        "story_title": "القصة ونسخها", "story_lead": "كل نسخة من هذه القصة لدى المصادر المختلفة، الأصل أولاً.",
        "legend_before": "في عناوين النسخ، ", "legend_word": "المظلَّل بالأخضر",
        "legend_after": " كلماتٌ ليست في عنوان الأصل.",
        "original": "الأصل", "title_differs": "عنوان مختلف", "same_title": "العنوان نفسه",
        "similarity": "التشابه",
        "article_title": "المقال", "extracted_text": "النص المستخرج",
        "date_found_by": "مصدر التاريخ", "raw_date": "كما ورد", "original_link": "فتح الصفحة الأصلية",
        "no_matches": "لم تطابق أي قاعدة هذا المقال.", "clauses": "البنود المطابقة",
        "part_of_story": "جزء من قصة لها {n} نسخ", "alone": "لا نسخ أخرى لهذه القصة",
        "sources_title": "المصادر وحالتها", "sources_lead": "آخر جلب لكل مصدر ونتيجته، والمقالات الجديدة يومياً خلال آخر 30 يوماً.",
        "last_run": "آخر جلب", "outcome": "النتيجة", "last_new": "آخر مقال جديد",
        "failures": "إخفاقات متتالية", "per_day": "مقالات يومياً (30 يوماً)",
        "never": "لم يُجلب بعد", "status_ok": "سليم", "status_failed": "فشل",
        "status_running": "قيد الجلب", "status_disabled": "معطّل",
        "status_warning": "تنبيه", "status_interrupted": "أُوقف", "status_unchanged": "لا جديد", "kind": "النوع",
        "rules_title": "قواعد الرصد", "rules_lead": "استعلام كل قاعدة، ومطابقاتها يومياً خلال آخر 30 يوماً، وأحدث ما طابقته.",
        "query": "الاستعلام", "latest_matches": "أحدث المطابقات", "no_rule_matches": "لم تطابق هذه القاعدة أي مقال بعد.",
        "matches_30d": "مطابقة خلال 30 يوماً", "disabled": "معطّلة", "languages": "اللغات",
        "try_in_search": "جرّبها في البحث", "view_inbox": "عرض في الوارد",
        "feed_url": "رابط الخلاصة", "feed_hint": "لبرنامج قراءة الخلاصات؛ يحمل رمز وصول خاصاً به.",
        "login_title": "تسجيل الدخول", "password": "كلمة المرور", "login": "دخول", "logout": "خروج",
        "login_failed": "كلمة المرور غير صحيحة.",
        "not_found": "الصفحة غير موجودة", "not_found_hint": "لم نجد ما طلبته. ربما حُذف أو أن الرابط غير مكتمل.",
        "bad_request": "طلب غير صالح", "server_error": "حدث خطأ في الخادم",
        "server_error_hint": "سُجّل الخطأ في سجل الخادم. أعد المحاولة بعد قليل.",
        "back_inbox": "العودة إلى الوارد", "times_in": "الأوقات بتوقيت {zone}",
        "stories_count": "{n} قصة", "rules_matched": "القواعد", "unknown_source": "مصدر غير معروف",
        "day": "يوم", "today": "اليوم",
        "per_day_caption": "{n} خلال 30 يوماً، يوماً بيوم",
        "failing": "فشل الجلب {n} مرات متتالية",
        "failing_warnings": "انتهى الجلب بتحذيرات {n} مرات متتالية",
        "failing_mixed": "فشل الجلب أو انتهى بتحذيرات {n} مرات متتالية", "quiet": "لا مقالات جديدة منذ {date}",
        "quiet_never": "لم يأتِ بأي مقال منذ بدء جلبه",
    },
    "en": {
        "brand": "raqib", "tagline": "Gulf news monitoring",
        "inbox": "Inbox", "search": "Search", "rules": "Rules", "sources": "Sources",
        "switch": "العربية", "switch_title": "التبديل إلى العربية",
        "inbox_title": "Flagged news", "inbox_lead": "Stories that matched a watch rule, newest first. Each story appears once, with the other sources that carried it.",
        "filters": "Filters", "rule": "Rule", "source": "Source", "country": "Country",
        "language": "Language", "from": "From", "to": "To", "any": "Any",
        "apply": "Apply", "clear": "Clear filters", "export": "Export CSV",
        "feed": "Atom feed", "older": "Older →", "newest": "← Newest",
        "also": "Also reported by", "story": "Story", "copies": "copies", "untitled": "(untitled)",
        "no_date": "date unknown", "fetched": "fetched", "published": "published",
        "matched": "matched", "why": "Why it matched",
        "empty_inbox": "Nothing flagged yet.",
        "empty_inbox_hint": "Every article that matches a watch rule shows up here. Run `raqib crawl` to fetch news now, or `raqib run` to crawl each source on its schedule.",
        "empty_filtered": "No flagged story matches these filters.",
        "empty_filtered_hint": "Widen the date range or remove a filter.",
        "search_title": "Search the archive",
        "search_lead": "Search everything raqib stored, in the watch rules' own query language: the results are exactly what a rule with this query would flag.",
        "search_placeholder": "e.g. \"Gulf Cooperation Council\" AND ~committee",
        "how_title": "How to search", "write": "Write", "finds": "to find",
        "how": [("لجنة", "the word with or without و ف ب ل ك and ال (اللجنة، للجنة), any hamza form, with tashkeel or tatweel"),
                ("\"مجلس التعاون\"", "the phrase, words in order"),
                ("summit AND Gulf", "articles with both words (adjacent words mean AND too)"),
                ("workshop OR forum", "either"),
                ("committee NOT interior", "the first, never with the second"),
                ("meeting NEAR/6 e-government", "both words at most six words apart, in either order"),
                ("meet*", "words that start so: meeting, meetings"),
                ("~ministry", "the light stem: ministry, ministries"),],
        "try": "Try",
        "search_button": "Search", "syntax": "Query syntax",
        "syntax_help": "words (hamza, taa marbuta, tashkeel and proclitics are normalised), \"a phrase\", AND OR NOT ( ), a NEAR/5 b, word* for a prefix, ~word for a light stem.",
        "results": "Results", "newest_stored": "newest stored first",
        "no_results": "No stored article matches this query.",
        "no_results_hint": "Try a less specific word, ~word for the stem, word* for a prefix, or OR between synonyms.",
        "query_error": "The query could not be read", "at_position": "at position",
        "scanned_partly": "The search paused after checking articles down to #{id} to stay fast; older ones may match too.",
        "continue": "Continue with older articles", "candidates": "candidates from the index",
        "save_rule": "Save as a rule", "save_rule_hint": "Paste this into rules.yaml, then run `raqib rules test --stored` to check it and `raqib rules apply` to apply it to the archive.",
        "copy": "Copy", "copied": "Copied",
        "story_title": "Story and its copies", "story_lead": "Every copy of this story across sources, the original first.",
        "legend_before": "In the copies' headlines, words ", "legend_word": "shaded green",
        "legend_after": " are not in the original's headline.",
        "original": "original", "title_differs": "different title", "same_title": "same title",
        "similarity": "similarity",
        "article_title": "Article", "extracted_text": "Extracted text",
        "date_found_by": "Date found in", "raw_date": "as written", "original_link": "Open the original page",
        "no_matches": "No watch rule matched this article.", "clauses": "Matched clauses",
        "part_of_story": "Part of a story with {n} copies", "alone": "No other copies of this story",
        "sources_title": "Sources and their health", "sources_lead": "Each source's last crawl and its outcome, and new articles per day over the last 30 days.",
        "last_run": "Last crawl", "outcome": "Outcome", "last_new": "Last new article",
        "failures": "Failures in a row", "per_day": "Articles per day (30 days)",
        "never": "never crawled", "status_ok": "ok", "status_failed": "failed",
        "status_running": "running", "status_disabled": "disabled",
        "status_warning": "warning", "status_interrupted": "interrupted",
        "status_unchanged": "nothing new", "kind": "Kind",
        "rules_title": "Watch rules", "rules_lead": "Each rule's query, its matches per day over the last 30 days, and its latest matches.",
        "query": "Query", "latest_matches": "Latest matches", "no_rule_matches": "This rule has not matched any article yet.",
        "matches_30d": "matches in 30 days", "disabled": "disabled", "languages": "Languages",
        "try_in_search": "Try it in search", "view_inbox": "View in inbox",
        "feed_url": "Feed URL", "feed_hint": "For a feed reader; it carries its own access token.",
        "login_title": "Sign in", "password": "Password", "login": "Sign in", "logout": "Sign out",
        "login_failed": "Wrong password.",
        "not_found": "Page not found", "not_found_hint": "We could not find what you asked for. It may have been removed, or the link is incomplete.",
        "bad_request": "Bad request", "server_error": "Server error",
        "server_error_hint": "The error was logged on the server. Try again in a moment.",
        "back_inbox": "Back to the inbox", "times_in": "Times in {zone}",
        "stories_count": "{n} stories", "rules_matched": "Rules", "unknown_source": "unknown source",
        "day": "day", "today": "today",
        "per_day_caption": "{n} in 30 days, day by day",
        "failing": "{n} crawls in a row failed",
        "failing_warnings": "{n} crawls in a row ended with warnings",
        "failing_mixed": "{n} crawls in a row failed or ended with warnings", "quiet": "no new article since {date}",
        "quiet_never": "no article at all since its first crawl",
    },
}


def short_month(month: int, language: str) -> str:
    """'نوفمبر' / 'Nov'."""
    name = display_month(month, language)
    return name if language == "ar" else name[:3]


def short_date(moment: datetime | None, zone: ZoneInfo, language: str) -> str:
    """'17 نوفمبر 2024، 10:30' / '17 Nov 2024, 10:30' in the reader's zone."""
    if moment is None:
        return WORDS[language]["no_date"]
    local = moment.astimezone(zone)
    month = short_month(local.month, language)
    comma = "،" if language == "ar" else ","
    return f"{local.day} {month} {local.year}{comma} {local:%H:%M}"


def long_date(moment: datetime | None, zone: ZoneInfo, language: str) -> str:
    """The same with the weekday: 'الأحد 17 نوفمبر 2024، 10:30'."""
    if moment is None:
        return WORDS[language]["no_date"]
    weekday = display_weekday(moment.astimezone(zone).weekday(), language)
    return f"{weekday} {short_date(moment, zone, language)}"
