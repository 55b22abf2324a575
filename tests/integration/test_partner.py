"""Partner mode (issue 25): many Microsoft 365 tenants behind one multi-tenant app, consent pushed through
Partner Center, and one Google service account for every customer."""

from __future__ import annotations

import uuid

import pytest

from helpers import run_module
from microsoft365_fixtures import start_lab, stop_lab, tenant, tenant_state

from ansible_collections.mxhero.unroute.plugins.module_utils._exo import client as exo_client
from ansible_collections.mxhero.unroute.plugins.module_utils._exo import partner

pytestmark = pytest.mark.lab

MX_OUT = {"Name": "mxHERO Outbound", "SmartHosts": ["smtp.mxhero.com"]}
ROUTE = {"Name": "Route through mxHERO", "RouteMessageOutboundConnector": "mxHERO Outbound"}


def customer(name, app=None, **partner_spec):
    return tenant(name, outbound_connectors=[MX_OUT], transport_rules=[ROUTE], partner=partner_spec,
                  app=app or {})


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    domains = [customer("alpha.test"), customer("beta.test"), customer("fresh.test", consent=False),
               customer("nogdap.test", consent=False, gdap=False), customer("noperm.test", manage_as_app=False),
               customer("norole.test", app={"exchange_role": False}),
               # A domain with an app of its own, as before: partner mode changes nothing for it.
               tenant("own.test", outbound_connectors=[MX_OUT])]
    lab = start_lab(tmp_path_factory.mktemp("partner"), domains)
    yield lab
    stop_lab(lab)


@pytest.fixture(autouse=True)
def fresh_cache():
    partner.clear_caches()
    yield
    partner.clear_caches()


def partner_args(lab, domain, **extra):
    """What an MSP gives once for every customer: the app and its certificate; no tenant id."""
    svc = lab.service("exo")
    args = dict(domain=domain, client_id=svc["partner"]["client_id"],
                certificate_path=svc["partner"]["certificate_path"], authority_host=svc["authority_host"],
                api_endpoint=svc["api_endpoint"], ca_path=svc["ca"])
    args.update(extra)
    return args


def token_requests(lab, tenant_id):
    return [r for r in lab.state()["exo"]["requests"]
            if r["path"] == "/%s/oauth2/v2.0/token" % tenant_id and r["status"] == 200]


def one_line(result):
    assert result.get("failed"), result
    msg = result["msg"]
    assert "\n" not in msg and "Traceback" not in msg, msg
    return msg


def test_each_domain_gets_its_own_tenant_and_one_token(lab):
    svc = lab.service("exo")
    for domain in ("alpha.test", "beta.test"):
        tid = svc["partner"]["customers"][domain]
        before = len(token_requests(lab, tid))
        for module in ("exo_info", "exo_connector", "exo_transport_rule"):
            result = run_module(module, partner_args(lab, domain), check_mode=True)
            assert not result.get("failed"), result
        assert len(token_requests(lab, tid)) - before == 1, "one token per tenant, reused by every task"
        assert any(f["object"] for f in result["findings"])
    assert partner.STATS["discoveries"] == 2


def test_explicit_tenant_wins_over_the_domain(lab):
    svc = lab.service("exo")
    beta = svc["partner"]["customers"]["beta.test"]
    result = run_module("exo_info", partner_args(lab, "alpha.test", tenant_id=beta), check_mode=True)
    assert not result.get("failed"), result
    assert partner.STATS["discoveries"] == 0
    assert token_requests(lab, beta)


def test_unknown_domain_is_one_line(lab):
    msg = one_line(run_module("exo_info", partner_args(lab, "nowhere.test")))
    assert msg.startswith("nowhere.test: tenant of nowhere.test: ")
    assert "AADSTS90002" in msg and "set tenant_id" in msg


def test_missing_consent_gives_the_admin_consent_url(lab):
    svc = lab.service("exo")
    tid = svc["partner"]["customers"]["nogdap.test"]
    msg = one_line(run_module("exo_info", partner_args(lab, "nogdap.test")))
    url = "%s/%s/adminconsent?client_id=%s" % (svc["authority_host"], tid, svc["partner"]["client_id"])
    assert "AADSTS7000229" in msg and url in msg, msg
    assert msg.startswith("nogdap.test: tenant %s, app %s: " % (tid, svc["partner"]["client_id"]))


