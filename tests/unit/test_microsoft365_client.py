"""The Exchange Online client's wire handling, with canned replies instead of a server."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from ansible_collections.mxhero.unroute.plugins.module_utils._exo import client as exo
from ansible_collections.mxhero.unroute.plugins.module_utils._retry import TransientError
from unroute_lab.pki import cert_pem, self_signed


class Reply(object):
    def __init__(self, status, body=None, headers=None):
        self.status_code = status
        self.headers = headers or {}
        self.text = body if isinstance(body, str) else json.dumps(body) if body is not None else ""

    def json(self):
        return json.loads(self.text)


BODY = {"CmdletInput": {"CmdletName": "Get-TransportRule", "Parameters": {}}}


@pytest.fixture
def pem_file(tmp_path):
    key, cert = self_signed("app")
    path = tmp_path / "app.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.BestAvailableEncryption(b"pw-1234"))
                     + cert_pem(cert))
    return path, key, cert


def make(path=None, secret=None, password=None):
    return exo.ExoClient("tid", "cid", certificate_path=path and str(path), certificate_password=password,
                         client_secret=secret)


def test_encrypted_pem_with_password_and_thumbprint(pem_file):
    path, _key, cert = pem_file
    client = make(path, password="pw-1234")
    assert client._credential["thumbprint"] == cert.fingerprint(hashes.SHA1()).hex()
    with pytest.raises(exo.ExoAuthError) as err:
        make(path, password="wrong")
    assert "certificate_password" in str(err.value) and "wrong" not in str(err.value)


def test_pem_without_certificate_is_refused(tmp_path):
    key, _cert = self_signed("app")
    path = tmp_path / "key.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    with pytest.raises(exo.ExoAuthError, match="no certificate"):
        make(path)


def test_pfx(tmp_path):
    key, cert = self_signed("app")
    path = tmp_path / "app.pfx"
    path.write_bytes(pkcs12.serialize_key_and_certificates(b"a", key, cert, None,
                                                           serialization.BestAvailableEncryption(b"pfxpass")))
    assert make(path, password="pfxpass")._credential["thumbprint"]


@pytest.mark.parametrize("reply, kind, outcome_unknown", [
    (Reply(429, {"error": {"code": "TooManyRequests"}}, {"Retry-After": "3"}), TransientError, False),
    (Reply(503, {"error": {"code": "ServiceUnavailable"}}), TransientError, False),
    (Reply(504, {"error": {"code": "GatewayTimeout"}}), TransientError, True),
    (Reply(400, "The maximum number of concurrent requests per tenant has been exceeded"), TransientError, False),
])
def test_transient_replies(reply, kind, outcome_unknown):
    client = make(secret="s3cret-value")
    with pytest.raises(kind) as err:
        client._read(reply, BODY, write=True)
    assert err.value.unknown_outcome is outcome_unknown
    if "Retry-After" in reply.headers:
        assert err.value.retry_after == 3.0


def test_error_replies_become_one_line():
    client = make(secret="s3cret-value")
    not_found = Reply(404, {"error": {"code": "NotFound", "message": "Error executing cmdlet", "details": [
        {"code": "Context", "target": "", "message": "Ex6F9304|Microsoft.Exchange.Configuration.Tasks."
         "ManagementObjectNotFoundException|The operation couldn't be performed because object 'X' couldn't be "
         "found on 'AM0PR01.PROD.OUTLOOK.COM'."}]}})
    with pytest.raises(exo.ExoNotFound) as err:
        client._read(not_found, BODY, write=False)
    assert str(err.value).startswith("Get-TransportRule: The operation couldn't be performed")
    forbidden = Reply(403, "", {"x-ms-diagnostics": '2000008;reason="no role s3cret-value";error_category="x"'})
    with pytest.raises(exo.ExoAuthError) as err:
        client._read(forbidden, BODY, write=False)
    assert err.value.status == 403 and "no role" in str(err.value) and "s3cret-value" not in str(err.value)


def test_retry_after_as_http_date():
    assert exo._retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert exo._retry_after("12") == 12.0 and exo._retry_after(None) is None


def test_nextlink_must_stay_on_the_endpoint():
    client = exo.ExoClient("tid", "cid", client_secret="x" * 8, api_endpoint="https://outlook.office365.com")
    assert client._same_origin("https://outlook.office365.com/adminapi/beta/tid/InvokeCommand?$skiptoken=a")
    assert not client._same_origin("https://outlook.office365.com.evil.example/adminapi/beta/tid/InvokeCommand")
    assert not client._same_origin("http://outlook.office365.com/adminapi/beta/tid/InvokeCommand")


def test_connectors_are_read_with_test_mode_ones_and_without_if_the_cmdlet_lacks_the_parameter(monkeypatch):
    client = make(secret="s3cret-value")
    calls = []

    def invoke(cmdlet, parameters=None, write=False):
        calls.append((cmdlet, dict(parameters or {})))
        if cmdlet == "Get-InboundConnector" and "IncludeTestModeConnectors" in parameters:
            raise exo.ExoError("Get-InboundConnector: HTTP 400 BadRequest: A parameter cannot be found that matches "
                               "parameter name 'IncludeTestModeConnectors'.", status=400, code="BadRequest")
        return [{"Name": "x"}]

    monkeypatch.setattr(client, "invoke", invoke)
    assert client.list("OutboundConnector") == [{"Name": "x"}]
    assert client.list("InboundConnector") == [{"Name": "x"}]
    assert client.list("TransportRule") == [{"Name": "x"}]
    assert client.get("OutboundConnector", "x") == {"Name": "x"}
    assert calls == [("Get-OutboundConnector", {"IncludeTestModeConnectors": True}),
                     ("Get-InboundConnector", {"IncludeTestModeConnectors": True}),
                     ("Get-InboundConnector", {}),
                     ("Get-TransportRule", {}),
                     ("Get-OutboundConnector", {"Identity": "x", "IncludeTestModeConnectors": True})]
