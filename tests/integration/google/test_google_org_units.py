"""Organisational units named as the Admin console shows them (issue 10, item 10): the emulated
Directory API ``orgunits`` on the wire, then the modules' manual steps - path with the id in brackets,
or the id alone with a note when the read is not permitted."""

from __future__ import annotations

import json

import pytest
import requests
from google.auth.transport.requests import Request
from google.oauth2 import service_account

from google_lab_helpers import customer_state, google_estate, module_args, module_lab  # noqa: F401 (fixture)
from helpers import run_module

pytestmark = pytest.mark.lab

ALLOW = "gmail.email_spam_filter_ip_allowlist"
ORGUNIT_RO = "https://www.googleapis.com/auth/admin.directory.orgunit.readonly"
POLICIES_RO = "https://www.googleapis.com/auth/cloud-identity.policies.readonly"
POLICY_SCOPES = ["https://www.googleapis.com/auth/cloud-identity.policies", POLICIES_RO,
                 "https://apps-apis.google.com/a/feeds/domain/"]

ESTATE = google_estate({
    "ou-named.test": {
        "organization_name": "Named Corp",
        "org_units": ["/Support"],
        "policies": [{"setting": ALLOW, "org_unit": "/Sales/EMEA",
                      "value": {"allowedIpAddresses": ["54.208.111.28", "192.0.2.1"]}},
                     {"setting": "gmail.spam_override_lists", "value": {"spamOverride": [
                         {"description": "mxHero", "approvedSenderHosts": ["smtp.mxhero.com"]}]}}],
    },
    # A super admin delegated only the Policy API scopes: org unit paths cannot be read.
    "ou-nodwd.test": {
        "delegated_scopes": POLICY_SCOPES,
        "policies": [{"setting": ALLOW, "org_unit": "/Ops", "value": {"allowedIpAddresses": ["3.211.77.148"]}}],
    },
})


@pytest.fixture(scope="module")
def http(module_lab):
    session = requests.Session()
    session.verify, session.trust_env = module_lab.manifest["ca"], False
    return session


def _token(lab, domain, scopes, subject=None):
    v = lab.manifest["domains"][domain]["vars"]
    creds = service_account.Credentials.from_service_account_file(
        v["unroute_google_service_account_file"], scopes=scopes, subject=subject or v["unroute_google_subject"])
    session = requests.Session()
    session.verify, session.trust_env = v["unroute_google_ca_path"], False
    creds.refresh(Request(session))
    return creds.token


def _units_url(lab, tail=""):
    return "%sadmin/directory/v1/customer/my_customer/orgunits%s" % (lab.service("google")["url"], tail)


def _bare(ref):
    return ref.split("/", 1)[1]


def test_orgunits_list_and_get_as_google_documents_them(module_lab, http):
    lab = module_lab
    units = customer_state(lab, "ou-named.test")["org_units"]
    auth = {"Authorization": "Bearer " + _token(lab, "ou-named.test", [ORGUNIT_RO])}

    every = http.get(_units_url(lab), params={"type": "all"}, headers=auth)
    assert every.status_code == 200, every.text
    body = every.json()
    assert body["kind"] == "admin#directory#orgUnits"
    assert [u["orgUnitPath"] for u in body["organizationUnits"]] == ["/Sales", "/Sales/EMEA", "/Support"]
    emea = [u for u in body["organizationUnits"] if u["orgUnitPath"] == "/Sales/EMEA"][0]
    assert emea == {"kind": "admin#directory#orgUnit", "etag": emea["etag"], "name": "EMEA", "description": "",
                    "orgUnitPath": "/Sales/EMEA", "orgUnitId": "id:" + _bare(units["/Sales/EMEA"]),
                    "parentOrgUnitPath": "/Sales", "parentOrgUnitId": "id:" + _bare(units["/Sales"])}

    children = http.get(_units_url(lab), headers=auth).json()
    assert [u["orgUnitPath"] for u in children["organizationUnits"]] == ["/Sales", "/Support"]
    with_root = http.get(_units_url(lab), params={"type": "allIncludingParent", "orgUnitPath": "/"},
                         headers=auth).json()["organizationUnits"]
    root = [u for u in with_root if u["orgUnitPath"] == "/"][0]
    assert root["name"] == "Named Corp" and root["orgUnitId"] == "id:" + _bare(units["/"])
    assert "parentOrgUnitId" not in root
    under_sales = http.get(_units_url(lab), params={"type": "all", "orgUnitPath": "/Sales"}, headers=auth).json()
    assert [u["orgUnitPath"] for u in under_sales["organizationUnits"]] == ["/Sales/EMEA"]

    by_path = http.get(_units_url(lab, "/Sales/EMEA"), headers=auth)
    by_id = http.get(_units_url(lab, "/id:" + _bare(units["/Sales/EMEA"])), headers=auth)
    assert by_path.status_code == by_id.status_code == 200 and by_path.json() == by_id.json() == emea
    missing = http.get(_units_url(lab, "/Nowhere"), headers=auth)
    assert missing.status_code == 404 and missing.json()["error"]["errors"][0]["reason"] == "notFound"

    # the Policy API names the same unit orgUnits/<id>
    policy = [p for p in customer_state(lab, "ou-named.test")["policies"]
              if p["setting"]["type"] == "settings/" + ALLOW][0]
    assert policy["policyQuery"]["orgUnit"] == "orgUnits/" + emea["orgUnitId"][3:]


