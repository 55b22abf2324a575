"""The HTML report as a person sees it: headless Chromium (Debian's) renders it, Selenium reads what is shown."""

import shutil

import pytest

from helpers import run_module


selenium = pytest.importorskip("selenium")
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SECRET = "s3cr3t-Value-that-must-not-show"

ENTRIES = [
    {"domain": "broken.test", "platform": "other", "results": {
        "unroute_result_dns_mx": {"failed": True, "msg": "broken.test: broken.test. MX: 127.0.0.1:53 refused the update (REFUSED)",
                             "invocation": {"module_args": {"key_secret": SECRET}}}}, "errors": []},
    {"domain": "gmail.test", "platform": "google", "results": {
        "unroute_result_google_gateway": {"changed": False, "findings": [
            {"platform": "google", "kind": "outbound_gateway", "object": "Gmail outbound gateway",
             "evidence": ["host gmail-out.mxhero.com"], "action": "manual",
             "manual_steps": "Admin console > Apps > Google Workspace > Gmail > Routing > Outbound gateway: clear it"}],
            "manual_actions": [{"object": "Gmail outbound gateway",
                                "steps": "Admin console > Apps > Google Workspace > Gmail > Routing > Outbound gateway: clear it"}]}},
        "errors": []},
    {"domain": "done.test", "platform": "other", "results": {
        "unroute_result_dns_mx": {"results": [{"changed": True, "findings": [
            {"platform": "dns", "kind": "mx_record", "object": "done.test. MX 10 smtp-in.mxhero.com.",
             "evidence": ["host smtp-in.mxhero.com"], "action": "removed"}],
            "removed": [{"record": "done.test.", "type": "MX", "ttl": 3600, "value": "10 smtp-in.mxhero.com."}]}]},
        "unroute_result_dns_spf": {"changed": False, "findings": [], "cautions": ["done.test: the SPF record now authorises no sender"]},
        "unroute_result_dns_dkim": {"skipped": True}}, "errors": []},
    {"domain": "quiet.test", "platform": "microsoft365", "results": {"unroute_result_dns_mx": {"changed": False, "findings": []}},
     "errors": []},
]


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1280,1800"):
        options.add_argument(flag)
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    dest = tmp_path_factory.mktemp("report")
    result = run_module("run_report", {"domains": ENTRIES, "mode": "unroute", "dest": str(dest)})
    assert not result.get("failed"), result.get("msg")
    return result


def test_what_a_person_sees(browser, report, tmp_path):
    browser.get("file://" + report["html_path"])
    assert browser.title == "mxHero unroute run"
    cards = {c.get_attribute("data-key"): c.text.split("\n") for c in browser.find_elements(By.CSS_SELECTOR, ".card")}
    assert cards["domains"] == ["4", "domains"]
    assert cards["error"] == ["1", "errors"]
    assert cards["manual"] == ["1", "need manual action"]
    assert cards["changed"] == ["1", "changed"]
    assert cards["clean"] == ["1", "clean"]
    assert cards["removed"] == ["1", "objects removed"]
    sections = browser.find_elements(By.CSS_SELECTOR, "section.domain")
    # most serious first, so a person reads errors and manual steps before anything else
    assert [s.get_attribute("id") for s in sections] == ["broken.test", "gmail.test", "done.test", "quiet.test"]
    badge = {s.get_attribute("id"): s.find_element(By.CSS_SELECTOR, ".head .badge") for s in sections}
    assert badge["broken.test"].text == "error"
    assert badge["broken.test"].value_of_css_property("background-color") == "rgba(198, 40, 40, 1)"
    assert badge["gmail.test"].text == "manual action needed"
    assert badge["done.test"].value_of_css_property("background-color") == "rgba(46, 125, 50, 1)"
    manual = browser.find_element(By.CSS_SELECTOR, "#gmail\\.test .manual").text
    assert "Do by hand" in manual and "Gmail > Routing > Outbound gateway" in manual
    assert "REFUSED" in browser.find_element(By.CSS_SELECTOR, "#broken\\.test .error").text
    assert "authorises no sender" in browser.find_element(By.CSS_SELECTOR, "#done\\.test .warn").text
    row = browser.find_element(By.CSS_SELECTOR, "#done\\.test tbody tr").text
    assert "smtp-in.mxhero.com" in row and "removed" in row
    assert "No mxHero leftovers found." in browser.find_element(By.ID, "quiet.test").text
    body = browser.find_element(By.TAG_NAME, "body").text
    assert SECRET not in body and SECRET not in browser.page_source
    assert browser.save_screenshot(str(tmp_path / "report.png"))


def test_record_json_has_everything_but_secrets(report):
    import json
    record = json.loads(open(report["json_path"]).read())
    assert SECRET not in json.dumps(record)
    done = [d for d in record["domains"] if d["domain"] == "done.test"][0]
    assert done["removed"] == [{"record": "done.test.", "type": "MX", "ttl": 3600, "value": "10 smtp-in.mxhero.com.",
                                "module": "dns_mx"}]
    assert [m["module"] for m in done["modules"]] == ["dns_mx", "dns_spf"]  # the skipped step is not a step taken
    assert report["failed_domains"] == ["broken.test"]