def test_missing_permission_and_missing_role_say_what_to_do(lab):
    msg = one_line(run_module("exo_info", partner_args(lab, "noperm.test")))
    assert "Exchange.ManageAsApp" in msg and "adminconsent?client_id=" in msg
    msg = one_line(run_module("exo_info", partner_args(lab, "norole.test")))
    assert "Exchange Administrator" in msg


def _client(lab, domain):
    a = partner_args(lab, domain)
    tid = partner.tenant_for_domain(domain, a["authority_host"], ca_path=a["ca_path"])
    return exo_client.ExoClient(tid, a["client_id"], certificate_path=a["certificate_path"],
                                authority_host=a["authority_host"], api_endpoint=a["api_endpoint"],
                                ca_path=a["ca_path"])


def test_tenant_status_for_the_preflight(lab):
    got = {d: partner.tenant_status(_client(lab, d), d)
           for d in ("alpha.test", "fresh.test", "noperm.test", "norole.test")}
    assert got["alpha.test"]["ready"] and got["alpha.test"]["status"] == "ready"
    assert got["fresh.test"]["status"] == "no_consent" and "adminconsent" in got["fresh.test"]["fix"]
    assert got["noperm.test"]["status"] == "no_permission"
    assert got["norole.test"]["status"] == "no_role" and "Exchange Administrator" in got["norole.test"]["fix"]
    args = partner_args(lab, "x")
    whole = {d: partner.status_for_domain(d, args["client_id"], certificate_path=args["certificate_path"],
                                          authority_host=args["authority_host"], api_endpoint=args["api_endpoint"],
                                          ca_path=args["ca_path"])
             for d in ("alpha.test", "noperm.test", "nowhere.test")}
    assert whole["alpha.test"]["ready"] and whole["alpha.test"]["line"] is None
    assert whole["noperm.test"]["status"] == "no_permission" and "adminconsent" in whole["noperm.test"]["line"]
    assert whole["nowhere.test"]["status"] == "unknown_domain" and "AADSTS90002" in whole["nowhere.test"]["line"]
    line = partner.status_line(got["fresh.test"])
    assert line.startswith("fresh.test: tenant ") and "\n" not in line
    with pytest.raises(partner.PartnerError) as err:
        partner.tenant_for_domain("nowhere.test", partner_args(lab, "x")["authority_host"],
                                  ca_path=partner_args(lab, "x")["ca_path"])
    assert err.value.status == "unknown_domain"


def consent_args(lab, domain):
    svc = lab.service("exo")
    return partner_args(lab, domain, partner_tenant_id=svc["partner"]["home_tenant_id"],
                        partner_center_endpoint=svc["partner_center_endpoint"])


def test_consent_check_mode_then_real_then_the_audit_works(lab):
    before = lab.state()["exo"]["partner"]["fresh.test"]
    check = run_module("exo_partner_consent", consent_args(lab, "fresh.test"), check_mode=True)
    assert check["changed"] and check["status"] == "would_consent", check
    assert lab.state()["exo"]["partner"]["fresh.test"] == before, "check mode consented"
    real = run_module("exo_partner_consent", consent_args(lab, "fresh.test"))
    assert real["changed"] and real["status"] == "ready", real
    assert "Exchange.ManageAsApp" in real["consent"]["applicationGrants"][0]["scope"]
    again = run_module("exo_partner_consent", consent_args(lab, "fresh.test"))
    assert not again["changed"] and again["status_before"] == "ready", again
    audit = run_module("exo_connector", partner_args(lab, "fresh.test"))
    assert not audit.get("failed"), audit
    assert tenant_state(lab, "fresh.test")


def test_consent_without_gdap_gives_the_admin_consent_url(lab):
    msg = one_line(run_module("exo_partner_consent", consent_args(lab, "nogdap.test")))
    assert "HTTP 403" in msg and "GDAP" in msg and "adminconsent?client_id=" in msg


