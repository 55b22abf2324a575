"""Partner mode's pure parts (issue 25): tenant discovery replies, the token cache, the Google delegation line."""

from __future__ import annotations

import base64
import json
import time

import pytest

from ansible_collections.mxhero.unroute.plugins.module_utils._exo import partner
from ansible_collections.mxhero.unroute.plugins.module_utils._google import delegation

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


class Reply:
    def __init__(self, status, body):
        self.status_code = status
        self._body = body
        self.text = json.dumps(body)

    def json(self):
        return self._body


class Session:
    def __init__(self, reply):
        self.reply = reply
        self.urls = []

    def get(self, url, **kwargs):
        self.urls.append(url)
        return self.reply


@pytest.fixture(autouse=True)
def clean():
    partner.clear_caches()
    yield
    partner.clear_caches()


def test_tenant_comes_from_the_issuer_and_is_asked_once():
    # The shape Entra ID publishes for a domain (issuer and token_endpoint carry the tenant GUID).
    session = Session(Reply(200, {"issuer": "https://login.microsoftonline.com/%s/v2.0" % TENANT,
                                  "token_endpoint": "https://login.microsoftonline.com/%s/oauth2/v2.0/token" % TENANT}))
    for name in ("Contoso.COM", "contoso.com."):
        assert partner.tenant_for_domain(name, session=session) == TENANT
    assert session.urls == ["https://login.microsoftonline.com/contoso.com/v2.0/.well-known/openid-configuration"]


def test_a_guid_is_its_own_tenant():
    session = Session(None)
    assert partner.tenant_for_domain(TENANT.upper(), session=session) == TENANT
    assert not session.urls


def test_unknown_domain_is_aadsts90002():
    session = Session(Reply(400, {"error": "invalid_tenant", "error_description": "AADSTS90002: Tenant 'nope.example' "
                                  "not found. Check to make sure you have the correct tenant ID."}))
    with pytest.raises(partner.PartnerError) as err:
        partner.tenant_for_domain("nope.example", session=session)
    assert err.value.status == "unknown_domain" and "AADSTS90002" in err.value.cause
    assert "set tenant_id" in err.value.fix


def test_cached_token_is_not_handed_out_near_expiry():
    key = ("a", TENANT, "app", "x5t:ab", "res")
    partner.store_token(key, "t1", 3599)
    assert partner.cached_token(key) == "t1"
    partner.store_token(key, "t2", 60)  # inside the margin: a fresh one is fetched instead
    assert partner.cached_token(key) is None
    partner.store_token(key, "t3", 3599)
    partner.forget_token(key)
    assert partner.cached_token(key) is None


def test_credential_id_never_holds_the_secret():
    ident = partner.credential_id("very-secret-value")
    assert "very-secret-value" not in ident
    assert partner.credential_id({"thumbprint": "ABCD", "private_key": "PEM"}) == "x5t:abcd"


def _jwt(claims):
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return "e30.%s.sig" % body


def test_token_roles():
    assert partner.token_roles(_jwt({"roles": ["Exchange.ManageAsApp"], "exp": time.time()})) == [
        "Exchange.ManageAsApp"]
    assert partner.token_roles(_jwt({"tid": TENANT})) == []
    assert partner.token_roles("not-a-jwt") is None


def test_admin_consent_url():
    assert partner.admin_consent_url(TENANT, "app-1", "https://login.microsoftonline.com/") == (
        "https://login.microsoftonline.com/%s/adminconsent?client_id=app-1" % TENANT)


def test_subject_pattern_and_paste_list():
    assert delegation.subject_for("Acme.Example", "admin@{domain}") == "admin@acme.example"
    assert delegation.subject_for("acme.example", "it@acme.example") == "it@acme.example"
    assert delegation.subject_for("acme.example", None) is None
    extra = "https://www.googleapis.com/auth/extra"
    pasted = delegation.paste_list([delegation.ESTATE_SCOPES[0], extra]).split(",")
    assert pasted == list(delegation.ESTATE_SCOPES) + [extra]
    line = delegation.delegation_fix("acme.example", "1234567890", [extra])
    assert "Client ID 1234567890" in line and ",".join(pasted) in line and " " not in ",".join(pasted)


def test_delegation_status_reads_googles_refusal():
    text = ("unauthorized_client: Client is unauthorized to retrieve access tokens using this method, or client not "
            "authorized for any of the scopes requested.")
    status, cause, fix = delegation.delegation_status("acme.example", "123", ["s1"], text)
    assert status == "no_delegation" and "123" in cause and "Client ID 123" in fix
    assert delegation.delegation_status("acme.example", "123", ["s1"], "invalid_grant: Invalid JWT") is None
