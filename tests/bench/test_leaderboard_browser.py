"""The HTML leaderboard in a real browser: headless Chromium (Debian's ``chromium`` and
``chromium-driver``, installed by .ci/run) through selenium; skipped where either is absent."""

from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner
from tasklight.cli import cli

from tests.bench.conftest import make_record, write

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
DRIVER = shutil.which("chromedriver")


@pytest.fixture
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (pip install -e '.[dev]')")
    if CHROMIUM is None or DRIVER is None:
        pytest.skip("needs a headless browser: apt-get install chromium chromium-driver (Debian), as .ci/run does")
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)  # no network: both paths are given
    try:
        yield driver
    finally:
        driver.quit()


def test_clicking_a_column_header_sorts_the_rows(tmp_path, browser):
    from selenium.webdriver.common.by import By

    for name, value in (("alpha", 20.0), ("beta", 35.0), ("gamma", 27.0), ("delta", 31.5)):
        write(tmp_path / "r" / f"{name}.json", make_record(value, entry=name, fingerprint=name))
    page = tmp_path / "leaderboard.html"
    result = CliRunner().invoke(cli, ["leaderboard", str(tmp_path / "r"), "--format", "html", "--out", str(page)])
    assert result.exit_code == 0, result.output

    browser.get(page.as_uri())
    table = browser.find_element(By.CSS_SELECTOR, "table.sortable")
    headers = {th.text.strip(): th for th in table.find_elements(By.CSS_SELECTOR, "thead th")}

    def entries() -> list[str]:
        return [tr.find_elements(By.TAG_NAME, "td")[1].text for tr in table.find_elements(By.CSS_SELECTOR, "tbody tr")]

    assert entries() == ["beta", "delta", "gamma", "alpha"]  # ranked: BLEU, higher is better
    headers["bleu ↑"].click()
    assert entries() == ["alpha", "gamma", "delta", "beta"]  # ascending
    assert headers["bleu ↑"].get_attribute("aria-sort") == "ascending"
    headers["bleu ↑"].click()
    assert entries() == ["beta", "delta", "gamma", "alpha"]  # descending
    headers["entry"].click()
    assert entries() == ["alpha", "beta", "delta", "gamma"]
    assert headers["bleu ↑"].get_attribute("aria-sort") is None
