"""The web view in a real browser (Debian's Chromium through Selenium): inbox, a rule filter,
an Arabic search in another spelling, a story; right to left, and no console error.

Screenshots of each step are written to $RAQIB_SCREENSHOTS (default: the test's temp dir).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.web import create_app
from storage.repository import Repository
from tests import browser
from tests.test_web import write_web_config
from tests.web_sample import seed

pytestmark = pytest.mark.skipif(browser.missing() is not None,
                                reason=f"no browser: {browser.missing()}")


@pytest.fixture
def served(tmp_path, monkeypatch):
    monkeypatch.delenv("RAQIB_TEST_WEB_PASSWORD", raising=False)
    url = f"sqlite:///{tmp_path}/raqib.db"
    config = load_config(write_web_config(tmp_path / "config", url, page_size=25))
    repository = Repository(url)
    sample = seed(repository, config)
    with browser.serve(create_app(config, repository)) as base:
        yield base, sample
    repository.close()


def _errors(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def _direction(driver) -> str:
    return driver.execute_script("return getComputedStyle(document.body).direction")


def test_inbox_filter_search_and_story_in_chromium(served, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    base, sample = served
    shots = Path(os.environ.get("RAQIB_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with browser.chromium() as driver:
        driver.get(base + "/")
        assert _direction(driver) == "rtl"
        assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ar"
        assert len(driver.find_elements(By.CSS_SELECTOR, "li.story")) >= 10
        # An English item reads left to right inside the Arabic page, an Arabic one right to left.
        english = driver.find_element(By.CSS_SELECTOR, 'li.story h2[lang="en"]')
        arabic = driver.find_element(By.CSS_SELECTOR,
                                     f'#story-{sample.ids["ar-ministerial-riyadh"]} h2')
        direction = "return getComputedStyle(arguments[0]).direction"
        assert driver.execute_script(direction, english) == "ltr"
        assert driver.execute_script(direction, arabic) == "rtl"
        driver.save_screenshot(str(shots / "browser-1-inbox.png"))

        # Filter by a rule with the form: the state goes into the URL.
        Select(driver.find_element(By.NAME, "rule")).select_by_value("gcc-egov-authorities")
        driver.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
        WebDriverWait(driver, 20).until(lambda d: "rule=gcc-egov-authorities" in d.current_url)
        stories = driver.find_elements(By.CSS_SELECTOR, "li.story")
        assert stories
        for story in stories:
            assert story.find_elements(By.CSS_SELECTOR, "a.badge-on")
        driver.save_screenshot(str(shots / "browser-2-filtered.png"))

        # Search with plain alif and ه where the article writes "الإلكترونية" and "اللجنة".
        driver.find_element(By.LINK_TEXT, "البحث").click()
        box = WebDriverWait(driver, 20).until(lambda d: d.find_element(By.NAME, "q"))
        box.send_keys('"اللجنه الوزاريه" AND الالكترونيه AND 12')
        box.submit()
        WebDriverWait(driver, 20).until(lambda d: "/search?q=" in d.current_url)
        article_id = sample.ids["ar-ministerial-riyadh"]
        found = driver.find_elements(By.CSS_SELECTOR, f'a[href="/article/{article_id}"]')
        assert found, "the article written with hamza and taa marbuta was not found"
        assert driver.find_elements(By.CSS_SELECTOR, "li.story mark")
        assert _direction(driver) == "rtl"
        driver.save_screenshot(str(shots / "browser-3-search.png"))

        # Open a story from the inbox.
        driver.get(base + "/")
        carried = [story for story in driver.find_elements(By.CSS_SELECTOR, "li.story")
                   if story.find_elements(By.CSS_SELECTOR, ".also")]
        assert carried, "no story carried by several sources on the first page"
        key = int(carried[0].get_attribute("id").removeprefix("story-"))
        carried[0].find_element(By.CSS_SELECTOR, 'a[href^="/story/"]').click()
        WebDriverWait(driver, 20).until(lambda d: d.current_url.endswith(f"/story/{key}"))
        copies = driver.find_elements(By.CSS_SELECTOR, "li.copy")
        expected = next(ids for ids in sample.stories.values() if ids[0] == key)
        assert len(copies) == len(expected) > 1
        assert _direction(driver) == "rtl"
        driver.save_screenshot(str(shots / "browser-4-story.png"))
        assert _errors(driver) == []
    print("screenshots:", *sorted(str(p) for p in shots.glob("browser-*.png")))
