"""Issue 14 (1): apply only the reviewed audit. audit.yml, then unroute.yml -e unroute_plan=<audit>: a
domain changes only while its fresh plan is the audit's; drift (a value added to a touched RRset, a
renamed rule) gives that domain `drifted` and changes nothing there; domains absent from the audit are
left alone; the others go on."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import dns.query
import dns.tsigkeyring
import dns.update
import pytest

from helpers import ROOT
from microsoft365_fixtures import by_name, exo_args, tenant, tenant_state
from unroute_lab.bind import zone_snapshot

from ansible_collections.mxhero.unroute.plugins.module_utils._exo.client import ExoClient

pytestmark = pytest.mark.lab
BIN = os.path.dirname(sys.executable)

MX_OUT = {"Name": "mxHERO Outbound", "SmartHosts": ["smtp.mxhero.com"], "IsTransportRuleScoped": True,
          "RecipientDomains": ["*"]}
ROUTE = {"Name": "Route through mxHERO", "RouteMessageOutboundConnector": "mxHERO Outbound"}


def _dns_domain(name):
    return {"name": name, "platform": "other", "dns": {"records": [
        "@ 3600 IN MX 10 smtp-in.mxhero.com.", "@ 3600 IN MX 20 mail.%s." % name, "mail 3600 IN A 192.0.2.10",
        '@ 3600 IN TXT "v=spf1 mx include:spf.mxhero.com ~all"']}}


ESTATE = {"domains": [_dns_domain("keep.test"), _dns_domain("drift.test"), _dns_domain("late.test"),
                      dict(tenant("m365drift.test", outbound_connectors=[MX_OUT], transport_rules=[ROUTE]),
                           dns={"records": ["@ 3600 IN MX 0 m365drift-test.mail.protection.outlook.com."]})]}


def _play(lab, tmp_path, playbook, *extra):
    env = dict(os.environ, PATH="%s:%s" % (BIN, os.environ.get("PATH", "")),
               ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"), UNROUTE_REPORT_DIR=str(tmp_path / "reports"))
    done = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", str(lab.dir / "inventory.yml"),
                           str(ROOT / "playbooks" / playbook), "-e", "unroute_fail_on_error=false"] + list(extra),
                          cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    kind = "audit" if playbook == "audit.yml" else "unroute"
    newest = sorted((tmp_path / "reports").glob("%s-*.json" % kind))[-1]
    return newest, json.loads(newest.read_text())


def _by_domain(record):
    return dict((d["domain"], d) for d in record["domains"])


def _add_mx(lab, zone, value):
    d = lab.dns
    update = dns.update.UpdateMessage(zone, keyring=dns.tsigkeyring.from_text({d["key_name"]: lab.tsig_secret}),
                                      keyalgorithm=d["key_algorithm"])
    update.add(zone + ".", 3600, "MX", value)
    assert dns.query.tcp(update, d["server"], port=d["port"], timeout=5).rcode() == 0


def _rename_rule(lab, domain, old, new):
    args = exo_args(lab, domain)
    client = ExoClient(args["tenant_id"], args["client_id"], certificate_path=args["certificate_path"],
                       authority_host=args["authority_host"], api_endpoint=args["api_endpoint"],
                       ca_path=args["ca_path"])
    client.invoke("Set-TransportRule", {"Identity": old, "Name": new}, write=True)


def test_apply_only_the_reviewed_audit(lab_factory, tmp_path):
    lab = lab_factory(ESTATE)
    audit_path, audit = _play(lab, tmp_path, "audit.yml", "-e", "unroute_target=keep.test,drift.test,m365drift.test")
    planned = _by_domain(audit)
    assert sorted(planned) == ["drift.test", "keep.test", "m365drift.test"]
    assert all(len(planned[d]["plan_digest"]) == 64 for d in planned)
    assert planned["keep.test"]["plan_digest"] != planned["drift.test"]["plan_digest"]
    html = audit_path.with_suffix(".html").read_text()
    # The page draws its list from the embedded data (module_utils/_report_html.py): a domain's digest is "g".
    assert '"g":"%s"' % planned["keep.test"]["plan_digest"][:12] in html

    # Between review and apply: someone adds an MX next to the mxHero one, and renames the routing rule.
    _add_mx(lab, "drift.test", "30 backup.example.net.")
    _rename_rule(lab, "m365drift.test", ROUTE["Name"], "Route via gateway")
    frozen = {z: zone_snapshot(lab.dns, z) for z in ("drift.test", "late.test")}

    _path, run = _play(lab, tmp_path, "unroute.yml", "-e", "unroute_plan=%s" % audit_path)
    done = _by_domain(run)
    assert done["keep.test"]["status"] == "changed"
    assert "smtp-in.mxhero.com" not in " ".join(lab.records("keep.test"))

    assert done["drift.test"]["status"] == "drifted"
    (err,) = done["drift.test"]["errors"]
    assert err["msg"].startswith("drift.test: drifted since the audit: ") and "\n" not in err["msg"]
    assert "dns_mx" in err["msg"] and "nothing was changed" in err["msg"]
    assert zone_snapshot(lab.dns, "drift.test") == frozen["drift.test"]

    assert done["m365drift.test"]["status"] == "drifted"
    assert "Route via gateway" in done["m365drift.test"]["errors"][0]["msg"]
    rules = by_name(tenant_state(lab, "m365drift.test")["transport_rules"])
    assert rules["Route via gateway"]["State"] == "Enabled"

    assert done["late.test"]["status"] == "skipped"
    assert done["late.test"]["findings"] == []
    assert zone_snapshot(lab.dns, "late.test") == frozen["late.test"]
    assert run["summary"]["drifted"] == 2 and run["summary"]["skipped"] == 1


def test_a_plan_that_is_not_an_audit_is_refused(lab_factory, tmp_path):
    lab = lab_factory({"domains": [_dns_domain("solo.test")]})
    bogus = tmp_path / "bogus.json"
    bogus.write_text(json.dumps({"format": "something-else", "domains": []}))
    env = dict(os.environ, PATH="%s:%s" % (BIN, os.environ.get("PATH", "")),
               ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"), UNROUTE_REPORT_DIR=str(tmp_path / "reports"))
    before = zone_snapshot(lab.dns, "solo.test")
    done = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", str(lab.dir / "inventory.yml"),
                           str(ROOT / "playbooks" / "unroute.yml"), "-e", "unroute_plan=%s" % bogus],
                          cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert "%s: not a run record of mxhero.unroute" % bogus in done.stdout
    assert zone_snapshot(lab.dns, "solo.test") == before