def test_unknown_app_id_still_named(lab):
    wrong = str(uuid.uuid4())
    msg = one_line(run_module("exo_info", partner_args(lab, "alpha.test", client_id=wrong)))
    assert wrong in msg


# -- Google: one service account, a subject per domain --------------------------------------------------------
GOOGLE = {"g-ok.test": {}, "g-none.test": {"delegation": False}}


@pytest.fixture(scope="module")
def google_lab(tmp_path_factory):
    domains = [{"name": name, "platform": "google", "dns": {"records": ["@ 3600 IN MX 1 smtp.google.com."]},
                "google": section} for name, section in GOOGLE.items()]
    lab = start_lab(tmp_path_factory.mktemp("partner-google"), domains)
    yield lab
    stop_lab(lab)


def google_args(lab, domain, **extra):
    v = lab.manifest["domains"][domain]["vars"]
    args = dict(domain=domain, credentials_file=v["unroute_google_service_account_file"],
                subject="admin@{domain}", api_endpoint=v["unroute_google_api_endpoint"],
                ca_path=v["unroute_google_ca_path"])
    args.update(extra)
    return args


def test_one_service_account_serves_every_customer_with_a_subject_pattern(google_lab):
    files = {google_args(google_lab, d)["credentials_file"] for d in GOOGLE}
    assert len(files) == 1, "one key for every customer"
    result = run_module("google_info", google_args(google_lab, "g-ok.test"))
    assert not result.get("failed"), result


def test_customer_without_delegation_gets_client_id_and_scope_list(google_lab):
    import json
    from ansible_collections.mxhero.unroute.plugins.module_utils._google import delegation
    args = google_args(google_lab, "g-none.test")
    with open(args["credentials_file"]) as handle:
        client_id = json.load(handle)["client_id"]
    msg = one_line(run_module("google_info", args))
    assert msg.startswith("g-none.test: "), msg
    assert "Client ID %s" % client_id in msg and delegation.DWD_SCREEN in msg
    assert delegation.paste_list() in msg, "the exact comma-separated scope list to paste"
    assert "admin@g-none.test" not in msg or "{domain}" not in msg


# -- the playbooks: consent.yml --check, consent.yml, then the audit --------------------------------------------
@pytest.fixture(scope="module")
def play_lab(tmp_path_factory):
    domains = [customer("pb-ready.test"), customer("pb-fresh.test", consent=False),
               customer("pb-nogdap.test", consent=False, gdap=False)]
    lab = start_lab(tmp_path_factory.mktemp("partner-play"), domains)
    yield lab
    stop_lab(lab)


def _play(lab, tmp_path, playbook, *extra):
    import os
    import subprocess
    import sys
    from helpers import ROOT
    env = dict(os.environ, PATH="%s:%s" % (os.path.dirname(sys.executable), os.environ.get("PATH", "")),
               ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections"), UNROUTE_REPORT_DIR=str(tmp_path / "reports"))
    return subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i",
                           str(lab.dir / "inventory.yml"), str(ROOT / "playbooks" / playbook)] + list(extra),
                          cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=600)


