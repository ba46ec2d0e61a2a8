"""The Designer in headless Chromium (Debian's chromium + chromium-driver, driven by Selenium).

The issue's user journey: open the user-profile example, add an endpoint with
two backends and a mapping, watch a bad url_pattern's error appear next to the
field and go when fixed, save; the saved file passes ``propylon check`` and
the gateway serves the new endpoint.  ``PROPYLON_SCREENSHOTS=DIR`` keeps the
screenshots the README shows (``tests/screenshots/``).

Without Chromium these tests skip, unless ``PROPYLON_BROWSER_TESTS=required``
(set by ``.ci/run``), where a missing browser fails them.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from app.cli import main
from tests.conftest import EXAMPLE, Designer

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
# Read at import: the autouse clean_environment fixture removes PROPYLON_* before each test.
SCREENSHOTS = os.environ.get("PROPYLON_SCREENSHOTS", "")
REQUIRED = os.environ.get("PROPYLON_BROWSER_TESTS") == "required"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        if REQUIRED:
            pytest.fail("Chromium is required: apt-get install chromium chromium-driver")
        pytest.skip("no Chromium (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # Headless as root, with Chromium's calls home switched off (the machine's network is closed).
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1400,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


def wait(driver: Any, condition: Any, timeout: float = 15) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(driver, timeout).until(condition)


def field(driver: Any, path: str) -> Any:
    from selenium.webdriver.common.by import By
    return driver.find_element(By.CSS_SELECTOR, f'[data-path="{path}"]')


def error_text(driver: Any, path: str) -> str:
    from selenium.webdriver.common.by import By
    return str(driver.find_element(By.CSS_SELECTOR, f'[data-error-for="{path}"]').text)


def type_into(driver: Any, path: str, text: str) -> None:
    element = field(driver, path)
    element.clear()
    element.send_keys(text)


def screenshot(driver: Any, name: str) -> None:
    if SCREENSHOTS:
        driver.save_screenshot(str(Path(SCREENSHOTS) / f"{name}.png"))


def test_build_an_endpoint_validate_save_and_serve(browser, designer, backend, gateway):
    from selenium.webdriver.common.by import By
    backend.json("7", {"name": "Ada", "email": "ada@example.com"})
    browser.get(designer.url + "/")
    wait(browser, lambda d: d.find_element(By.ID, "status").text == "valid")
    assert "/api/v1/user-profile/{user_id}" in browser.find_element(By.ID, "picture").text
    screenshot(browser, "designer-open")

    browser.find_element(By.ID, "add-endpoint").click()
    new = "endpoints[1]"
    type_into(browser, f"{new}.endpoint", "/v1/summary/{id}")
    type_into(browser, f"{new}.backend[0].host", backend.url)
    type_into(browser, f"{new}.backend[0].url_pattern", "/json/{idd}")
    type_into(browser, f"{new}.backend[0].mapping", '{"name": "full_name"}')
    browser.find_element(By.CSS_SELECTOR, f'.add-backend[data-for="{new}"]').click()
    type_into(browser, f"{new}.backend[1].host", backend.url)
    type_into(browser, f"{new}.backend[1].url_pattern", "/echo/{id}")
    type_into(browser, f"{new}.backend[1].group", "other")
    type_into(browser, f"{new}.backend[1].allow", "path")

    from selenium.webdriver.support.ui import Select
    Select(browser.find_element(By.CSS_SELECTOR, f'.add-namespace[data-for="{new}"]')).select_by_value(
        "qos/ratelimit/router")
    type_into(browser, f"{new}.extra_config.qos/ratelimit/router.max_rate", "50")
    limit = field(browser, "endpoints[0].extra_config.qos/ratelimit/router.max_rate")
    assert limit.get_attribute("value") == str(json.loads(EXAMPLE.read_text())["endpoints"][0]["extra_config"][
        "qos/ratelimit/router"]["max_rate"])

    url_pattern = f"{new}.backend[0].url_pattern"
    wait(browser, lambda d: "{idd}" in error_text(d, url_pattern))
    assert "invalid" in field(browser, url_pattern).get_attribute("class")
    assert browser.find_element(By.ID, "status").text == "1 error"
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", field(browser, url_pattern))
    screenshot(browser, "designer-error")

    type_into(browser, url_pattern, "/json/{id}")
    wait(browser, lambda d: error_text(d, url_pattern) == "" and d.find_element(By.ID, "status").text == "valid")
    assert "invalid" not in (field(browser, url_pattern).get_attribute("class") or "")
    browser.find_element(By.ID, "save").click()
    wait(browser, lambda d: d.find_element(By.ID, "status").text.startswith("saved "))

    assert main(["check", "-c", str(designer.path)]) == 0
    saved = json.loads(designer.path.read_text())
    assert saved["endpoints"][0] == json.loads(EXAMPLE.read_text())["endpoints"][0]
    assert saved["endpoints"][1] == {"endpoint": "/v1/summary/{id}", "backend": [
        {"url_pattern": "/json/{id}", "host": [backend.url], "mapping": {"name": "full_name"}},
        {"url_pattern": "/echo/{id}", "host": [backend.url], "group": "other", "allow": ["path"]}],
        "extra_config": {"qos/ratelimit/router": {"max_rate": 50}}}
    answer = gateway(saved).get("/v1/summary/7")
    assert answer.status_code == 200
    assert answer.json() == {"full_name": "Ada", "email": "ada@example.com", "other": {"path": "/echo/7"}}

    browser.find_element(By.ID, "try-path").send_keys("/v1/summary/7")
    browser.find_element(By.CSS_SELECTOR, "#try button[type=submit]").click()
    wait(browser, lambda d: d.find_element(By.ID, "try-result").text.startswith("HTTP 200"), timeout=60)
    assert '"full_name":"Ada"' in browser.find_element(By.ID, "try-result").text.replace(" ", "")
    screenshot(browser, "designer-try")


def test_invalid_json_in_a_field_is_flagged_and_blocks_save(browser, designer):
    from selenium.webdriver.common.by import By
    before = designer.path.read_bytes()
    browser.get(designer.url + "/")
    wait(browser, lambda d: d.find_element(By.ID, "status").text == "valid")
    type_into(browser, "endpoints[0].backend[0].mapping", '{"email": ')
    wait(browser, lambda d: "not valid JSON" in error_text(d, "endpoints[0].backend[0].mapping"))
    browser.find_element(By.ID, "save").click()
    wait(browser, lambda d: "fix the fields" in d.find_element(By.ID, "status").text)
    assert designer.path.read_bytes() == before


def test_page_loads_nothing_from_outside(browser, designer):
    browser.get(designer.url + "/")
    sources = browser.execute_script(
        "return [...document.querySelectorAll('script[src],link[href]')].map(e => e.src || e.href)")
    assert sources and all(s.startswith(designer.url) or s.startswith("data:") for s in sources), sources


def test_forms_and_raw_json_edit_one_extra_config_and_save_only_the_change(browser, tmp_path):
    from selenium.webdriver.common.by import By
    path = tmp_path / "krakend.json"
    original = json.loads(EXAMPLE.read_text())
    martian = {"modifier/martian": {"header.Modifier": {"scope": ["request"], "name": "X-A", "value": "1"}}}
    other = {"modifier/lua-endpoint": {"pre": "print('hi')"}}  # no form: stays raw JSON
    original["endpoints"][0]["extra_config"] = {**martian, **other, **original["endpoints"][0]["extra_config"]}
    path.write_text(json.dumps(original, indent=2) + "\n")
    before = path.read_text()
    served = Designer(path)
    try:
        browser.get(served.url + "/")
        wait(browser, lambda d: d.find_element(By.ID, "status").text == "valid")
        assert json.loads(field(browser, "endpoints[0].extra_config").get_attribute("value")) == other
        header = "endpoints[0].extra_config.modifier/martian.header.Modifier"
        assert field(browser, f"{header}.name").get_attribute("value") == "X-A"
        assert field(browser, f"{header}.scope").get_attribute("value") == "request"
        type_into(browser, f"{header}.value", "2")
        type_into(browser, "endpoints[0].extra_config.qos/ratelimit/router.max_rate", "60")
        browser.find_element(By.ID, "save").click()
        wait(browser, lambda d: d.find_element(By.ID, "status").text.startswith("saved "))
        # The check the last keystroke scheduled (250 ms) must not replace "saved" afterwards.
        time.sleep(0.6)
        assert browser.find_element(By.ID, "status").text.startswith("saved ")
        assert path.read_text() == before.replace('"max_rate": 50,', '"max_rate": 60,').replace(
            '"value": "1"', '"value": "2"')
    finally:
        served.server.shutdown()


def test_a_namespace_forms_other_keys_box_and_its_fields_edit_the_same_object(browser, tmp_path):
    from selenium.webdriver.common.by import By
    path = tmp_path / "krakend.json"
    validator = {"alg": "RS256", "jwk_url": "https://idp.example/jwks.json", "key_identify_strategy": "kid"}
    path.write_text(json.dumps({"version": 3, "endpoints": [{
        "endpoint": "/a", "extra_config": {"auth/validator": validator},
        "backend": [{"host": ["http://127.0.0.1:9999"], "url_pattern": "/a"}]}]}, indent=2) + "\n")
    served = Designer(path)
    try:
        browser.get(served.url + "/")
        wait(browser, lambda d: d.find_element(By.ID, "status").text == "valid")
        namespace = "endpoints[0].extra_config.auth/validator"
        assert json.loads(field(browser, f"{namespace}.*").get_attribute("value")) == {"key_identify_strategy": "kid"}
        type_into(browser, f"{namespace}.*", '{"key_identify_strategy": "x5t"}')
        type_into(browser, f"{namespace}.issuer", "https://idp.example")
        browser.find_element(By.ID, "save").click()
        wait(browser, lambda d: d.find_element(By.ID, "status").text.startswith("saved "))
        saved = json.loads(path.read_text())["endpoints"][0]["extra_config"]["auth/validator"]
        assert saved == {**validator, "key_identify_strategy": "x5t", "issuer": "https://idp.example"}
        assert list(saved)[:3] == list(validator)
    finally:
        served.server.shutdown()


def test_deleting_a_field_with_unparsed_json_does_not_leave_its_error_behind(browser, designer):
    from selenium.webdriver.common.by import By
    browser.get(designer.url + "/")
    wait(browser, lambda d: d.find_element(By.ID, "status").text == "valid")
    type_into(browser, "endpoints[0].backend[2].mapping", "{")
    wait(browser, lambda d: d.find_element(By.ID, "status").text == "1 error")
    delete = '[data-path="endpoints[0].backend[2]"] button[title="delete backend"]'
    browser.find_element(By.CSS_SELECTOR, delete).click()
    wait(browser, lambda d: d.find_element(By.ID, "status").text == "valid")
    assert error_text(browser, "endpoints[0].backend[1].mapping") == ""
    browser.find_element(By.ID, "save").click()
    wait(browser, lambda d: d.find_element(By.ID, "status").text.startswith("saved "))
    assert len(json.loads(designer.path.read_text())["endpoints"][0]["backend"]) == 2


def test_a_file_with_non_object_entries_still_opens(browser, tmp_path):
    from selenium.webdriver.common.by import By
    path = tmp_path / "krakend.json"
    path.write_text('{"version": 3, "endpoints": [null, {"endpoint": "/a", "backend": [7]}]}\n')
    served = Designer(path)
    try:
        browser.get(served.url + "/")
        wait(browser, lambda d: d.find_element(By.ID, "status").text == "2 errors")
        assert "endpoints[0] is null, not an object" in browser.find_element(By.ID, "endpoints").text
        assert "endpoints[1].backend[0] is 7, not an object" in browser.find_element(By.ID, "endpoints").text
        assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        browser.find_element(By.CSS_SELECTOR, '[data-path="endpoints[0]"] button[title="delete endpoint"]').click()
        wait(browser, lambda d: "endpoints[0].backend[0] is 7" in d.find_element(By.ID, "endpoints").text)
    finally:
        served.server.shutdown()
