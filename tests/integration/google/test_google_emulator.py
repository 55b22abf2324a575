"""The emulated Google APIs against plain HTTP (requests + a hand-made JWT), per the reference
(shared/reference/google-workspace.md) - independent of the collection's client."""

from __future__ import annotations

import base64
import json
import time

import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from google_lab_helpers import google_estate, module_lab  # noqa: F401 (fixture)

pytestmark = pytest.mark.lab

POLICIES = "https://www.googleapis.com/auth/cloud-identity.policies"
READONLY = POLICIES + ".readonly"
LEGACY = "https://apps-apis.google.com/a/feeds/domain/"
GMAIL = "customer == \"customers/my_customer\" && setting.type.matches('^settings/gmail\\\\..*$')"

ESTATE = google_estate({
    "emu-a.test": {
        "outbound_gateway": {"smart_host": "gmail-out.mxhero.com", "smtp_mode": "SMTP_TLS"},
        "mutate_supported": ["gmail.email_spam_filter_ip_allowlist"],
        "page_size": 2,
        "policies": [
            {"setting": "gmail.email_spam_filter_ip_allowlist", "value": {"allowedIpAddresses": ["54.208.111.28"]}},
            {"setting": "gmail.auto_forwarding", "value": {"enableAutoForwarding": False}},
            {"setting": "gmail.imap_access", "value": {"enableImapAccess": True}},
            {"setting": "gmail.pop_access", "value": {"enablePopAccess": False}},
        ],
    },
    "emu-b.test": {"outbound_gateway": {"smart_host": "relay.emu-b.test", "smtp_mode": "SMTP"}},
})


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def assertion(key_info, sub, scopes, aud=None, key=None, lifetime=3600, iat=None):
    iat = int(time.time()) if iat is None else iat
    claims = {"iss": key_info["client_email"], "sub": sub, "scope": " ".join(scopes),
              "aud": aud or key_info["token_uri"], "iat": iat, "exp": iat + lifetime}
    head = _b64(json.dumps({"alg": "RS256", "typ": "JWT", "kid": key_info["private_key_id"]}).encode())
    body = _b64(json.dumps(claims).encode())
    key = key or serialization.load_pem_private_key(key_info["private_key"].encode(), None)
    sig = key.sign(("%s.%s" % (head, body)).encode(), padding.PKCS1v15(), hashes.SHA256())
    return "%s.%s.%s" % (head, body, _b64(sig))


@pytest.fixture(scope="module")
def env(module_lab):
    svc = module_lab.service("google")
    session = requests.Session()
    session.verify = module_lab.manifest["ca"]
    session.trust_env = False
    key_info = json.loads(open(svc["service_account_file"]).read())
    return module_lab, svc, session, key_info


def token(env, sub="admin@emu-a.test", scopes=(POLICIES,), **kw):
    lab, svc, session, key_info = env
    resp = session.post(svc["token_uri"], data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                                                "assertion": assertion(key_info, sub, scopes, **kw)})
    return resp


def bearer(env, **kw):
    resp = token(env, **kw)
    assert resp.status_code == 200, resp.text
    return {"Authorization": "Bearer " + resp.json()["access_token"]}


def test_key_file_is_private_and_points_at_the_lab(env):
    lab, svc, _, key_info = env
    import os
    import stat
    assert stat.S_IMODE(os.stat(svc["service_account_file"]).st_mode) == 0o600
    assert key_info["type"] == "service_account" and key_info["token_uri"] == svc["token_uri"]


def test_jwt_bearer_grant_issues_a_token(env):
    resp = token(env)
    assert resp.status_code == 200
    body = resp.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 3000 and body["access_token"]


def test_wrong_key_is_refused(env):
    resp = token(env, key=rsa.generate_private_key(public_exponent=65537, key_size=2048))
    assert resp.status_code == 400
    assert resp.json() == {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}


@pytest.mark.parametrize("kw, error", [
    ({"lifetime": 7200}, "invalid_grant"),
    ({"iat": int(time.time()) - 7300}, "invalid_grant"),
    ({"aud": "https://evil.example/token"}, "invalid_grant"),
    ({"scopes": ("https://mail.google.com/",)}, "unauthorized_client"),
    ({"sub": "nobody@elsewhere.example"}, "invalid_grant"),
])
def test_bad_claims_are_refused(env, kw, error):
    resp = token(env, **kw)
    assert resp.status_code in (400, 401)
    assert resp.json()["error"] == error