def test_orgunits_refuse_without_the_scope_or_the_role(module_lab, http):
    lab = module_lab
    no_scope = http.get(_units_url(lab), headers={"Authorization": "Bearer " + _token(lab, "ou-named.test",
                                                                                       [POLICIES_RO])})
    assert no_scope.status_code == 403
    error = no_scope.json()["error"]
    assert error["details"][0]["reason"] == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
    assert error["errors"][0]["reason"] == "insufficientPermissions"

    user = lab.manifest["domains"]["ou-named.test"]["vars"]["unroute_google_user"]
    not_admin = http.get(_units_url(lab), headers={"Authorization": "Bearer " + _token(
        lab, "ou-named.test", [ORGUNIT_RO], subject=user)})
    assert not_admin.status_code == 403
    assert not_admin.json()["error"]["message"] == "Not Authorized to access this resource/api"

    assert http.get(_units_url(lab)).status_code == 401

    # where the super admin did not delegate the scope, Google refuses the token itself
    with pytest.raises(Exception) as info:
        _token(lab, "ou-nodwd.test", [ORGUNIT_RO])
    assert "unauthorized_client" in str(info.value)


def _policy_steps(result, setting):
    return [m["steps"] for m in result["manual_actions"] if setting in m["object"]]


def test_manual_steps_name_org_units_by_path_with_the_id(module_lab):
    lab, domain = module_lab, "ou-named.test"
    units = customer_state(lab, domain)["org_units"]
    before = customer_state(lab, domain)
    args = module_args(lab, domain, gateway_verified=True)
    check = run_module("google_gateway", args, check_mode=True)
    real = run_module("google_gateway", args)
    assert not real.get("failed"), real
    for result in (check, real):
        [allow] = _policy_steps(result, ALLOW)
        assert "select org unit /Sales/EMEA [%s]," % units["/Sales/EMEA"] in allow
        [spam] = _policy_steps(result, "spam_override_lists")
        assert 'select the top-level organisation "Named Corp" (/) [%s],' % units["/"] in spam
        objects = [f["object"] for f in result["findings"] if f["kind"] == "gmail_policy"]
        assert any("(org unit /Sales/EMEA [%s])" % units["/Sales/EMEA"] in o for o in objects)
        assert not any("could not be read" in c for c in result["cautions"])
    assert real["findings"] == check["findings"] and real["manual_actions"] == check["manual_actions"]
    assert customer_state(lab, domain) == before, "naming org units reads only"


def _assert_id_only(result, units, cause):
    assert not result.get("failed"), result
    [steps] = _policy_steps(result, ALLOW)
    assert "select the org unit whose id is %s (its path could not be read; see cautions)" % units["/Ops"] in steps
    notes = [c for c in result["cautions"] if "named by id only" in c]
    assert len(notes) == 1 and cause in notes[0] and ORGUNIT_RO in notes[0]


def test_id_alone_with_a_note_when_delegation_lacks_the_scope(module_lab):
    lab, domain = module_lab, "ou-nodwd.test"
    units = customer_state(lab, domain)["org_units"]
    args = module_args(lab, domain, gateway_verified=True)
    check = run_module("google_gateway", args, check_mode=True)
    assert _policy_steps(check, ALLOW), "the allow list is not mutable here: a manual action"
    real = run_module("google_gateway", args)
    for result in (check, real):
        _assert_id_only(result, units, "domain-wide delegation does not grant")
    assert real["findings"] == check["findings"]
    values = [p["setting"]["value"] for p in customer_state(lab, domain)["policies"]]
    assert {"allowedIpAddresses": ["3.211.77.148"]} in values


def test_id_alone_with_a_note_when_the_token_lacks_the_scope(module_lab):
    lab, domain = module_lab, "ou-named.test"
    units = customer_state(lab, domain)["org_units"]
    token = _token(lab, domain, [POLICIES_RO])
    args = module_args(lab, domain, gateway_verified=True, access_token=token)
    args.pop("credentials_file")
    result = run_module("google_info", args)
    assert not result.get("failed"), result
    [steps] = _policy_steps(result, ALLOW)
    assert "select the org unit whose id is %s (its path could not be read" % units["/Sales/EMEA"] in steps
    notes = [c for c in result["cautions"] if "named by id only" in c]
    assert len(notes) == 1 and "the token lacks %s" % ORGUNIT_RO in notes[0]
    assert token not in json.dumps(result)


def test_authorized_user_file_reads_org_unit_paths(module_lab):
    lab, domain = module_lab, "ou-named.test"
    v = lab.manifest["domains"][domain]["vars"]
    args = module_args(lab, domain, gateway_verified=True, credentials_file=v["unroute_google_authorized_user_file"],
                       token_uri=v["unroute_google_token_uri"])
    args.pop("subject")
    result = run_module("google_info", args)
    assert not result.get("failed"), result
    [steps] = _policy_steps(result, ALLOW)
    assert "org unit /Sales/EMEA [%s]" % customer_state(lab, domain)["org_units"]["/Sales/EMEA"] in steps


def test_a_refused_directory_read_never_fails_the_run(module_lab):
    lab, domain = module_lab, "ou-named.test"
    units = customer_state(lab, domain)["org_units"]
    lab.fault("google", kind="403", count=1, api="directory")
    result = run_module("google_info", module_args(lab, domain, gateway_verified=True))
    assert not result.get("failed"), result
    [steps] = _policy_steps(result, ALLOW)
    assert "the org unit whose id is %s" % units["/Sales/EMEA"] in steps
    assert any("named by id only" in c and "HTTP 403" in c for c in result["cautions"])
    # the fault is spent: the next run names the path again
    again = run_module("google_info", module_args(lab, domain, gateway_verified=True))
    assert "org unit /Sales/EMEA [%s]" % units["/Sales/EMEA"] in _policy_steps(again, ALLOW)[0]
