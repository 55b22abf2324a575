"""mxHero's GWFIX grants (issue 17, item 1): the emulated Directory API ``users.list`` and ``tokens`` on
the wire, then google_app_grants against it - check mode, real run, idempotence, paging, client_ids,
max_users, scope errors, retries - always asserting what the lab's state holds afterwards."""

from __future__ import annotations

import copy
import json

import pytest
import requests
from google.auth.transport.requests import Request
from google.oauth2 import service_account

from google_lab_helpers import customer_state, google_estate, module_args, module_lab  # noqa: F401 (fixture)
from helpers import run_classic_module, run_module

pytestmark = pytest.mark.lab

GWFIX = "966519150562-uhu01pdic1gpe3vvmff0ga91bvhd7ub5.apps.googleusercontent.com"
OTHER = "407408718192.apps.googleusercontent.com"
EXTRA = "123456789012-mxheroarchive.apps.googleusercontent.com"
FEEDS = "https://apps-apis.google.com/a/feeds/domain/"
USER_RO = "https://www.googleapis.com/auth/admin.directory.user.readonly"
SECURITY = "https://www.googleapis.com/auth/admin.directory.user.security"
AUDIT_RO = "https://www.googleapis.com/auth/admin.reports.audit.readonly"
POLICIES_RO = "https://www.googleapis.com/auth/cloud-identity.policies.readonly"


def grant(client_id, name="mxHero", scopes=(FEEDS,)):
    return {"client_id": client_id, "display_text": name, "scopes": list(scopes)}


def grants_of(lab, domain):
    """{user: [client ids]} as the lab holds them now."""
    return {user: sorted(g["clientId"] for g in items)
            for user, items in customer_state(lab, domain)["grants"].items()}


ESTATE = google_estate({
    # 2 users a page, 10 users: mxHero's grants on the first and the last page, one user suspended.
    "a-paged.test": {
        "generated_users": 5, "user_page_size": 2,
        "directory_users": [
            {"email": "admin@a-paged.test", "grants": [grant(GWFIX), grant(OTHER, "Apps Script")]},
            {"email": "zz-last@a-paged.test", "suspended": True, "grants": [grant(GWFIX)]},
            {"email": "bob@a-paged.test", "grants": [grant(OTHER, "Apps Script")]},
            {"email": "carol@a-paged.test", "grants": [grant(EXTRA, "mxHero archive")]},
        ],
    },
    "a-wire.test": {
        "directory_users": [{"email": "it@a-wire.test", "grants": [grant(GWFIX), grant(OTHER, "Apps Script")]},
                            "bob@a-wire.test", "carol@a-wire.test"],
    },
    "a-big.test": {"generated_users": 12, "directory_users": [{"email": "it@a-big.test", "grants": [grant(GWFIX)]}]},
    # The delegation lacks the tokens scope: the run must say which scope to grant, on one line.
    "a-noscope.test": {
        "delegated_scopes": [POLICIES_RO, USER_RO],
        "directory_users": [{"email": "it@a-noscope.test", "grants": [grant(GWFIX)]}],
    },
    "a-fault.test": {"directory_users": [{"email": "it@a-fault.test", "grants": [grant(GWFIX)]}]},
    "a-clean.test": {"directory_users": [{"email": "bob@a-clean.test", "grants": [grant(OTHER, "Apps Script")]}]},
})


@pytest.fixture(scope="module")
def http(module_lab):
    session = requests.Session()
    session.verify, session.trust_env = module_lab.manifest["ca"], False
    return session


def _auth(lab, domain, scopes):
    v = lab.manifest["domains"][domain]["vars"]
    creds = service_account.Credentials.from_service_account_file(
        v["unroute_google_service_account_file"], scopes=scopes, subject=v["unroute_google_subject"])
    session = requests.Session()
    session.verify, session.trust_env = v["unroute_google_ca_path"], False
    creds.refresh(Request(session))
    return {"Authorization": "Bearer " + creds.token}