def test_list_filters_and_pages(env):
    lab, svc, session, _ = env
    headers = bearer(env, scopes=(READONLY,))
    seen, page_token, pages = [], None, 0
    while True:
        params = {"filter": GMAIL, "pageSize": 100}
        if page_token:
            params["pageToken"] = page_token
        resp = session.get(svc["policy_api_endpoint"] + "v1/policies", params=params, headers=headers)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert len(body["policies"]) <= 2
        seen.extend(body["policies"])
        pages += 1
        page_token = body.get("nextPageToken")
        if not page_token:
            break
    # 4 estate policies + Google's SYSTEM policy for per-user outbound gateways
    assert len(seen) == 5 and pages == 3
    assert all(p["customer"].startswith("customers/C") and p["setting"]["type"].startswith("settings/gmail.")
               for p in seen)
    only = session.get(svc["policy_api_endpoint"] + "v1/policies", headers=headers, params={
        "filter": 'setting.type == "settings/gmail.imap_access"'}).json()["policies"]
    assert [p["setting"]["value"] for p in only] == [{"enableImapAccess": True}]


def test_page_token_must_match_the_filter(env):
    lab, svc, session, _ = env
    headers = bearer(env, scopes=(READONLY,))
    first = session.get(svc["policy_api_endpoint"] + "v1/policies", params={"filter": GMAIL},
                        headers=headers).json()
    resp = session.get(svc["policy_api_endpoint"] + "v1/policies", headers=headers,
                       params={"filter": "setting.type.matches('imap')", "pageToken": first["nextPageToken"]})
    assert resp.status_code == 400 and resp.json()["error"]["status"] == "INVALID_ARGUMENT"


def test_bad_filter_is_invalid_argument(env):
    lab, svc, session, _ = env
    resp = session.get(svc["policy_api_endpoint"] + "v1/policies", params={"filter": "name = 3"},
                       headers=bearer(env))
    assert resp.status_code == 400
    assert set(resp.json()["error"]) >= {"code", "message", "status"}


def test_not_a_super_admin_gets_permission_denied(env):
    lab, svc, session, _ = env
    resp = session.get(svc["policy_api_endpoint"] + "v1/policies", headers=bearer(env, sub="user@emu-a.test"))
    assert resp.status_code == 403
    assert resp.json()["error"]["status"] == "PERMISSION_DENIED"


def test_readonly_scope_cannot_write(env):
    lab, svc, session, _ = env
    headers = bearer(env, scopes=(READONLY,))
    name = session.get(svc["policy_api_endpoint"] + "v1/policies", params={"filter": GMAIL},
                       headers=headers).json()["policies"][0]["name"]
    resp = session.delete(svc["policy_api_endpoint"] + "v1/" + name, headers=headers)
    assert resp.status_code == 403
    assert resp.json()["error"]["details"][0]["reason"] == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"


def test_missing_token_is_unauthenticated(env):
    lab, svc, session, _ = env
    resp = session.get(svc["policy_api_endpoint"] + "v1/policies")
    assert resp.status_code == 401 and resp.json()["error"]["status"] == "UNAUTHENTICATED"


def _policy(env, setting_type):
    lab, svc, session, _ = env
    rows = session.get(svc["policy_api_endpoint"] + "v1/policies", headers=bearer(env),
                       params={"filter": 'setting.type == "settings/%s"' % setting_type}).json()["policies"]
    return rows[0]


def test_patch_get_create_delete_with_operations(env):
    lab, svc, session, _ = env
    headers = bearer(env)
    base = svc["policy_api_endpoint"] + "v1/"
    policy = _policy(env, "gmail.email_spam_filter_ip_allowlist")
    op = session.patch(base + policy["name"], headers=headers, json={"setting": {
        "type": policy["setting"]["type"], "value": {"allowedIpAddresses": ["192.0.2.1"]}}}).json()
    assert op["done"] is True and op["response"]["setting"]["value"] == {"allowedIpAddresses": ["192.0.2.1"]}
    assert session.get(base + policy["name"], headers=headers).json()["setting"]["value"] == \
        {"allowedIpAddresses": ["192.0.2.1"]}
    created = session.post(base + "policies", headers=headers, json={
        "customer": "customers/my_customer", "policyQuery": {"orgUnit": policy["policyQuery"]["orgUnit"]},
        "setting": {"type": policy["setting"]["type"], "value": {"allowedIpAddresses": []}}}).json()
    new_name = created["response"]["name"]
    assert session.delete(base + new_name, headers=headers).json()["done"] is True
    assert session.get(base + new_name, headers=headers).status_code == 404


