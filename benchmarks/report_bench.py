"""The HTML report at estate scale: how big the page of a 10,000-domain audit is and how fast Chromium shows it.

    .venv/bin/python benchmarks/report_bench.py --domains 10000 --runs 5

Builds a synthetic run record (a mix of errors, manual actions, planned changes, reported leftovers and clean
domains over three platforms and seven DNS providers), renders it with module_utils/_report.py, opens it in
Debian's headless Chromium through chromedriver with the flags of tests/integration/test_report_html.py, and
reads two times per run:

- ``rendered``: performance.now() when the page's script has drawn the first page of the domain list (time
  from navigation start, inside the browser);
- ``wall``: from WebDriver's get() until the list is in the DOM, as seen from Python (includes WebDriver).

Each run opens a fresh tab on the same browser, so the first run also pays Chromium's cold start.
"""

import argparse
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / ".collections"), str(ROOT / "lab")]

from ansible_collections.mxhero.unroute.plugins.module_utils import _report  # noqa: E402

PLATFORMS = ("google", "microsoft365", "other")
DNS_PROVIDERS = ("rfc2136", "route53", "cloudflare", "azure", "google_cloud_dns", "powerdns", "manual")
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1280,1800")


def _digest(text):
    return hashlib.sha256(text.encode()).hexdigest()


def synthetic_entries(count):
    """``count`` domain entries as the role hands them to run_report, in a fixed mix of outcomes."""
    entries = []
    for i in range(count):
        name = "customer%05d.example" % i
        kind = i % 50
        mx = {"platform": "dns", "kind": "mx_record", "object": "%s. MX 10 smtp-in.mxhero.com." % name,
              "evidence": ["host smtp-in.mxhero.com"], "action": "would_remove",
              "before": {"record": name + ".", "type": "MX", "ttl": 3600, "value": "10 smtp-in.mxhero.com."}}
        spf = {"platform": "dns", "kind": "spf_include", "object": "%s. TXT v=spf1" % name,
               "evidence": ["include:spf.mxhero.com"], "action": "would_change"}
        results = {"unroute_result_dns_mx": {"changed": True, "findings": [mx], "plan_digest": _digest(name + "mx"),
                                             "plan_state": {"rrsets": [mx["before"]]},
                                             "removed": [mx["before"]]},
                   "unroute_result_dns_spf": {"changed": True, "findings": [spf], "plan_digest": _digest(name + "spf"),
                                              "plan_state": {}}}
        if kind == 0:
            results["unroute_result_dns_spf"] = {"failed": True, "msg": "%s: %s. TXT: ns1.%s:53 refused the update "
                                                 "(REFUSED); check the TSIG key" % (name, name, name)}
        elif kind < 4:
            results["unroute_result_google_gateway"] = {"changed": False, "findings": [
                {"platform": "google", "kind": "outbound_gateway", "object": "Gmail outbound gateway",
                 "evidence": ["host gmail-out.mxhero.com"], "action": "manual",
                 "manual_steps": "Admin console > Apps > Google Workspace > Gmail > Routing > Outbound gateway: "
                                 "clear it"}]}
        elif kind < 30:
            pass
        elif kind < 35:
            results = {"unroute_result_dns_dkim": {"changed": False, "findings": [
                {"platform": "dns", "kind": "dkim_cname", "object": "mxh._domainkey.%s. CNAME" % name,
                 "evidence": ["target dkim.mxhero.com"], "action": "reported"}],
                "cautions": ["%s: the DKIM selector mxh is still published" % name]}}
        else:
            results = {"unroute_result_dns_mx": {"changed": False, "findings": []}}
        entries.append({"domain": name, "platform": PLATFORMS[i % 3], "dns_provider": DNS_PROVIDERS[i % 7],
                        "results": results, "errors": []})
    return entries


def synthetic_page(count, dest):
    """Writes the report page of a synthetic ``count``-domain audit to ``dest``; returns (path, record)."""
    record = _report.build_record(synthetic_entries(count), "audit", "2026-12-07T06:00:00Z", "2026-12-07T07:00:00Z",
                                  True, extra={"id": "bench%05d" % count})
    path = Path(dest) / ("audit-bench-%d.html" % count)
    path.write_text(_report.to_html(record), encoding="utf-8")
    return path, record


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    for flag in FLAGS:
        options.add_argument(flag)
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    return webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options)


def open_page(driver, path, timeout=60):
    """Loads ``path``; returns (ms to the list drawn per performance.now(), wall seconds seen from Python)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    driver.switch_to.new_window("tab")
    start = time.perf_counter()
    driver.get("file://%s" % path)
    WebDriverWait(driver, timeout).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-rendered"))
    wall = time.perf_counter() - start
    return driver.execute_script("return window.unrouteTimes"), wall


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domains", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--html", help="open this report (a real run's, e.g. from estate_bench.py --keep-report) "
                                       "instead of a synthetic one")
    parser.add_argument("--limit-ms", type=float, default=3000,
                        help="exit 1 when the median time to the list drawn is above this (issue 21: 3 s)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        if args.html:
            path = Path(args.html).resolve()
            page = path.read_text(encoding="utf-8")
            beside = path.with_suffix(".json")
            record = json.loads(beside.read_text()) if beside.exists() else {"summary": {"findings": None}}
            args.domains = record["summary"].get("domains", args.domains)
            built = rendered = 0.0
            json_size = beside.stat().st_size if beside.exists() else 0
        else:
            start = time.perf_counter()
            record = _report.build_record(synthetic_entries(args.domains), "audit", "s", "f", True,
                                          extra={"id": "b"})
            built = time.perf_counter() - start
            start = time.perf_counter()
            page = _report.to_html(record)
            rendered = time.perf_counter() - start
            path = Path(tmp) / "report.html"
            path.write_text(page, encoding="utf-8")
            json_size = len(_report.to_json(record).encode())
        driver = browser()
        try:
            runs = [open_page(driver, path) for _ in range(args.runs)]
        finally:
            driver.quit()
    load = [r[0]["rendered"] for r in runs]
    script = [r[0]["script"] for r in runs]
    own = [r[0]["rendered"] - r[0]["script"] for r in runs]
    wall = [r[1] for r in runs]
    print(json.dumps({
        "domains": args.domains, "findings": record["summary"].get("findings"),
        "html_bytes": len(page.encode()), "json_record_bytes": json_size,
        "build_record_s": round(built, 2), "to_html_s": round(rendered, 2),
        "rendered_ms": [round(x) for x in load], "rendered_ms_median": round(statistics.median(load)),
        "html_parsed_ms": [round(x) for x in script], "script_ms": [round(x) for x in own],
        "wall_s": [round(x, 2) for x in wall], "wall_s_median": round(statistics.median(wall), 2),
        "cpus": os.cpu_count(), "loadavg": [round(x, 2) for x in os.getloadavg()]}, indent=2))
    return 0 if statistics.median(load) <= args.limit_ms else 1


if __name__ == "__main__":
    sys.exit(main())
