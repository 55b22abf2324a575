"""Proof on every nameserver (issue 14.3): dns_mx/dns_spf with verify=authoritative against a real BIND
primary and a real BIND secondary (NOTIFY + IXFR), and the secondary_stalled fault."""

import json
import re

import dns.flags
import dns.message
import dns.query
import pytest

from helpers import dns_args, run_module
from unroute_lab.bind import zone_snapshot
from unroute_lab.secondary import is_stalled

from ansible_collections.mxhero.unroute.plugins.module_utils._dns import verify as verify_mod
from ansible_collections.mxhero.unroute.plugins.module_utils import _report

pytestmark = pytest.mark.lab


def _domain(name, secondary=True):
    return {"name": name, "dns": {"secondary": secondary, "records": [
        "@ 3600 IN MX 10 smtp-in.mxhero.com.", "@ 3600 IN MX 20 mail.%s." % name,
        '@ 3600 IN TXT "v=spf1 include:spf.mxhero.com mx -all"', "mail 3600 IN A 192.0.2.1"]}}


ESTATE = {"domains": [_domain("both.test"), _domain("stalled.test"), _domain("audit.test"),
                      _domain("single.test", secondary=False)]}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    import yaml
    from unroute_lab import cli as lab_cli
    from unroute_lab.manifest import Lab
    directory = tmp_path_factory.mktemp("verify-lab")
    path = directory / "estate.yml"
    path.write_text(yaml.safe_dump(ESTATE))
    lab_cli.up(str(path), str(directory / "run"), quiet=True)
    yield Lab(directory / "run")
    lab_cli.down(str(directory / "run"))


def served(lab, address, zone, rdtype):
    query = dns.message.make_query(zone, rdtype)
    query.flags &= ~dns.flags.RD
    answer = dns.query.tcp(query, address, port=lab.dns["port"], timeout=2)
    return sorted(r.to_text() for rrset in answer.answer for r in rrset)


def by_server(result):
    return {(v["server"], v["address"]): v["state"] for v in result["verification"]}


def test_change_is_seen_on_primary_and_secondary(lab):
    zone = "both.test"
    result = run_module("dns_mx", dns_args(lab, zone, verify="authoritative", verify_timeout=15))
    assert not result.get("failed"), result.get("msg")
    assert result["changed"]
    assert by_server(result) == {("ns1.both.test.", "127.0.0.1"): "current",
                                 ("ns2.both.test.", "127.0.0.2"): "current"}
    assert all(v["rrsets"] == ["both.test. MX"] and v["waited"] <= 15 for v in result["verification"])
    assert result["warnings"] == []
    # The secondary really serves it: asked directly, not through the module.
    assert served(lab, "127.0.0.2", zone, "MX") == ["20 mail.both.test."]
    spf = run_module("dns_spf", dns_args(lab, zone, verify="authoritative", verify_timeout=15))
    assert spf["changed"] and set(by_server(spf).values()) == {"current"} and len(spf["verification"]) == 2
    assert served(lab, "127.0.0.2", zone, "TXT") == ['"v=spf1 mx -all"']
    # A second run changes nothing, so it has nothing to prove.
    again = run_module("dns_mx", dns_args(lab, zone, verify="authoritative", verify_timeout=15))
    assert not again["changed"] and again["verification"] == []


def test_stalled_secondary_is_a_named_warning_not_a_failure(lab):
    zone = "stalled.test"
    lab.fault("dns", kind="secondary_stalled")
    try:
        assert is_stalled(lab.dns["secondary"])
        result = run_module("dns_mx", dns_args(lab, zone, verify="authoritative", verify_timeout=3))
        assert not result.get("failed"), result.get("msg")
        assert result["changed"]
        assert by_server(result) == {("ns1.stalled.test.", "127.0.0.1"): "current",
                                     ("ns2.stalled.test.", "127.0.0.2"): "stale"}
        stale = [v for v in result["verification"] if v["state"] == "stale"][0]
        assert stale["waited"] >= 3
        assert len(result["warnings"]) == 1
        assert "ns2.stalled.test. (127.0.0.2)" in result["warnings"][0]
        assert "stalled.test. MX" in result["warnings"][0]
        assert result["cautions"] == result["warnings"]
        # The primary has the change; the secondary still serves the old RRset.
        assert "10 smtp-in.mxhero.com." in served(lab, "127.0.0.2", zone, "MX")
        assert served(lab, "127.0.0.1", zone, "MX") == ["20 mail.stalled.test."]
    finally:
        lab.clear_faults("dns")
    # Once transfers resume, the secondary catches up with what the run wrote.
    again = run_module("dns_spf", dns_args(lab, zone, verify="authoritative", verify_timeout=15))
    assert set(by_server(again).values()) == {"current"}, again["verification"]
    assert served(lab, "127.0.0.2", zone, "MX") == ["20 mail.stalled.test."]
    assert not run_module("dns_mx", dns_args(lab, zone, verify="authoritative"))["changed"]


