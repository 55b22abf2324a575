"""Issue 14 (2): restore.yml puts back what a real run of the default estate changed. DNS and Microsoft 365
return exactly to their state before the run (TTLs, TXT strings as split); Google Workspace and Exchange
Server changes come back as exact manual steps; a second restore changes nothing; check mode writes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from helpers import DEFAULT_ESTATE, ROOT

pytestmark = pytest.mark.lab
BIN = os.path.dirname(sys.executable)
_VOLATILE = {"WhenChanged", "WhenCreated"}


def _play(lab, reports, playbook, *extra):
    env = dict(os.environ, PATH="%s:%s" % (BIN, os.environ.get("PATH", "")),
               ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"), UNROUTE_REPORT_DIR=str(reports))
    done = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", str(lab.dir / "inventory.yml"),
                           str(ROOT / "playbooks" / playbook), "-e", "unroute_fail_on_error=false"] + list(extra),
                          cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    newest = max(reports.glob("*.json"), key=lambda p: p.stat().st_mtime_ns)
    return newest, json.loads(newest.read_text())


def _dns(lab):
    """Every zone's records without the SOA (its serial counts every update, restores included), in lower case:
    names compare case-insensitively, and name compression prints a suffix in the case of its first use."""
    return {zone: sorted(line.lower() for line in lab.records(zone) if " IN SOA " not in line)
            for zone in lab.dns["zones"]}


def _clean(value):
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if k not in _VOLATILE}
    if isinstance(value, list):
        return sorted((_clean(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True, default=str))
    return value


def _exo(lab):
    tenants = lab.state()["exo"]["tenants"]
    return {name: _clean({k: t[k] for k in ("transport_rules", "outbound_connectors", "inbound_connectors",
                                            "connection_filter")}) for name, t in tenants.items()}


def _google(lab):
    return {name: sorted((p.get("name"), json.dumps(p["setting"], sort_keys=True)) for p in c["policies"])
            for name, c in lab.state()["google"]["customers"].items()}


def test_restore_returns_the_default_estate_to_its_state_before_the_run(lab_factory, tmp_path):
    lab = lab_factory(DEFAULT_ESTATE)
    dns_before, exo_before, google_before = _dns(lab), _exo(lab), _google(lab)
    record_path, run = _play(lab, tmp_path / "run", "unroute.yml")
    assert run["summary"]["changed"] >= 10
    dns_after_run, exo_after_run = _dns(lab), _exo(lab)
    assert dns_after_run != dns_before and exo_after_run != exo_before

    _p, plan = _play(lab, tmp_path / "plan", "restore.yml", "-e", "unroute_record=%s" % record_path, "--check")
    assert plan["run"]["mode"] == "restore" and plan["run"]["check_mode"] is True
    assert _dns(lab) == dns_after_run and _exo(lab) == exo_after_run, "check mode wrote something"
    planned = [f for d in plan["domains"] for f in d["findings"] if f["action"].startswith("would_")]
    assert planned

    restore_path, restored = _play(lab, tmp_path / "restore", "restore.yml", "-e", "unroute_record=%s" % record_path)
    assert _dns(lab) == dns_before
    assert _exo(lab) == exo_before
    assert _google(lab) == google_before
    done = [f for d in restored["domains"] for f in d["findings"] if f["action"] in ("added", "removed", "enabled")]
    # Check mode planned exactly what the restore then did.
    as_done = {"would_add": "added", "would_remove": "removed", "would_enable": "enabled"}
    assert sorted((f["object"], as_done[f["action"]]) for f in planned) == sorted((f["object"], f["action"]) for f in done)
    html = restore_path.with_suffix(".html").read_text()
    assert "mxHero unroute restore" in html

    # What no module restores is listed with its exact step (or why it cannot come back).
    by_domain = dict((d["domain"], d) for d in restored["domains"])
    for domain in run["domains"]:
        if domain["platform"] not in ("google", "exchange", "mta"):
            continue
        changed = [f for f in domain["findings"] if f["platform"] in ("google", "exchange", "mta")
                   and f["action"] in ("removed", "disabled", "changed")]
        steps = [f for f in by_domain[domain["domain"]]["findings"] if f["action"] in ("manual", "reported")]
        for item in changed:
            if item["kind"] == "gmail_policy":
                # Changed through the Policy API, put back through it (google_restore), not by hand.
                assert any(s["object"] == item["object"] and s["action"] == "added"
                           for s in by_domain[domain["domain"]]["findings"]), item
                continue
            assert any(s["object"] == item["object"] and (s.get("manual_steps") or s.get("why")) for s in steps), item
    connector_steps = [f["manual_steps"] for d in restored["domains"] for f in d["findings"]
                       if f["kind"] == "send_connector" and f["action"] == "manual"]
    assert connector_steps and all("SendConnector" in s for s in connector_steps)
    relay_steps = [f["manual_steps"] for d in restored["domains"] for f in d["findings"]
                   if f["platform"] == "mta" and f["action"] == "manual"]
    assert any("postconf -c " in s and "relayhost=" in s for s in relay_steps), relay_steps

    _p, again = _play(lab, tmp_path / "again", "restore.yml", "-e", "unroute_record=%s" % record_path)
    assert not [f for d in again["domains"] for f in d["findings"]
                if f["action"] in ("added", "removed", "enabled", "disabled", "changed")]
    assert _dns(lab) == dns_before


def test_restore_refuses_an_rrset_changed_since_the_run(lab_factory, tmp_path):
    import dns.query
    import dns.tsigkeyring
    import dns.update
    from unroute_lab.bind import zone_snapshot

    lab = lab_factory({"domains": [{"name": "later.test", "platform": "other", "dns": {"records": [
        "@ 3600 IN MX 10 smtp-in.mxhero.com.", "@ 3600 IN MX 20 mail.example.net."]}}]})
    record_path, _run = _play(lab, tmp_path / "run", "unroute.yml")
    d = lab.dns
    update = dns.update.UpdateMessage("later.test", keyring=dns.tsigkeyring.from_text({d["key_name"]: lab.tsig_secret}),
                                      keyalgorithm=d["key_algorithm"])
    update.add("later.test.", 3600, "MX", "10 smtp-in.mxhero.com.")  # someone put it back by hand already
    update.add("later.test.", 3600, "MX", "30 backup.example.net.")
    assert dns.query.tcp(update, d["server"], port=d["port"], timeout=5).rcode() == 0
    frozen = zone_snapshot(lab.dns, "later.test")
    _p, restored = _play(lab, tmp_path / "restore", "restore.yml", "-e", "unroute_record=%s" % record_path)
    (domain,) = restored["domains"]
    assert domain["status"] == "error"
    assert "later.test: later.test. MX: changed since the run" in domain["errors"][0]["msg"]
    assert zone_snapshot(lab.dns, "later.test") == frozen


def test_a_tampered_record_changes_nothing_anywhere(lab_factory, tmp_path):
    """Issue 26: one forged Exchange Online entry (a customer rule the run never touched, disabled on purpose)
    stops the domain before any module writes - its DNS records stay as the run left them too - and says why."""
    lab = lab_factory({"domains": [{"name": "forged.test", "platform": "microsoft365",
                                    "dns": {"records": ["@ 3600 IN MX 10 smtp-in.mxhero.com.",
                                                        "@ 3600 IN MX 0 forged-test.mail.protection.outlook.com.",
                                                        '@ 3600 IN TXT "v=spf1 include:spf.mxhero.com '
                                                        'include:spf.protection.outlook.com -all"']},
                                    "microsoft365": {
                                        "outbound_connectors": [{"Name": "mxHERO Outbound",
                                                                 "SmartHosts": ["smtp.mxhero.com"]}],
                                        "transport_rules": [{"Name": "Route through mxHERO",
                                                             "RouteMessageOutboundConnector": "mxHERO Outbound"},
                                                            {"Name": "Customer rule kept off", "State": "Disabled",
                                                             "SetSCL": 5}]}}]})
    record_path, run = _play(lab, tmp_path / "run", "unroute.yml")
    assert run["summary"]["changed"] >= 1
    dns_left, exo_left = _dns(lab), _exo(lab)
    (domain,) = run["domains"]
    domain["findings"].append({"platform": "microsoft365", "kind": "transport_rule", "object": "Customer rule kept off",
                               "evidence": ["routes through connector 'mxHERO Outbound'"], "action": "disabled",
                               "before": {"Name": "Customer rule kept off", "State": "Enabled"},
                               "after": {"State": "Disabled"}, "module": "exo_transport_rule"})
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(run))
    env = dict(os.environ, PATH="%s:%s" % (BIN, os.environ.get("PATH", "")),
               ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"), UNROUTE_REPORT_DIR=str(tmp_path / "restore"))
    done = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", str(lab.dir / "inventory.yml"),
                           str(ROOT / "playbooks" / "restore.yml"), "-e", "unroute_fail_on_error=false",
                           "-e", "unroute_record=%s" % forged], cwd=str(ROOT), env=env, capture_output=True,
                          text=True, timeout=900)
    assert _dns(lab) == dns_left and _exo(lab) == exo_left, "a tampered record changed something"
    reports = sorted((tmp_path / "restore").glob("*.json")) if (tmp_path / "restore").exists() else []
    if reports:
        # Without a MAC on the record, the modules themselves refuse it, for the one domain, and say why.
        (entry,) = json.loads(reports[-1].read_text())["domains"]
        assert entry["status"] == "error"
        assert "the run record is refused" in entry["errors"][0]["msg"], entry["errors"]
    else:
        # A record whose MAC no longer verifies is refused before any domain is touched.
        assert done.returncode != 0, done.stdout[-2000:]