def test_consent_playbook_check_then_real_then_the_audit(play_lab, tmp_path):
    import json
    lab = play_lab
    svc = lab.service("exo")
    before = lab.state()["exo"]["partner"]
    check = _play(lab, tmp_path, "consent.yml", "--check")
    assert "pb-nogdap.test: tenant %s" % svc["partner"]["customers"]["pb-nogdap.test"] in check.stdout
    assert "adminconsent?client_id=%s" % svc["partner"]["client_id"] in check.stdout
    assert "pb-fresh.test: tenant %s would_consent" % svc["partner"]["customers"]["pb-fresh.test"] in check.stdout
    assert lab.state()["exo"]["partner"] == before, "check mode changed a tenant's consents"

    real = _play(lab, tmp_path, "consent.yml")
    assert real.returncode != 0, "the tenant without GDAP fails, alone"
    after = lab.state()["exo"]["partner"]
    assert svc["partner"]["client_id"] in after["pb-fresh.test"]["consents"]
    assert after["pb-nogdap.test"]["consents"] == {}
    assert "changed=1" in [line for line in real.stdout.splitlines() if line.startswith("pb-fresh.test")][0]

    audit = _play(lab, tmp_path, "audit.yml", "-e", "unroute_fail_on_error=false")
    assert audit.returncode == 0, audit.stdout[-3000:] + audit.stderr[-2000:]
    record = json.loads(sorted((tmp_path / "reports").glob("audit-*.json"))[-1].read_text())
    status = {d["domain"]: d for d in record["domains"]}
    assert status["pb-ready.test"]["status"] != "error" and status["pb-fresh.test"]["status"] != "error", status
    assert status["pb-nogdap.test"]["status"] == "error"
    assert "adminconsent?client_id=" in json.dumps(status["pb-nogdap.test"])


def test_partner_center_emulator_answers_the_documented_shapes(lab):
    """The Control Panel Vendor API's documented request, answered as documented: 201, then 409 for the same
    consent, GET one, DELETE 204; a token of another audience is refused."""
    import requests
    svc = lab.service("exo")
    home = exo_client.ExoClient(svc["partner"]["home_tenant_id"], svc["partner"]["client_id"],
                                certificate_path=svc["partner"]["certificate_path"],
                                authority_host=svc["authority_host"],
                                api_endpoint="https://api.partnercenter.microsoft.com", ca_path=svc["ca"])
    token = home._access_token()
    tid = svc["partner"]["customers"]["beta.test"]
    url = "%s/v1/customers/%s/applicationconsents" % (svc["partner_center_endpoint"], tid)
    headers = {"Authorization": "Bearer %s" % token, "Accept": "application/json"}
    body = {"applicationId": svc["partner"]["client_id"], "displayName": "CPV Web App",
            "applicationGrants": [{"enterpriseApplicationId": "00000002-0000-0ff1-ce00-000000000000",
                                   "scope": "Exchange.ManageAsApp"}]}
    listed = requests.get(url, headers=headers, verify=svc["ca"], timeout=10).json()
    assert listed["totalCount"] == 1  # the estate's consent
    gone = requests.delete("%s/%s" % (url, svc["partner"]["client_id"]), headers=headers, verify=svc["ca"], timeout=10)
    assert gone.status_code == 204
    created = requests.post(url, json=body, headers=headers, verify=svc["ca"], timeout=10)
    assert created.status_code == 201 and created.json()["applicationGrants"] == body["applicationGrants"]
    again = requests.post(url, json=body, headers=headers, verify=svc["ca"], timeout=10)
    assert again.status_code == 409 and set(again.json()) >= {"code", "description", "errorName"}
    one = requests.get("%s/%s" % (url, svc["partner"]["client_id"]), headers=headers, verify=svc["ca"], timeout=10)
    assert one.status_code == 200 and one.json()["customerId"] == tid
    exo_token = _client(lab, "alpha.test")._access_token()
    wrong = requests.get(url, headers={"Authorization": "Bearer %s" % exo_token}, verify=svc["ca"], timeout=10)
    assert wrong.status_code == 401


def test_customer_status_for_the_preflight(google_lab):
    from ansible_collections.mxhero.unroute.plugins.module_utils._google import delegation
    v = google_lab.manifest["domains"]["g-ok.test"]["vars"]
    common = dict(credentials_file=v["unroute_google_service_account_file"], subject="admin@{domain}",
                  token_uri=v["unroute_google_token_uri"], ca_path=v["unroute_google_ca_path"])
    ok = delegation.customer_status("g-ok.test", **common)
    assert ok["ready"] and ok["status"] == "ready" and ok["subject"] == "admin@g-ok.test", ok
    none = delegation.customer_status("g-none.test", **common)
    assert not none["ready"] and none["status"] == "no_delegation", none
    assert none["line"].startswith("g-none.test: ") and delegation.paste_list() in none["line"]
    assert "\n" not in none["line"]