def test_check_mode_and_verify_none_ask_nothing(lab, monkeypatch):
    zone = "audit.test"
    asked = []
    monkeypatch.setattr(verify_mod, "verify", lambda *a, **k: asked.append(a) or ([], []))
    before = zone_snapshot(lab.dns, zone)
    audit = run_module("dns_mx", dns_args(lab, zone, verify="authoritative", verify_timeout=5), check_mode=True)
    assert audit["changed"] and audit["verification"] == [] and asked == []
    assert zone_snapshot(lab.dns, zone) == before
    # provider manual writes nothing (a person does): nothing to prove yet.
    manual = run_module("dns_mx", dns_args(lab, zone, verify="authoritative", provider="manual"))
    assert [f["action"] for f in manual["findings"]] == ["manual"]
    assert manual["verification"] == [] and asked == []
    assert zone_snapshot(lab.dns, zone) == before
    plain = run_module("dns_mx", dns_args(lab, zone, verify="none"))
    assert plain["changed"] and plain["verification"] == [] and asked == []


def test_single_server_zone_and_negative_timeout(lab):
    zone = "single.test"
    bad = run_module("dns_mx", dns_args(lab, zone, verify="authoritative", verify_timeout=-1))
    assert bad["failed"] and bad["msg"].startswith("single.test: option verify_timeout: ")
    assert "20 mail.single.test." in served(lab, "127.0.0.1", zone, "MX") and \
        "10 smtp-in.mxhero.com." in served(lab, "127.0.0.1", zone, "MX"), "a refused option changed the zone"
    result = run_module("dns_mx", dns_args(lab, zone, verify="authoritative", verify_timeout=5))
    assert by_server(result) == {("ns1.single.test.", "127.0.0.1"): "current"}


def test_report_shows_each_server():
    entry = {"domain": "stalled.test", "platform": "other", "errors": [], "results": {
        "unroute_result_dns_mx": {"changed": True, "findings": [], "verification": [
            {"server": "ns1.stalled.test.", "address": "127.0.0.1", "state": "current", "waited": 0.0,
             "rrsets": ["stalled.test. MX"]},
            {"server": "ns2.stalled.test.", "address": "127.0.0.2", "state": "stale", "waited": 3.1,
             "rrsets": ["stalled.test. MX"]}]}}}
    record = _report.build_record([entry], "unroute", "t0", "t1", False)
    rows = record["domains"][0]["verification"]
    assert [(r["server"], r["state"], r["module"]) for r in rows] == [
        ("ns1.stalled.test.", "current", "dns_mx"), ("ns2.stalled.test.", "stale", "dns_mx")]
    page = _report.to_html(record)
    # The page draws its tables in the browser from the data it embeds (tests/integration/test_report_html.py
    # reads the drawn table); here, what it embeds for this domain.
    data = json.loads(re.search(r"<script type='application/json' id='report-data'>(.*?)</script>", page).group(1))
    assert data["domains"][0]["v"] == [["ns1.stalled.test.", "127.0.0.1", "current", "", "0.0", "stalled.test. MX"],
                                       ["ns2.stalled.test.", "127.0.0.2", "stale", "", "3.1", "stalled.test. MX"]]


def test_cli_switches_the_secondary_fault(lab, capsys):
    from unroute_lab import cli as lab_cli
    directory = str(lab.dir)
    assert lab_cli.main(["fault", "--dir", directory, "dns", "secondary_stalled"]) == 0
    assert '"active": true' in capsys.readouterr().out
    assert lab_cli.status(directory)["faults"] == {"dns": {"secondary_stalled": True}}
    assert lab_cli.status(directory)["running"]["named_secondary"] is True
    assert lab_cli.main(["fault", "--dir", directory, "--service", "dns", "--clear"]) == 0
    assert lab_cli.status(directory)["faults"] == {"dns": {"secondary_stalled": False}}
    assert lab_cli.main(["fault", "--dir", directory, "dns", "lose_everything"]) == 2
    assert "secondary_stalled" in capsys.readouterr().err


def test_a_secondary_needs_the_zone_in_bind():
    from unroute_lab.estate import EstateError, parse
    with pytest.raises(EstateError, match=r"hosted.test\): dns.secondary needs the zone in the lab's BIND"):
        parse({"domains": [{"name": "hosted.test", "dns": {"provider": "route53", "secondary": True}}]})
