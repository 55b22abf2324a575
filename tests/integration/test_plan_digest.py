"""Issue 22 (1): the plan digest is a function of what was read and what would change, never of --diff.

An audit run with --diff and one without give every platform's domain the same digest, module by module;
an audit with --diff followed by a reviewed run without it changes what was approved; a Google setting
changed between the audit and the reviewed run is drift."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from helpers import ROOT

from ansible_collections.mxhero.unroute.plugins.module_utils._google import client as google_client
from ansible_collections.mxhero.unroute.plugins.module_utils._google.engine import GMAIL_FILTER, make_client
from ansible_collections.mxhero.unroute.plugins.module_utils._plan import EMPTY

pytestmark = pytest.mark.lab
BIN = os.path.dirname(sys.executable)

# One domain of the shipped estate per platform, each with something to change.
PLATFORMS = {"dns": "mx-partial.test", "google": "g-allowlist.test", "microsoft365": "m365-both.test",
             "exchange": "ex-both.test", "mta": "mta-postfix.test"}
ALLOW = "gmail.email_spam_filter_ip_allowlist"
OVERRIDE = "gmail.spam_override_lists"


def _play(lab, reports, playbook, *extra):
    env = dict(os.environ, PATH="%s:%s" % (BIN, os.environ.get("PATH", "")),
               ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"), UNROUTE_REPORT_DIR=str(reports))
    done = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", str(lab.dir / "inventory.yml"),
                           str(ROOT / "playbooks" / playbook), "-e", "unroute_fail_on_error=false"] + list(extra),
                          cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    kind = "audit" if playbook == "audit.yml" else "unroute"
    newest = sorted(reports.glob("%s-*.json" % kind))[-1]
    return newest, dict((d["domain"], d) for d in json.loads(newest.read_text())["domains"])


@pytest.fixture(scope="module")
def audits(default_lab, tmp_path_factory):
    """The same audit of one domain per platform, without --diff and with it (check mode: the lab is untouched)."""
    target = ",".join(PLATFORMS.values())
    plain = _play(default_lab, tmp_path_factory.mktemp("plain"), "audit.yml", "-e", "unroute_target=" + target)[1]
    diffed = _play(default_lab, tmp_path_factory.mktemp("diff"), "audit.yml", "-e", "unroute_target=" + target,
                   "--diff")[1]
    return plain, diffed


@pytest.mark.parametrize("platform", ["dns", "google", "microsoft365", "exchange", "mta"])
def test_audit_digest_is_the_same_with_and_without_diff(audits, platform):
    plain, diffed = (a[PLATFORMS[platform]] for a in audits)
    assert plain["errors"] == [] == diffed["errors"]
    assert plain["plan_digest"] not in (None, EMPTY), "the domain must plan a change for the comparison to mean much"
    modules = [(m["module"], m["plan_digest"]) for m in plain["modules"]]
    assert modules == [(m["module"], m["plan_digest"]) for m in diffed["modules"]]
    assert plain["plan_digest"] == diffed["plan_digest"]


def google_domain(name, mutable):
    """A Google domain whose allowlist holds an mxHero IP (the API may change it) next to a spam override rule
    naming an mxHero host (a manual action)."""
    return {"name": name, "platform": "google", "dns": {"records": ["@ 3600 IN MX 1 smtp.google.com."]},
            "google": {"mutate_supported": mutable, "outbound_gateway": {"smart_host": "", "smtp_mode": "SMTP"},
                       "policies": [
                           {"setting": ALLOW, "value": {"allowedIpAddresses": ["198.51.100.25", "54.208.111.28"]}},
                           {"setting": OVERRIDE, "value": {"spamOverride": [{
                               "approvedSenderHosts": ["smtp-relay.mxhero.com"], "bypassSpamFilter": True,
                               "description": "mxHero relay"}]}}]}}


def _policies(lab, domain, setting):
    v = lab.manifest["domains"][domain]["vars"]
    params = dict(domain=domain, credentials_file=v["unroute_google_service_account_file"],
                  subject=v["unroute_google_subject"], api_endpoint=v["unroute_google_api_endpoint"],
                  ca_path=v["unroute_google_ca_path"], token_uri=v["unroute_google_token_uri"], timeout=10)
    client = make_client(params, [google_client.SCOPE_POLICIES])
    found = [p for p in client.list_policies("my_customer", GMAIL_FILTER)
             if p["setting"]["type"] == "settings/" + setting]
    return client, found


def test_a_google_setting_changed_after_the_audit_is_drift(lab_factory, tmp_path):
    lab = lab_factory({"domains": [google_domain(name, [ALLOW, OVERRIDE]) for name in ("gdrift.test", "gkeep.test")]})
    # Reviewed with --diff, applied without it: the flags must not make every domain drift.
    audit_path, planned = _play(lab, tmp_path / "reports", "audit.yml", "--diff")
    assert planned["gdrift.test"]["plan_digest"] not in (None, EMPTY)

    # Between review and apply, an administrator edits the spam override rule (the audit's manual action) of
    # gdrift.test; the allowlist the plan changes stays exactly as audited.
    client, (rule,) = _policies(lab, "gdrift.test", OVERRIDE)
    value = json.loads(json.dumps(rule["setting"]["value"]))
    value["spamOverride"][0]["approvedSenderHosts"].append("relay.gdrift.example")
    client.patch_policy(rule["name"], {"type": rule["setting"]["type"], "value": value})

    _path, done = _play(lab, tmp_path / "reports", "unroute.yml", "-e", "unroute_plan=%s" % audit_path)
    assert done["gdrift.test"]["status"] == "drifted"
    (err,) = done["gdrift.test"]["errors"]
    assert err["msg"].startswith("gdrift.test: drifted since the audit: ") and "google_gateway" in err["msg"]
    (allow,) = _policies(lab, "gdrift.test", ALLOW)[1]
    assert "54.208.111.28" in allow["setting"]["value"]["allowedIpAddresses"], "a drifted domain is not changed"

    assert done["gkeep.test"]["status"] not in ("drifted", "error"), done["gkeep.test"]["errors"]
    (allow,) = _policies(lab, "gkeep.test", ALLOW)[1]
    assert allow["setting"]["value"]["allowedIpAddresses"] == ["198.51.100.25"]
