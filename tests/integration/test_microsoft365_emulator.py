"""The Exchange Online emulator against shared/reference/exchange-online.md, spoken to with plain ``requests``.

Nothing here uses the collection's client or msal: the client assertion is
built by hand, so the emulator is held to the documented wire format, not to
whatever our client happens to send.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from microsoft365_fixtures import start_lab, stop_lab, tenant

pytestmark = pytest.mark.lab

ANCHOR = "APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@%s"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    domains = [
        tenant("wire.test", page_size=1000,
               outbound_connectors=[{"Name": "mx out", "SmartHosts": ["smtp.mxhero.com"], "IsTransportRuleScoped": True},
                                    {"Name": "partner out", "SmartHosts": ["mail.partner.example"]}],
               inbound_connectors=[{"Name": "mx in", "SenderIPAddresses": ["54.208.111.28"]}],
               transport_rules=[{"Name": "rule %d" % i} for i in range(5)]
               + [{"Name": "via mx", "RouteMessageOutboundConnector": "mx out"}]),
        tenant("norole.test", app={"exchange_role": False}),
        tenant("faults.test", transport_rules=[{"Name": "r1"}, {"Name": "r2"}]),
        tenant("held.test", inbound_connectors=[
            {"Name": "hybrid in", "ConnectorType": "OnPremises", "Enabled": False, "SenderIPAddresses": ["192.0.2.5"]},
            {"Name": "partner in", "ConnectorType": "Partner", "Enabled": False, "SenderDomains": ["p.example"]}]),
        tenant("modes.test",
               outbound_connectors=[{"Name": "live out", "SmartHosts": ["a.example"]},
                                    {"Name": "trial out", "SmartHosts": ["smtp.mxhero.com"], "TestMode": True}],
               inbound_connectors=[{"Name": "trial in", "SenderIPAddresses": ["54.208.111.28"], "TestMode": True}],
               connection_filter_ip_allow_list=["54.208.111.28", "198.51.100.7", "52.22.51.90-52.22.51.100"]),
    ]
    lab = start_lab(tmp_path_factory.mktemp("exo-wire"), domains)
    yield lab
    stop_lab(lab)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def assertion(app, audience, key=None, cert_der=None, **claims):
    """RFC 7523 client assertion: RS256, x5t = base64url(SHA-1(DER certificate))."""
    pem = Path(app["certificate_path"]).read_bytes()
    if key is None:
        key = serialization.load_pem_private_key(pem, None)
    if cert_der is None:
        cert_der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    now = int(time.time())
    body = {"aud": audience, "iss": app["client_id"], "sub": app["client_id"], "jti": str(uuid.uuid4()),
            "nbf": now, "exp": now + 600}
    body.update(claims)
    header = {"alg": "RS256", "typ": "JWT", "x5t": b64url(hashlib.sha1(cert_der).digest())}
    signing_input = "%s.%s" % (b64url(json.dumps(header).encode()), b64url(json.dumps(body).encode()))
    return signing_input + "." + b64url(key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256()))


class Wire:
    def __init__(self, lab, domain):
        self.svc = lab.service("exo")
        self.app = self.svc["tenants"][domain]
        self.tid = self.app["tenant_id"]
        self.ca = self.svc["ca"]
        self.base = self.svc["url"]

    def discovery(self, tenant=None):
        return requests.get("%s/%s/v2.0/.well-known/openid-configuration" % (self.base, tenant or self.tid),
                            verify=self.ca, timeout=10)

    def token_reply(self, **form):
        endpoint = self.discovery().json()["token_endpoint"]
        data = {"grant_type": "client_credentials", "client_id": self.app["client_id"],
                "scope": "https://outlook.office365.com/.default"}
        if "client_secret" not in form and "client_assertion" not in form:
            data["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
            data["client_assertion"] = assertion(self.app, endpoint)
        data.update(form)
        return requests.post(endpoint, data=data, verify=self.ca, timeout=10)

    def token(self):
        reply = self.token_reply()
        assert reply.status_code == 200, reply.text
        return reply.json()["access_token"]

    def invoke(self, cmdlet, params=None, token=None, url=None, page_size=None, **headers):
        hdrs = {"Authorization": "Bearer %s" % (token or self.token()), "Content-Type": "application/json",
                "X-ResponseFormat": "json", "X-AnchorMailbox": ANCHOR % self.tid,
                "Prefer": "odata.maxpagesize=%d" % (page_size or 1000)}
        hdrs.update(headers)
        body = {"CmdletInput": {"CmdletName": cmdlet, "Parameters": params or {}}}
        return requests.post(url or "%s/adminapi/beta/%s/InvokeCommand" % (self.base, self.tid),
                             json=body, headers=hdrs, verify=self.ca, timeout=10)


def test_discovery_and_token_with_a_hand_made_assertion(lab):
    wire = Wire(lab, "wire.test")
    config = wire.discovery().json()
    assert config["token_endpoint"] == "%s/%s/oauth2/v2.0/token" % (wire.base, wire.tid)
    reply = wire.token_reply()
    assert reply.status_code == 200
    body = reply.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0 and body["access_token"].count(".") == 2
    unknown = wire.discovery(tenant=str(uuid.uuid4()))
    assert unknown.status_code == 400 and "AADSTS90002" in unknown.json()["error_description"]


def test_client_secret_right_and_wrong(lab):
    wire = Wire(lab, "wire.test")
    secret = Path(wire.app["client_secret_file"]).read_text()
    assert wire.token_reply(client_secret=secret).status_code == 200
    wrong = wire.token_reply(client_secret=secret + "x")
    assert wrong.status_code == 401 and "AADSTS7000215" in wrong.json()["error_description"]


def test_assertion_flaws_are_refused(lab):
    wire = Wire(lab, "wire.test")
    endpoint = wire.discovery().json()["token_endpoint"]
    jwt_type = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    pem = Path(wire.app["certificate_path"]).read_bytes()
    der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cases = {
        "signed by another key, registered x5t": (assertion(wire.app, endpoint, key=other_key, cert_der=der), 700027),
        "unregistered certificate": (assertion(wire.app, endpoint, cert_der=b"not the registered cert"), 700027),
        "expired": (assertion(wire.app, endpoint, exp=int(time.time()) - 3600, nbf=int(time.time()) - 4000), 700024),
        "wrong audience": (assertion(wire.app, "https://login.microsoftonline.com/x/oauth2/v2.0/token"), 700212),
    }
    for name, (token, code) in cases.items():
        reply = wire.token_reply(client_assertion_type=jwt_type, client_assertion=token)
        assert reply.status_code in (400, 401), name
        assert reply.json()["error_codes"] == [code], (name, reply.text)
    no_jti = assertion(wire.app, endpoint, jti="")
    assert wire.token_reply(client_assertion_type=jwt_type, client_assertion=no_jti).status_code == 400


def test_paging_follows_nextlink_on_the_same_host(lab):
    wire = Wire(lab, "wire.test")
    token = wire.token()
    reply = wire.invoke("Get-TransportRule", token=token, page_size=2)
    names, pages = [], 0
    while True:
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert "@odata.context" in body
        pages += 1
        names += [rule["Name"] for rule in body["value"]]
        link = body.get("@odata.nextLink")
        if not link:
            break
        assert link.startswith(wire.base + "/adminapi/beta/")
        reply = wire.invoke("Get-TransportRule", token=token, url=link)
    assert pages == 3
    assert names == ["rule 0", "rule 1", "rule 2", "rule 3", "rule 4", "via mx"]
    rule = wire.invoke("Get-TransportRule", token=token).json()["value"][0]
    for key in ("Name", "Identity", "Guid", "State", "Mode", "Priority", "RouteMessageOutboundConnector"):
        assert key in rule


def test_documented_error_bodies(lab):
    wire = Wire(lab, "wire.test")
    token = wire.token()
    missing = wire.invoke("Get-TransportRule", {"Identity": "No such rule"}, token=token)
    assert missing.status_code == 404
    error = missing.json()["error"]
    assert error["code"] == "NotFound" and error["message"] == "Error executing cmdlet"
    code, exception, text = error["details"][0]["message"].split("|")
    assert code.startswith("Ex") and exception.endswith("ManagementObjectNotFoundException")
    assert "No such rule" in text
    bad = wire.invoke("Get-TransportRule", {"Frobnicate": True}, token=token)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "BadRequest"
    no_token = wire.invoke("Get-TransportRule", token="not-a-jwt")
    assert no_token.status_code == 401 and "invalid_token" in no_token.headers["WWW-Authenticate"]
    norole = Wire(lab, "norole.test")
    forbidden = norole.invoke("Get-TransportRule")
    assert forbidden.status_code == 403 and forbidden.text == ""
    assert "reason=" in forbidden.headers["x-ms-diagnostics"]
    other_tenant = wire.invoke("Get-TransportRule", token=norole.token())
    assert other_tenant.status_code == 401


def test_exchange_refuses_a_rule_through_a_disabled_connector(lab):
    wire = Wire(lab, "wire.test")
    token = wire.token()
    refused = wire.invoke("Set-OutboundConnector", {"Identity": "mx out", "Enabled": False, "Confirm": False},
                          token=token)
    assert refused.status_code == 400 and "via mx" in refused.text
    assert wire.invoke("Disable-TransportRule", {"Identity": "via mx", "Confirm": False}, token=token).status_code == 200
    assert wire.invoke("Set-OutboundConnector", {"Identity": "mx out", "Enabled": False, "Confirm": False},
                       token=token).status_code == 200
    again = wire.invoke("Enable-TransportRule", {"Identity": "via mx", "Confirm": False}, token=token)
    assert again.status_code == 400 and "Enable the connector" in again.text
    assert wire.invoke("Set-OutboundConnector", {"Identity": "mx out", "Enabled": True}, token=token).status_code == 200
    assert wire.invoke("Enable-TransportRule", {"Identity": "via mx"}, token=token).status_code == 200
    typed = wire.invoke("Set-OutboundConnector", {"Identity": "mx out", "Enabled": "false"}, token=token)
    assert typed.status_code == 400, "a string is not a JSON boolean"


def test_switchable_faults(lab):
    wire = Wire(lab, "faults.test")
    token = wire.token()
    lab.fault("exo", kind="429", retry_after=7, tenant="faults.test")
    throttled = wire.invoke("Get-TransportRule", token=token)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "7"
    lab.fault("exo", kind="429", tenant="faults.test")
    assert "Retry-After" not in wire.invoke("Get-TransportRule", token=token).headers
    lab.fault("exo", kind="concurrency", tenant="faults.test")
    busy = wire.invoke("Get-TransportRule", token=token)
    assert busy.status_code == 429 and "concurrent requests per tenant" in busy.text
    lab.fault("exo", kind="5xx", status=503, tenant="faults.test")
    assert wire.invoke("Get-TransportRule", token=token).status_code == 503
    assert wire.invoke("Get-TransportRule", token=token).status_code == 200, "count 1 means once"
    # lag: after a write, the next reads still see the old object
    lab.fault("exo", kind="lag", reads=2, tenant="faults.test")
    assert wire.invoke("Disable-TransportRule", {"Identity": "r1"}, token=token).status_code == 200
    seen = [wire.invoke("Get-TransportRule", {"Identity": "r1"}, token=token).json()["value"][0]["State"]
            for _ in range(3)]
    assert seen == ["Enabled", "Enabled", "Disabled"]
    # a write that happens although the caller hears 504
    lab.fault("exo", kind="5xx", status=504, after_write=True, tenant="faults.test")
    assert wire.invoke("Disable-TransportRule", {"Identity": "r2"}, token=token).status_code == 504
    assert wire.invoke("Get-TransportRule", {"Identity": "r2"}, token=token).json()["value"][0]["State"] == "Disabled"
    # an expired access token
    lab.fault("exo", kind="expired_token", tenant="faults.test")
    expired = wire.invoke("Get-TransportRule", token=wire.token())
    assert expired.status_code == 401 and "expired" in expired.headers["x-ms-diagnostics"]


def test_test_mode_connectors_only_with_include_test_mode_connectors(lab):
    wire = Wire(lab, "modes.test")
    token = wire.token()

    def names(cmdlet, **params):
        reply = wire.invoke(cmdlet, params, token=token)
        assert reply.status_code == 200, reply.text
        return sorted(c["Name"] for c in reply.json()["value"])

    assert names("Get-OutboundConnector") == ["live out"]
    assert names("Get-OutboundConnector", IncludeTestModeConnectors=False) == ["live out"]
    assert names("Get-OutboundConnector", IncludeTestModeConnectors=True) == ["live out", "trial out"]
    assert names("Get-InboundConnector") == []
    assert names("Get-InboundConnector", IncludeTestModeConnectors=True) == ["trial in"]
    typed = wire.invoke("Get-OutboundConnector", {"IncludeTestModeConnectors": "$true"}, token=token)
    assert typed.status_code == 400


def test_connection_filter_allow_list_edits(lab):
    wire = Wire(lab, "modes.test")
    token = wire.token()

    def allow_list():
        reply = wire.invoke("Get-HostedConnectionFilterPolicy", {"Identity": "Default"}, token=token)
        return reply.json()["value"][0]["IPAllowList"]

    def set_list(value):
        return wire.invoke("Set-HostedConnectionFilterPolicy", {"Identity": "Default", "IPAllowList": value,
                                                                "Confirm": False}, token=token)

    assert set_list({"Remove": ["54.208.111.28"]}).status_code == 200, "PowerShell's @{Remove=...}"
    assert allow_list() == ["198.51.100.7", "52.22.51.90-52.22.51.100"]
    assert set_list({"Add": "192.0.2.0/24", "Remove": "not-there"}).status_code == 200
    assert allow_list() == ["198.51.100.7", "52.22.51.90-52.22.51.100", "192.0.2.0/24"]
    too_wide = set_list({"Add": ["10.0.0.0/8"]})
    assert too_wide.status_code == 400 and "/24 to /32" in too_wide.text
    assert set_list({"Frob": ["1.2.3.4"]}).status_code == 400
    assert set_list(["203.0.113.5"]).status_code == 200 and allow_list() == ["203.0.113.5"]
    assert set_list(None).status_code == 200 and allow_list() == []
    missing = wire.invoke("Set-HostedConnectionFilterPolicy", {"Identity": "Nope", "IPAllowList": []}, token=token)
    assert missing.status_code == 404


def test_inbound_hold_keeps_an_onpremises_connector_disabled_with_microsofts_warning(lab):
    """Microsoft's Inbound connector FAQ: for some service offerings (tenants created after 2023) enabling an
    OnPremises inbound connector succeeds with the warning "For this service offering, you can't enable an inbound
    connector. Contact Support to enable it." and the connector stays disabled."""
    wire = Wire(lab, "held.test")
    token = wire.token()
    lab.fault("exo", kind="inbound_hold", tenant="held.test", count=-1)

    def enable(name):
        reply = wire.invoke("Set-InboundConnector", {"Identity": name, "Enabled": True, "Confirm": False}, token=token)
        assert reply.status_code == 200, reply.text
        state = wire.invoke("Get-InboundConnector", {"Identity": name}, token=token).json()["value"][0]["Enabled"]
        return reply.json(), state

    held, state = enable("hybrid in")
    assert held["value"] == [] and state is False
    assert held["@adminapi.warnings"] == ["For this service offering, you can't enable an inbound connector. "
                                          "Contact Support to enable it."]
    partner, state = enable("partner in")
    assert "@adminapi.warnings" not in partner and state is True