def test_types_without_mutate_support_answer_unimplemented(env):
    lab, svc, session, _ = env
    policy = _policy(env, "gmail.imap_access")
    resp = session.patch(svc["policy_api_endpoint"] + "v1/" + policy["name"], headers=bearer(env),
                         json={"setting": {"type": policy["setting"]["type"], "value": {"enableImapAccess": False}}})
    assert resp.status_code == 501 and resp.json()["error"]["status"] == "UNIMPLEMENTED"
    assert _policy(env, "gmail.imap_access")["setting"]["value"] == {"enableImapAccess": True}


def test_faults_429_with_retry_after_then_recovery(env):
    lab, svc, session, _ = env
    headers = bearer(env)
    lab.fault("google", kind="429", count=1, retry_after=3, api="policy")
    first = session.get(svc["policy_api_endpoint"] + "v1/policies", headers=headers)
    assert first.status_code == 429 and first.headers["Retry-After"] == "3"
    assert first.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert session.get(svc["policy_api_endpoint"] + "v1/policies", headers=headers).status_code == 200


@pytest.mark.parametrize("kind, status", [("503", "UNAVAILABLE"), ("403", "PERMISSION_DENIED")])
def test_faults_answer_google_error_bodies(env, kind, status):
    lab, svc, session, _ = env
    headers = bearer(env)
    lab.fault("google", kind=kind, count=1, api="policy")
    resp = session.get(svc["policy_api_endpoint"] + "v1/policies", headers=headers)
    assert resp.status_code == int(kind) and resp.json()["error"]["status"] == status
    assert session.get(svc["policy_api_endpoint"] + "v1/policies", headers=headers).status_code == 200


def test_legacy_gateway_read_and_seed_put(env):
    lab, svc, session, _ = env
    url = svc["admin_settings_endpoint"] + "a/feeds/domain/2.0/emu-a.test/email/gateway"
    headers = bearer(env, scopes=(LEGACY,))
    got = session.get(url, headers=headers)
    assert got.status_code == 200 and got.headers["Content-Type"].startswith("application/atom+xml")
    assert b"name=\"smartHost\" value=\"gmail-out.mxhero.com\"" in got.content
    seed = ('<atom:entry xmlns:atom="http://www.w3.org/2005/Atom" xmlns:apps="http://schemas.google.com/apps/2006">'
            '<apps:property name="smartHost" value="" /><apps:property name="smtpMode" value="SMTP" /></atom:entry>')
    put = session.put(url, data=seed, headers=dict(headers, **{"Content-Type": "application/atom+xml"}))
    assert put.status_code == 200
    assert lab.state()["google"]["customers"]["emu-a.test"]["outbound_gateway"] == {"smartHost": "",
                                                                                    "smtpMode": "SMTP"}


def test_legacy_needs_its_scope_and_the_right_domain(env):
    lab, svc, session, _ = env
    base = svc["admin_settings_endpoint"] + "a/feeds/domain/2.0/%s/email/gateway"
    assert session.get(base % "emu-a.test", headers=bearer(env)).status_code == 403
    other = session.get(base % "emu-b.test", headers=bearer(env, scopes=(LEGACY,)))
    assert other.status_code == 403
    assert lab.state()["google"]["customers"]["emu-b.test"]["outbound_gateway"]["smartHost"] == "relay.emu-b.test"


def test_authorized_user_refresh_grant(env):
    lab, svc, session, _ = env
    info = json.loads(open(svc["customers"]["emu-b.test"]["authorized_user_file"]).read())
    resp = session.post(info["token_uri"], data={"grant_type": "refresh_token", "refresh_token": info["refresh_token"],
                                                 "client_id": info["client_id"], "client_secret": "wrong"})
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_grant"
    resp = session.post(info["token_uri"], data={"grant_type": "refresh_token", "refresh_token": info["refresh_token"],
                                                 "client_id": info["client_id"], "client_secret": info["client_secret"]})
    assert resp.status_code == 200 and resp.json()["access_token"]