def _url(lab, tail):
    return lab.service("google")["url"] + tail


# -- the emulator on the wire ---------------------------------------------------------------------
def test_users_list_pages_with_fields_as_google_documents(module_lab, http):
    lab = module_lab
    auth = _auth(lab, "a-wire.test", [USER_RO])
    first = http.get(_url(lab, "admin/directory/v1/users"), headers=auth,
                     params={"customer": "my_customer", "maxResults": 2, "orderBy": "email"})
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["kind"] == "admin#directory#users" and "nextPageToken" in body
    assert [u["primaryEmail"] for u in body["users"]] == ["admin@a-wire.test", "bob@a-wire.test"]
    assert body["users"][0]["kind"] == "admin#directory#user" and body["users"][0]["isAdmin"] is True
    second = http.get(_url(lab, "admin/directory/v1/users"), headers=auth,
                      params={"customer": "my_customer", "maxResults": 2, "orderBy": "email",
                              "pageToken": body["nextPageToken"], "fields": "nextPageToken,users(id,primaryEmail)"})
    page = second.json()
    assert [sorted(u) for u in page["users"]] == [["id", "primaryEmail"]] * 2
    assert [u["primaryEmail"] for u in page["users"]] == ["carol@a-wire.test", "it@a-wire.test"]
    assert "nextPageToken" in page and "kind" not in page, "fields= selects only what was asked for"
    last = http.get(_url(lab, "admin/directory/v1/users"), headers=auth,
                    params={"customer": "my_customer", "maxResults": 2, "orderBy": "email",
                            "pageToken": page["nextPageToken"]}).json()
    assert [u["primaryEmail"] for u in last["users"]] == ["user@a-wire.test"] and "nextPageToken" not in last

    # A page token belongs to the parameters it came with; customer or domain is required.
    mixed = http.get(_url(lab, "admin/directory/v1/users"), headers=auth,
                     params={"customer": "my_customer", "orderBy": "givenName", "pageToken": body["nextPageToken"]})
    assert mixed.status_code == 400
    assert http.get(_url(lab, "admin/directory/v1/users"), headers=auth).status_code == 400
    by_domain = http.get(_url(lab, "admin/directory/v1/users"), headers=auth, params={"domain": "a-wire.test"})
    assert len(by_domain.json()["users"]) == 5
    other = http.get(_url(lab, "admin/directory/v1/users"), headers=auth, params={"domain": "a-paged.test"})
    assert other.status_code == 403


def test_tokens_list_get_delete_change_state_and_404(module_lab, http):
    lab, domain = module_lab, "a-wire.test"
    auth = _auth(lab, domain, [SECURITY])
    base = _url(lab, "admin/directory/v1/users/it@a-wire.test/tokens")
    listed = http.get(base, headers=auth)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert body["kind"] == "admin#directory#tokenList"
    mx = [t for t in body["items"] if t["clientId"] == GWFIX][0]
    assert set(mx) == {"kind", "etag", "clientId", "displayText", "scopes", "nativeApp", "anonymous", "userKey"}
    assert mx["kind"] == "admin#directory#token" and mx["scopes"] == [FEEDS] and mx["anonymous"] is False
    user_id = mx["userKey"]
    assert http.get(_url(lab, "admin/directory/v1/users/%s/tokens/%s" % (user_id, GWFIX)),
                    headers=auth).json()["clientId"] == GWFIX, "userKey may be the user's id"

    gone = http.delete(base + "/" + GWFIX, headers=auth)
    assert gone.status_code == 204 and gone.content == b""
    assert grants_of(lab, domain) == {"it@a-wire.test": [OTHER]}
    again = http.delete(base + "/" + GWFIX, headers=auth)
    assert again.status_code == 404 and again.json()["error"]["errors"][0]["reason"] == "notFound"
    nobody = http.get(_url(lab, "admin/directory/v1/users/nobody@a-wire.test/tokens"), headers=auth)
    assert nobody.status_code == 404
    assert http.get(_url(lab, "admin/directory/v1/users/bob@a-wire.test/tokens"), headers=auth).json() == {
        "kind": "admin#directory#tokenList", "etag": http.get(
            _url(lab, "admin/directory/v1/users/bob@a-wire.test/tokens"), headers=auth).json()["etag"]}

    # users.readonly does not reach tokens: Google's 403 for a missing scope.
    wrong = http.get(base, headers=_auth(lab, domain, [USER_RO]))
    assert wrong.status_code == 403
    assert wrong.json()["error"]["details"][0]["reason"] == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
    assert grants_of(lab, domain) == {"it@a-wire.test": [OTHER]}


