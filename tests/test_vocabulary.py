"""Month, weekday and agency names, spelled once (monitor.vocabulary) and read alike everywhere."""

from crawler import datetext, neardup
from monitor.arabic import normalize
from monitor.vocabulary import (
    HIJRI_MONTHS,
    MONTHS,
    NEWS_AGENCIES,
    WEEKDAYS,
    display_month,
    display_weekday,
)


def test_digests_display_names_in_arabic_and_english() -> None:
    assert [display_month(m, "ar") for m in (1, 4, 8, 10)] == ["يناير", "أبريل", "أغسطس", "أكتوبر"]
    assert [display_month(m, "en") for m in (1, 5, 12)] == ["January", "May", "December"]
    assert [display_weekday(d, "ar") for d in (0, 2, 4, 6)] == [
        "الاثنين", "الأربعاء", "الجمعة", "الأحد"]
    assert display_weekday(1, "en") == "Tuesday"


def test_date_parsing_and_near_duplicates_read_the_same_names() -> None:
    for number, names in MONTHS.items():
        for name in names:
            assert datetext.GREGORIAN_MONTHS[normalize(name)] == number
            if " " not in name:
                assert neardup._MONTHS[normalize(name)] == f"m{number}"
    assert all(datetext.HIJRI_MONTHS[normalize(name)] == number
               for number, names in HIJRI_MONTHS.items() for name in names)
    assert all(datetext.WEEKDAYS[normalize(name)] == day
               for day, names in WEEKDAYS.items() for name in names)
    assert {normalize(name) for names in NEWS_AGENCIES.values() for name in names} == (
        neardup._AGENCIES)
    # Levantine and Egyptian spellings, with and without hamza, as agencies write them.
    assert datetext.GREGORIAN_MONTHS[normalize("إبريل")] == datetext.GREGORIAN_MONTHS["ابريل"] == 4
    assert datetext.HIJRI_MONTHS[normalize("جمادى الآخرة")] == 6
