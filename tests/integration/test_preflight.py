"""Issue 25 (4): playbooks/preflight.yml proves, without changing anything, what each domain's run will need;
each domain ends `ready` or names what is missing and the fix, in a JSON record and an HTML report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from helpers import ROOT
from microsoft365_fixtures import tenant
from unroute_lab.bind import zone_snapshot

pytestmark = pytest.mark.lab
BIN = os.path.dirname(sys.executable)
SCOPE_POLICIES = "https://www.googleapis.com/auth/cloud-identity.policies"
SCOPE_USER_SECURITY = "https://www.googleapis.com/auth/admin.directory.user.security"


def _preflight(lab, tmp_path, *extra):
    env = dict(os.environ, PATH="%s:%s" % (BIN, os.environ.get("PATH", "")),
               ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"), UNROUTE_REPORT_DIR=str(tmp_path / "reports"))
    done = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", str(lab.dir / "inventory.yml"),
                           str(ROOT / "playbooks" / "preflight.yml")] + list(extra),
                          cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=900)
    records = sorted((tmp_path / "reports").glob("preflight-*.json"))
    return done, (json.loads(records[-1].read_text()) if records else None), records


def _by_domain(record):
    return dict((d["domain"], d) for d in record["domains"])


def _failed(entry):
    return [c for c in entry["checks"] if not c["ok"]]


def test_every_domain_of_the_default_lab_is_ready(default_lab, tmp_path):
    before = zone_snapshot(default_lab.dns, "mx-partial.test")
    done, record, paths = _preflight(default_lab, tmp_path)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert record["run"]["mode"] == "preflight"
    domains = _by_domain(record)
    assert set(d["status"] for d in domains.values()) == {"ready"}, \
        dict((n, [c["detail"] for c in _failed(d)]) for n, d in domains.items() if d["status"] != "ready")
    assert record["summary"]["ready"] == record["summary"]["domains"] == len(domains)
    # Every platform of the lab was proven, not skipped.
    platforms = set(c["platform"] for d in domains.values() for c in d["checks"])
    assert platforms == {"dns", "microsoft365", "google", "exchange", "mta"}
    # What cannot be proven without writing says so instead of passing silently.
    rfc = [c for c in domains["mx-partial.test"]["checks"] if c["check"] == "update permission"]
    assert rfc and not rfc[0]["proven"] and "cannot be read over DNS" in rfc[0]["detail"]
    tsig = [c for c in domains["mx-partial.test"]["checks"] if c["check"] == "TSIG key"]
    assert tsig and tsig[0]["ok"] and tsig[0]["proven"]
    for name in ("cf-mixed.test", "azure-mixed.test", "pdns-mixed.test"):
        write = [c for c in domains[name]["checks"] if c["check"] == "write permission"][0]
        assert write["ok"] and write["proven"], (name, write)
    # Route 53 cannot tell without writing: ready, and the check says what was not proven.
    write = [c for c in domains["aws-mixed.test"]["checks"] if c["check"] == "write permission"][0]
    assert write["ok"] and not write["proven"] and write["detail"].startswith("not proven")
    # Nothing changed.
    assert zone_snapshot(default_lab.dns, "mx-partial.test") == before
    html = paths[-1].with_suffix(".html").read_text()
    # The page draws its list from the embedded data (module_utils/_report_html.py): a domain's status is "s".
    assert "mxHero unroute preflight" in html and '"s":"ready"' in html


BROKEN = {"domains": [
    # The inventory's TSIG secret is not the server's.
    {"name": "badkey.test", "platform": "other",
     "vars": {"unroute_dns_key_secret": "d3JvbmcgdW5yb3V0ZSBrZXkgc2VjcmV0IDEyMzQ1Njc4OTA="},
     "dns": {"records": ["@ 3600 IN MX 10 smtp-in.mxhero.com."]}},
    # A Cloudflare token made for another zone.
    {"name": "cf-nozone.test", "platform": "other",
     "dns": {"provider": "cloudflare", "cloudflare_token": "other_zone",
             "records": ["@ 300 IN MX 5 smtp-in.mxhero.com."]}},
    # A token that reads but may not edit DNS (and may not read its own permissions: unproven, not ready).
    {"name": "cf-readonly.test", "platform": "other",
     "dns": {"provider": "cloudflare", "cloudflare_token": "read", "records": ["@ 300 IN MX 5 smtp-in.mxhero.com."]}},
    # Exchange Online: no admin consent for Exchange.ManageAsApp; consent but no Exchange role.
    tenant("noconsent.test", app={"manage_as_app": False}),
    tenant("norole.test", app={"exchange_role": False}),
    # Google: no domain-wide delegation at all; delegation without the grants' scope.
    {"name": "g-nodwd.test", "platform": "google", "dns": {"records": ["@ 3600 IN MX 1 smtp.google.com."]},
     "google": {"delegation": False}},
    {"name": "g-partial.test", "platform": "google", "dns": {"records": ["@ 3600 IN MX 1 smtp.google.com."]},
     "google": {"delegated_scopes": [SCOPE_POLICIES, "https://www.googleapis.com/auth/admin.directory.orgunit.readonly",
                                     "https://www.googleapis.com/auth/admin.reports.audit.readonly",
                                     "https://www.googleapis.com/auth/admin.directory.user.readonly",
                                     "https://www.googleapis.com/auth/gmail.settings.basic"]}},
    # Azure DNS: the identity holds Reader on the zone, not DNS Zone Contributor.
    {"name": "az-reader.test", "platform": "other",
     "dns": {"provider": "azure", "azure_role": "reader", "records": ["@ 3600 IN MX 10 smtp-in.mxhero.com."]}},
    {"name": "fine.test", "platform": "other", "dns": {"records": ["@ 3600 IN MX 10 smtp-in.mxhero.com."]}},
]}


def test_each_broken_case_names_what_is_missing_and_the_fix(lab_factory, tmp_path):
    lab = lab_factory(BROKEN)
    done, record, paths = _preflight(lab, tmp_path)
    # Not ready: the play fails at the end, after the report is written.
    assert done.returncode != 0
    assert "domain(s) not ready" in done.stdout and "badkey.test needs_credentials" in done.stdout
    domains = _by_domain(record)
    assert domains["fine.test"]["status"] == "ready"

    bad = domains["badkey.test"]
    assert bad["status"] == "needs_credentials"
    (check,) = _failed(bad)
    assert check["platform"] == "dns" and "TSIG" in check["detail"] and "key_secret" in check["fix"]

    nozone = domains["cf-nozone.test"]
    assert nozone["status"] == "needs_role"
    (check,) = _failed(nozone)
    assert "cf-nozone.test" in check["detail"] and "Zone Read" in check["fix"]

    readonly = domains["cf-readonly.test"]
    assert readonly["status"] == "ready"
    write = [c for c in readonly["checks"] if c["check"] == "write permission"][0]
    assert write["ok"] and not write["proven"] and "API Tokens Read" in write["detail"]

    reader = domains["az-reader.test"]
    assert reader["status"] == "needs_role"
    (check,) = _failed(reader)
    assert "Microsoft.Network/dnszones/MX/write" in check["detail"] and "DNS Zone Contributor" in check["fix"]

    noconsent = domains["noconsent.test"]
    assert noconsent["status"] == "needs_consent"
    (check,) = _failed(noconsent)
    assert check["check"] == "Exchange.ManageAsApp" and "admin consent" in check["fix"]

    norole = domains["norole.test"]
    assert norole["status"] == "needs_role"
    (check,) = _failed(norole)
    assert "403" in check["detail"] and "Exchange Administrator" in check["fix"]

    nodwd = domains["g-nodwd.test"]
    assert nodwd["status"] == "needs_delegation"
    assert all(c["status"] == "needs_delegation" for c in _failed(nodwd)) and len(_failed(nodwd)) >= 5
    fix = _failed(nodwd)[0]["fix"]
    assert "client ID" in fix and SCOPE_POLICIES in fix and SCOPE_USER_SECURITY in fix
    assert "Manage domain wide delegation" in fix

    partial = domains["g-partial.test"]
    assert partial["status"] == "needs_delegation"
    (check,) = _failed(partial)
    assert check["check"] == "scope %s" % SCOPE_USER_SECURITY

    # Each missing thing is also one line naming the domain, the object and the fix (the report's warnings).
    line = [w for w in nozone["warnings"] if w.startswith("cf-nozone.test: dns zone cf-nozone.test")]
    assert line and "\n" not in line[0]
    # No secret reaches the record.
    text = json.dumps(record)
    assert "d3JvbmcgdW5yb3V0ZSBrZXkgc2VjcmV0IDEyMzQ1Njc4OTA=" not in text
    html = paths[-1].with_suffix(".html").read_text()
    assert "needs delegation" in html and '"s":"needs_role"' in html

    # unroute_fail_on_error=false carries on: the play succeeds with the same statuses.
    done, again, _ = _preflight(lab, tmp_path, "-e", "unroute_fail_on_error=false", "-e",
                                "unroute_target=fine.test,norole.test")
    assert done.returncode == 0, done.stdout[-3000:]
    assert dict((d["domain"], d["status"]) for d in again["domains"]) == {"fine.test": "ready",
                                                                          "norole.test": "needs_role"}


def test_cloudflare_emulator_token_endpoints_answer_as_documented(lab_factory):
    """From Cloudflare's API reference (Verify Token, Token Details) and its troubleshooting page's example:
    verify answers the token's id and ``"status": "active"``; an unknown token is refused with 401; a token's
    details (policies: permission groups and resources) need API Tokens Read, otherwise 403 code 9109."""
    lab = lab_factory({"domains": [{"name": "cf-api.test", "dns": {
        "provider": "cloudflare", "records": ["@ 300 IN MX 5 mail.cf-api.test."]}}]})
    svc = lab.service("cloudflare")

    def get(path, token):
        return requests.get(svc["url"] + path, headers={"Authorization": "Bearer " + token}, timeout=10)

    edit = Path(svc["api_token_file"]).read_text().strip()
    read = Path(svc["read_only_token_file"]).read_text().strip()
    resp = get("/user/tokens/verify", edit)
    body = resp.json()
    assert resp.status_code == 200 and body["success"] is True and body["errors"] == []
    assert set(body["result"]) >= {"id", "status"} and body["result"]["status"] == "active"
    assert len(body["result"]["id"]) == 32

    resp = get("/user/tokens/verify", "not-a-token")
    assert resp.status_code == 401 and resp.json()["success"] is False

    details = get("/user/tokens/%s" % body["result"]["id"], edit).json()["result"]
    assert details["id"] == body["result"]["id"] and details["status"] == "active"
    groups = [g["name"] for p in details["policies"] for g in p["permission_groups"]]
    assert "DNS Write" in groups and "Zone Read" in groups
    assert any(key.startswith("com.cloudflare.api.account.zone.") for p in details["policies"]
               for key in p["resources"])

    own = get("/user/tokens/verify", read).json()["result"]["id"]
    resp = get("/user/tokens/%s" % own, read)
    assert resp.status_code == 403 and [e["code"] for e in resp.json()["errors"]] == [9109]


def test_azure_emulator_lists_the_callers_permissions_on_a_zone(lab_factory):
    """Permissions - List For Resource (Microsoft.Authorization, api-version 2022-04-01), as the REST reference's
    example shows it: ``{"value": [{"actions": [...], "notActions": [], "dataActions": [], "notDataActions": []}]}``
    for the caller; a write the caller's role does not allow answers 403 AuthorizationFailed."""
    lab = lab_factory({"domains": [
        {"name": "az-rw.test", "dns": {"provider": "azure", "records": ["@ 3600 IN MX 10 mail.az-rw.test."]}},
        {"name": "az-ro.test", "dns": {"provider": "azure", "azure_role": "reader",
                                       "records": ["@ 3600 IN MX 10 mail.az-ro.test."]}}]})
    svc = lab.service("azure")
    token = requests.post("%s/%s/oauth2/v2.0/token" % (svc["url"], svc["tenant_id"]), data={
        "grant_type": "client_credentials", "client_id": svc["client_id"],
        "client_secret": Path(svc["client_secret_file"]).read_text().strip(),
        "scope": "https://management.azure.com/.default"}, verify=svc["ca"], timeout=10).json()["access_token"]
    http = requests.Session()
    http.headers["Authorization"] = "Bearer " + token
    # Per request: REQUESTS_CA_BUNDLE in the environment would replace a session-level CA.
    ca = svc["ca"]

    def zone(name):
        return "%s/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/dnszones/%s" % (
            svc["url"], svc["subscription_id"], svc["zones"][name], name)

    for name, expected in (("az-rw.test", "Microsoft.Network/dnsZones/*"), ("az-ro.test", "*/read")):
        resp = http.get(zone(name) + "/providers/Microsoft.Authorization/permissions",
                        params={"api-version": "2022-04-01"}, timeout=10, verify=ca)
        assert resp.status_code == 200
        (entry,) = resp.json()["value"]
        assert set(entry) == {"actions", "notActions", "dataActions", "notDataActions"}
        assert expected in entry["actions"]
    resp = http.get(zone("az-rw.test") + "/providers/Microsoft.Authorization/permissions",
                    params={"api-version": "2018-05-01"}, timeout=10, verify=ca)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "InvalidApiVersionParameter"
    resp = http.put(zone("az-ro.test") + "/MX/@", params={"api-version": "2018-05-01"},
                    json={"properties": {"TTL": 3600, "MXRecords": [{"preference": 10, "exchange": "mx.example."}]}},
                    timeout=10, verify=ca)
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "AuthorizationFailed"