# -- google_app_grants ---------------------------------------------------------------------------------
def _strip_action(findings):
    out = copy.deepcopy(findings)
    for item in out:
        item.pop("action")
    return out


def test_check_mode_lists_every_grant_then_real_run_revokes_only_mxhero_and_second_run_finds_none(module_lab):
    lab, domain = module_lab, "a-paged.test"
    args = module_args(lab, domain)
    before = grants_of(lab, domain)

    check = run_module("google_app_grants", args, check_mode=True, diff=True)
    assert not check.get("failed"), check
    assert check["changed"] is True
    assert grants_of(lab, domain) == before, "check mode must not revoke"
    assert check["users_read"] == 10, "every page of users.list was read (2 per page)"
    grants = [f for f in check["findings"] if f["kind"] == "oauth_grant"]
    assert [(f["before"]["user"], f["action"]) for f in grants] == [
        ("admin@a-paged.test", "would_remove"), ("zz-last@a-paged.test", "would_remove")]
    assert grants[1]["before"]["suspended"] is True and grants[1]["before"]["scopes"] == [FEEDS]
    assert check["diff"] == {"before": {"admin@a-paged.test": sorted([GWFIX, OTHER]), "zz-last@a-paged.test": [GWFIX]},
                             "after": {"admin@a-paged.test": [OTHER], "zz-last@a-paged.test": []}}
    manual = [f for f in check["findings"] if f["kind"] == "oauth_app"]
    assert manual and manual[0]["action"] == "manual" and "API controls" in manual[0]["manual_steps"]
    assert check["manual_actions"][0]["where"].endswith("Manage Third-Party App Access")

    real = run_module("google_app_grants", args, diff=True)
    assert not real.get("failed"), real
    assert real["changed"] is True
    assert _strip_action(real["findings"]) == _strip_action(check["findings"]), "same findings, only action words"
    assert real["diff"] == check["diff"]
    assert sorted(f["action"] for f in real["findings"]) == ["manual", "removed", "removed"]
    assert grants_of(lab, domain) == {"admin@a-paged.test": [OTHER], "bob@a-paged.test": [OTHER],
                                      "carol@a-paged.test": [EXTRA]}, "only mxHero's GWFIX grants went"
    assert all(r["restorable"] is False and "consents again" in r["restore"] for r in real["removed"])
    assert [(r["user"], r["clientId"], r["displayText"]) for r in real["removed"]] == [
        ("admin@a-paged.test", GWFIX, "mxHero"), ("zz-last@a-paged.test", GWFIX, "mxHero")]

    again = run_module("google_app_grants", args, diff=True)
    assert again["changed"] is False and again["findings"] == [] and again["removed"] == []
    assert grants_of(lab, domain) == {"admin@a-paged.test": [OTHER], "bob@a-paged.test": [OTHER],
                                      "carol@a-paged.test": [EXTRA]}

    # client_ids adds mxHero clients the collection does not know; the rest still stays.
    extra = run_module("google_app_grants", dict(args, client_ids=[EXTRA]))
    assert [f["before"]["user"] for f in extra["findings"] if f["kind"] == "oauth_grant"] == ["carol@a-paged.test"]
    assert grants_of(lab, domain) == {"admin@a-paged.test": [OTHER], "bob@a-paged.test": [OTHER]}


