"""The HTML report as a person sees it: headless Chromium (Debian's) renders it, Selenium reads what is shown."""

import csv
import io
import shutil
import sys
from pathlib import Path

import pytest

from helpers import run_module


selenium = pytest.importorskip("selenium")
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SECRET = "s3cr3t-Value-that-must-not-show"

ENTRIES = [
    {"domain": "broken.test", "platform": "other", "dns_provider": "rfc2136", "results": {
        "unroute_result_dns_mx": {"failed": True, "msg": "broken.test: broken.test. MX: 127.0.0.1:53 refused the update (REFUSED)",
                             "invocation": {"module_args": {"key_secret": SECRET}}}}, "errors": []},
    {"domain": "gmail.test", "platform": "google", "dns_provider": "cloudflare", "results": {
        "unroute_result_google_gateway": {"changed": False, "findings": [
            {"platform": "google", "kind": "outbound_gateway", "object": "Gmail outbound gateway",
             "evidence": ["host gmail-out.mxhero.com"], "action": "manual",
             "manual_steps": "Admin console > Apps > Google Workspace > Gmail > Routing > Outbound gateway: clear it"}],
            "manual_actions": [{"object": "Gmail outbound gateway",
                                "steps": "Admin console > Apps > Google Workspace > Gmail > Routing > Outbound gateway: clear it"}]}},
        "errors": []},
    {"domain": "done.test", "platform": "other", "dns_provider": "rfc2136", "results": {
        "unroute_result_dns_mx": {"results": [{"changed": True, "findings": [
            {"platform": "dns", "kind": "mx_record", "object": "done.test. MX 10 smtp-in.mxhero.com.",
             "evidence": ["host smtp-in.mxhero.com"], "action": "removed"},
            {"platform": "dns", "kind": "mx_record", "object": "=HYPERLINK(\"http://x\")",
             "evidence": ["+cmd", "quote \" and, comma"], "action": "kept", "why": "@already gone"}],
            "verification": [
                {"server": "ns1.done.test.", "address": "127.0.0.1", "state": "current", "waited": 0.0,
                 "rrsets": ["done.test. MX"]},
                {"server": "ns2.done.test.", "address": "127.0.0.2", "state": "stale", "waited": 3.1,
                 "rrsets": ["done.test. MX"]}],
            "removed": [{"record": "done.test.", "type": "MX", "ttl": 3600, "value": "10 smtp-in.mxhero.com."}]}]},
        "unroute_result_dns_spf": {"changed": False, "findings": [], "cautions": ["done.test: the SPF record now authorises no sender"]},
        "unroute_result_dns_dkim": {"skipped": True}}, "errors": []},
    {"domain": "quiet.test", "platform": "microsoft365", "dns_provider": "route53", "results": {"unroute_result_dns_mx": {"changed": False, "findings": []}},
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
    # What each authoritative server served after the change.
    states = {r.find_element(By.CSS_SELECTOR, "code").text: r.get_attribute("data-state")
              for r in browser.find_elements(By.CSS_SELECTOR, "#done\\.test table.verification tbody tr")}
    assert states == {"ns1.done.test.": "current", "ns2.done.test.": "stale"}
    assert browser.find_element(By.ID, "shown").text == "Showing 4 of 4 domains"
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


def shown_ids(browser):
    return [s.get_attribute("id") for s in browser.find_elements(By.CSS_SELECTOR, "section.domain")]


def test_filters_and_search(browser, report):
    browser.get("file://" + report["html_path"])
    status, platform, dns = (Select(browser.find_element(By.ID, i))
                             for i in ("filter-status", "filter-platform", "filter-dns"))
    # Options come from the record, most serious status first, each with its count.
    assert [o.text for o in status.options] == ["all", "error (1)", "manual action needed (1)", "changed (1)",
                                                "clean (1)"]
    assert [o.text for o in dns.options] == ["all", "cloudflare (1)", "rfc2136 (2)", "route53 (1)"]
    dns.select_by_value("rfc2136")
    assert shown_ids(browser) == ["broken.test", "done.test"]
    assert browser.find_element(By.ID, "shown").text == "Showing 2 of 2 domains (4 in the run)"
    status.select_by_value("changed")
    assert shown_ids(browser) == ["done.test"]
    status.select_by_value("")
    dns.select_by_value("")
    platform.select_by_value("microsoft365")
    assert shown_ids(browser) == ["quiet.test"]
    platform.select_by_value("")
    search = browser.find_element(By.ID, "search")
    search.send_keys("MAIL")
    assert shown_ids(browser) == ["gmail.test"]
    search.clear()
    search.send_keys(".test")
    assert shown_ids(browser) == ["broken.test", "gmail.test", "done.test", "quiet.test"]
    # A summary card shows only its domains.
    browser.find_element(By.CSS_SELECTOR, ".card[data-key='manual']").click()
    assert shown_ids(browser) == ["gmail.test"] and status.first_selected_option.get_attribute("value") == "manual"


CAPTURE_CSV = """
window.__csv = [];
var create = URL.createObjectURL;
URL.createObjectURL = function (blob) { window.__csv.push(blob); return create.call(URL, blob); };
document.addEventListener("click", function (e) {
  if (e.target.download) { window.__download = e.target.download; e.preventDefault(); }
}, true);
"""


def exported_csv(browser):
    """Clicks the export button and reads the Blob it hands to the download, as the browser made it."""
    browser.execute_script(CAPTURE_CSV)
    browser.find_element(By.ID, "export-csv").click()
    text = browser.execute_async_script(
        "var done = arguments[0]; window.__csv[0].text().then(done);")
    kind = browser.execute_script("return window.__csv[0].type")
    return text, kind, browser.execute_script("return window.__download")


def test_findings_export_as_csv(browser, report):
    browser.get("file://" + report["html_path"])
    text, kind, name = exported_csv(browser)
    assert kind == "text/csv;charset=utf-8"
    assert name == "findings-unroute-%s.csv" % report["run_id"]
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == ["domain", "status", "platform", "dns_provider", "module", "kind", "object", "action",
                       "evidence", "why"]
    body = rows[1:]
    assert body[0] == ["gmail.test", "manual", "google", "cloudflare", "google_gateway", "outbound_gateway",
                       "Gmail outbound gateway", "manual", "host gmail-out.mxhero.com", ""]
    assert body[1][:8] == ["done.test", "changed", "other", "rfc2136", "dns_mx", "mx_record",
                           "done.test. MX 10 smtp-in.mxhero.com.", "removed"]
    # Cells a spreadsheet would run as a formula start with a quote; quotes and commas survive.
    assert body[2][6:] == ["'=HYPERLINK(\"http://x\")", "kept", "'+cmd; quote \" and, comma", "'@already gone"]
    assert len(body) == 3
    # The export follows the filters: what is shown is what is exported.
    Select(browser.find_element(By.ID, "filter-platform")).select_by_value("google")
    text, _, _ = exported_csv(browser)
    assert [r[0] for r in csv.reader(io.StringIO(text.lstrip("\ufeff")))][1:] == ["gmail.test"]


HOSTILE = "<img src=x onerror=\"window.pwned=1\">.test"
HOSTILE_OBJECT = "</script><script>window.pwned=2</script><b>bold</b>"


def test_record_text_stays_inert(browser, tmp_path):
    entries = [{"domain": HOSTILE, "platform": "<i>other</i>", "dns_provider": "</script>", "errors": [], "results": {
        "unroute_result_dns_mx": {"changed": False, "cautions": ["<svg onload=window.pwned=3>"], "findings": [
            {"platform": "dns", "kind": "<u>k</u>", "object": HOSTILE_OBJECT, "evidence": ["--><!--"],
             "action": "reported", "why": "<script>window.pwned=4</script>"}]}}}]
    result = run_module("run_report", {"domains": entries, "mode": "audit", "dest": str(tmp_path)}, check_mode=True)
    page = Path(result["html_path"]).read_text()
    assert page.count("</script>") == 2, "record text closed a script block"
    browser.get("file://" + result["html_path"])
    section = browser.find_element(By.CSS_SELECTOR, "section.domain")
    assert section.get_attribute("id") == HOSTILE
    assert section.find_element(By.TAG_NAME, "h2").text == HOSTILE
    assert section.find_element(By.CSS_SELECTOR, "tbody code").text == HOSTILE_OBJECT
    assert section.find_element(By.CSS_SELECTOR, ".warn").text == "Warning: <svg onload=window.pwned=3>"
    assert browser.find_elements(By.CSS_SELECTOR, "#domains img, #domains svg, #domains script, #domains i, "
                                                  "#domains u, #domains b") == []
    assert browser.execute_script("return window.pwned === undefined && document.scripts.length === 2")
    text, _, _ = exported_csv(browser)
    row = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))[1]
    assert row[0] == HOSTILE and row[6] == HOSTILE_OBJECT


