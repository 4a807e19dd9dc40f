"""The HTML trace page in a real headless Chromium (Debian's chromium + chromium-driver).

`make test` installs the browser (its `browser` step). Where it is missing this test
fails in CI (CI=true) with a message that says so, and skips elsewhere. A screenshot
of the hotplug S3 counterexample is saved under artifacts/browser/.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT

from mhpcheck.checker.checker import check as engine_check
from mhpcheck.cli.viewer import tell
from mhpcheck.cli.viewer.html import render_html
from mhpcheck.registry import build_system

ARTIFACTS = ROOT / "artifacts" / "browser"


def _missing(what: str) -> None:
    message = (f"{what}: the HTML viewer's browser test needs Debian's chromium and "
               "chromium-driver (`make browser` installs them: apt-get install chromium "
               "chromium-driver) and the selenium package (pip install -e '.[dev]')")
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"cannot run the browser test in CI: {message}", pytrace=False)
    pytest.skip(message)


def _find(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name) or (name if os.path.isfile(name) else None)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _missing("selenium is not installed")
    chromium = _find("chromium", "chromium-browser", "/usr/lib/chromium/chromium")
    chromedriver = _find("chromedriver", "/usr/lib/chromium/chromedriver")
    if chromium is None or chromedriver is None:
        _missing("chromium or chromedriver is not installed")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,1000", "--disable-extensions"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        browser = webdriver.Chrome(service=Service(chromedriver), options=options)
    except Exception as err:  # a browser that does not start is a missing browser
        _missing(f"chromium did not start ({type(err).__name__}: {err})")
    browser.set_page_load_timeout(30)
    yield browser
    browser.quit()


def page(tmp_path: Path, name: str, model: str, prop: str, params: dict[str, Any],
         knobs: dict[str, Any], preset: str | None = None) -> str:
    ts = build_system(model, params, knobs, preset)
    result = engine_check(ts, ts.property(prop))
    assert result.trace is not None
    path = tmp_path / f"{name}.html"
    path.write_text(render_html(tell(ts, result.trace)), encoding="utf-8")
    return path.resolve().as_uri()


def problems(browser: Any) -> list[str]:
    """Console errors and warnings since the last call."""
    return [e["message"] for e in browser.get_log("browser")
            if e.get("level") in ("SEVERE", "WARNING")]


def text(browser: Any, element_id: str) -> str:
    from selenium.webdriver.common.by import By
    return str(browser.find_element(By.ID, element_id).text)


def key(browser: Any, name: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    browser.find_element(By.TAG_NAME, "body").send_keys(getattr(Keys, name))


def step(browser: Any) -> str:
    from selenium.webdriver.common.by import By
    return str(browser.find_element(By.TAG_NAME, "body").get_attribute("data-step"))


def test_arrow_keys_move_between_steps_and_the_diff_follows(driver: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    driver.get(page(tmp_path, "peterson", "peterson", "mutex", {"n": 3}, {"broken": True}))
    assert problems(driver) == []
    assert driver.execute_script(
        "return performance.getEntriesByType('resource').length") == 0  # nothing fetched
    assert step(driver) == "0"
    assert "mutual-exclusion fails in state 12" in text(driver, "verdict")
    first = text(driver, "diff")
    key(driver, "ARROW_RIGHT")
    assert step(driver) == "1"
    assert text(driver, "diff") != first
    assert "proc 0" in text(driver, "diff") and "textbook: enter level 1" in text(driver, "cites")
    key(driver, "ARROW_RIGHT")
    key(driver, "ARROW_LEFT")
    assert step(driver) == "1"
    key(driver, "END")
    assert step(driver) == "12" and text(driver, "position") == "step 12 of 12"
    driver.find_element(By.ID, "first").click()
    assert step(driver) == "0"
    driver.find_element(By.CSS_SELECTOR, '#steps li[data-step="5"]').click()
    assert step(driver) == "5" and "victim(i=1)" in text(driver, "step-label")
    assert driver.current_url.endswith("#step-5")
    driver.refresh()
    assert step(driver) == "5"  # the fragment opens the page at that step
    assert problems(driver) == []


def test_the_hotplug_counterexample_in_the_browser(driver: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    knobs = {"population": "V|f", "stray": "transient", "allocator": True, "signals": True}
    driver.get(page(tmp_path, "hotplug-s3", "hotplug", "S3", {}, knobs, "legacy"))
    assert problems(driver) == []
    assert "unplugged-never-allocated fails" in text(driver, "verdict")
    cells = driver.find_elements(By.CSS_SELECTOR, "#map td.cell")
    assert [c.text for c in cells] == ["o", "F"]
    for _ in range(6):
        key(driver, "ARROW_RIGHT")
    assert "folio_put_stray" in text(driver, "step-label")
    assert "Offline" in text(driver, "diff") and "Buddy" in text(driver, "diff")
    freed = driver.find_element(By.CSS_SELECTOR, "#map td.cell")
    assert freed.text == "i" and "col-danger" in (freed.get_attribute("class") or "")
    key(driver, "END")
    cell = driver.find_element(By.CSS_SELECTOR, "#map td.cell")
    assert cell.text == "a" and "changed" in (cell.get_attribute("class") or "")
    assert "col-danger" in (cell.get_attribute("class") or "")
    command = text(driver, "command")
    assert command.startswith("check-model check hotplug ")
    assert "-p unplugged-never-allocated" in command
    assert "--set=population=V|f" in command or "'--set=population=V|f'" in command
    from mhpcheck import __version__
    assert text(driver, "version") == __version__
    assert "mm/page_alloc.c rmqueue" in text(driver, "cites")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "hotplug-s3-legacy.png"
    driver.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    assert problems(driver) == []