def test_classic_module_path_agrees(module_lab):
    lab, domain = module_lab, "a-clean.test"
    result = run_classic_module("google_app_grants", module_args(lab, domain), check_mode=True)
    assert not result.get("failed"), result
    assert result["changed"] is False and result["findings"] == [] and result["manual_actions"] == []
    always = run_classic_module("google_app_grants", module_args(lab, domain, app_access_steps="always"))
    assert [f["action"] for f in always["findings"]] == ["manual"]
    assert grants_of(lab, domain) == {"bob@a-clean.test": [OTHER]}


def test_max_users_guard_fails_before_any_change(module_lab):
    lab, domain = module_lab, "a-big.test"
    before = grants_of(lab, domain)
    result = run_module("google_app_grants", module_args(lab, domain, max_users=10))
    assert result["failed"] is True
    assert result["msg"] == ("a-big.test: users' OAuth grants (Directory API): the customer has more than 10 users "
                             "(max_users), and each one costs a tokens.list call; no grant was read or changed; "
                             "raise max_users above the number of users to go through all of them")
    assert "partial" not in result
    assert grants_of(lab, domain) == before
    enough = run_module("google_app_grants", module_args(lab, domain, max_users=15))
    assert enough["changed"] is True and enough["users_read"] == 15
    assert grants_of(lab, domain) == {}


def test_missing_scope_is_one_line_naming_domain_and_scope(module_lab):
    lab, domain = module_lab, "a-noscope.test"
    result = run_module("google_app_grants", module_args(lab, domain))
    assert result["failed"] is True
    msg = result["msg"]
    assert "\n" not in msg and "Traceback" not in msg
    assert msg.startswith("a-noscope.test: users' OAuth grants (Directory API): ")
    assert SECURITY in msg and "domain wide delegation" in msg
    assert grants_of(lab, domain) == {"it@a-noscope.test": [GWFIX]}

    # A token without the scope (an admin's one-off token): Google's 403, named the same way.
    token = _auth(lab, domain, [USER_RO])["Authorization"].split(" ", 1)[1]
    args = module_args(lab, domain, access_token=token)
    for key in ("credentials_file", "subject"):
        args.pop(key)
    denied = run_module("google_app_grants", args)
    assert denied["failed"] is True and "\n" not in denied["msg"]
    assert denied["msg"].startswith("a-noscope.test: users' OAuth grants (Directory API): reading the grants of ")
    assert "the token lacks %s; grant it to the client" % SECURITY in denied["msg"]
    assert token not in json.dumps(denied)

    # google_info with app_grants: the same refusal is a caution, the rest of the audit stands.
    info = run_module("google_info", module_args(lab, domain, app_grants=True, audit_log=False))
    assert not info.get("failed"), info
    assert any(c.startswith("a-noscope.test: mxHero's OAuth grants were not checked: ") and SECURITY in c
               for c in info["cautions"])


def test_429_and_5xx_on_reads_are_retried_and_a_5xx_on_revoke_is_never_repeated(module_lab):
    lab, domain = module_lab, "a-fault.test"
    lab.fault("google", kind="429", count=2, retry_after=0, api="directory", method="GET")
    info = run_module("google_info", module_args(lab, domain, app_grants=True, audit_log=False))
    assert not info.get("failed"), info
    assert [f["action"] for f in info["findings"] if f["kind"] == "oauth_grant"] == ["would_remove"]
    assert grants_of(lab, domain) == {"it@a-fault.test": [GWFIX]}, "google_info never revokes"

    lab.fault("google", kind="503", count=1, api="directory", method="DELETE")
    failed = run_module("google_app_grants", module_args(lab, domain))
    assert failed["failed"] is True
    assert "may or may not have been applied" in failed["msg"] and "\n" not in failed["msg"]
    assert grants_of(lab, domain) == {"it@a-fault.test": [GWFIX]}, "the lab refused it: still there"
    done = run_module("google_app_grants", module_args(lab, domain))
    assert done["changed"] is True and grants_of(lab, domain) == {}