def test_ten_thousand_domains_open_fast(browser, tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    import report_bench
    path, record = report_bench.synthetic_page(10000, tmp_path)
    # Time from navigation start to the list drawn, as the page's script notes it. On the shared 2-core machine
    # one load took 0.2 s or 3.3 s depending on what else ran, so the best of three loads is held to 3 s;
    # benchmarks/report_bench.py gives the spread.
    times = []
    for _ in range(3):
        browser.get("file://%s" % path)
        times.append(browser.execute_script("return window.unrouteRendered"))
        if times[-1] < 3000:
            break
    assert min(times) < 3000, times
    assert browser.find_element(By.CSS_SELECTOR, ".card[data-key='domains'] b").text == "10000"
    sections = browser.find_elements(By.CSS_SELECTOR, "section.domain")
    assert len(sections) == 100, "one page of domains drawn, not ten thousand"
    assert browser.find_element(By.ID, "shown").text == "Showing 100 of 10000 domains"
    # The next page comes when the end of the list scrolls into view.
    errors, manual = record["summary"]["error"], record["summary"]["manual"]
    while len(browser.find_elements(By.CSS_SELECTOR, "section.domain")) < errors + 100:
        drawn = len(browser.find_elements(By.CSS_SELECTOR, "section.domain"))
        browser.execute_script("document.getElementById('more').scrollIntoView()")
        WebDriverWait(browser, 10).until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "section.domain")) > drawn)
    statuses = browser.execute_script(
        "return Array.prototype.map.call(document.querySelectorAll('section.domain'), s => s.dataset.status)")
    # Errors and manual actions first.
    assert errors and manual > 100
    assert set(statuses[:errors]) == {"error"} and set(statuses[errors:errors + 100]) == {"manual"}
    last = record["domains"][-1]["domain"]
    browser.find_element(By.ID, "search").send_keys(last)
    assert shown_ids(browser) == [last]
    browser.find_element(By.ID, "search").clear()
    Select(browser.find_element(By.ID, "filter-dns")).select_by_value("azure")
    azure = sum(1 for d in record["domains"] if d["dns_provider"] == "azure")
    assert browser.find_element(By.ID, "shown").text == "Showing 100 of %d domains (10000 in the run)" % azure
    text, _, _ = exported_csv(browser)
    assert len(text.strip().split("\r\n")) - 1 == sum(len(d["findings"]) for d in record["domains"]
                                                       if d["dns_provider"] == "azure")
