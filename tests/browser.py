"""Headless Chromium for the tests that look at a page: Debian's chromium through /usr/bin/chromedriver (selenium,
no driver download). ``browser()`` skips the test, saying why, only when chromium or its driver is missing;
``artifact(tmp_path, name)`` is where a screenshot goes: $MINITL_TEST_ARTIFACTS when set, else the test's folder."""
import os
import shutil

import pytest

CHROMEDRIVER = "/usr/bin/chromedriver"


def browser(window="1200,1400"):
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None or not os.path.exists(CHROMEDRIVER):
        pytest.skip("chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", f"--window-size={window}"):
        options.add_argument(flag)  # --no-sandbox: CI runs as root, where chromium's sandbox refuses to start
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def artifact(tmp_path, name):
    folder = os.environ.get("MINITL_TEST_ARTIFACTS") or str(tmp_path)
    os.makedirs(folder, exist_ok=True)
    return os.path.join(folder, name)
