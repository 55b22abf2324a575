"""Remote Exchange PowerShell glue: deserialised objects to engine records, connection settings."""

from __future__ import annotations

import pytest
from pypsrp.complex_objects import GenericComplexObject

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._exchange import module as exchange_module, objects, remote


def exchange_obj(to_string, **props):
    obj = GenericComplexObject()
    obj.to_string = to_string
    obj.adapted_properties = props
    return obj


def test_deserialised_connector_becomes_the_engine_record():
    identity = exchange_obj("Outbound via mxHero", DistinguishedName="CN=Outbound via mxHero,...")
    raw = remote.as_dict(exchange_obj("Outbound via mxHero", Name="Outbound via mxHero", Identity=identity,
                                      Enabled=True, SmartHosts=["smtp.mxhero.com"], AddressSpaces=["SMTP:*;1"],
                                      DNSRoutingEnabled=False, Port=25, Fqdn=None, RequireTLS=None,
                                      MaxMessageSize=exchange_obj("35 MB (36,700,160 bytes)")))
    record = objects.send_connector(raw)
    assert record["identity"] == "Outbound via mxHero" and record["smart_hosts"] == ["smtp.mxhero.com"]
    assert record["enabled"] is True and record["dns_routing_enabled"] is False and record["port"] == 25
    # Properties an Exchange version lacks read as PowerShell's casts would: "" and False.
    assert record["fqdn"] == "" and record["require_tls"] is False and record["tls_domain"] == ""
    assert record["max_message_size"] == "35 MB (36,700,160 bytes)"
    assert record["source_transport_servers"] == []


def test_pick_server_by_name_or_fqdn_else_the_only_one():
    servers = [{"name": "EX01", "fqdn": "ex01.contoso.com"}, {"name": "EX02", "fqdn": "ex02.contoso.com"}]
    assert objects.pick_server(servers, "EX02.contoso.com.")["name"] == "EX02"
    assert objects.pick_server(servers, "ex01")["name"] == "EX01"
    assert objects.pick_server(servers, "10.0.0.5") is None
    assert objects.pick_server(servers[:1], "10.0.0.5")["name"] == "EX01"


@pytest.mark.parametrize("transport,psrp_transport,psrp_scheme,expected", [
    ("ntlm", None, None, ("http", "negotiate")),
    ("kerberos", None, None, ("http", "kerberos")),
    ("basic", None, None, ("https", "basic")),
    ("ntlm", "kerberos", "https", ("https", "kerberos")),
])
def test_remote_powershell_settings_follow_the_winrm_transport(transport, psrp_transport, psrp_scheme, expected):
    params = {"transport": transport, "psrp_transport": psrp_transport, "psrp_scheme": psrp_scheme}
    assert exchange_module.psrp_settings(params) == expected


def test_basic_over_http_is_refused_before_any_connection():
    params = {k: None for k in exchange_module.connection_argument_spec()}
    params.update(host="ex01.contoso.com", transport="ntlm", psrp_transport="basic", psrp_scheme="http",
                  username="CONTOSO\\admin", password="pw", validate_certs=True, read_timeout=30,
                  operation_timeout=20, command_timeout=300, message_encryption="auto", exchange_snapin="auto",
                  fingerprint_hosts=None)
    params.update({k: v.get("default") for k, v in exchange_module.connection_argument_spec().items()
                   if params.get(k) is None and "default" in v})
    with pytest.raises(UnrouteError) as err:
        exchange_module.build_engine(params, False, winrm=False)
    assert "would send the password in clear" in str(err.value) and "psrp_scheme=https" in str(err.value)


def test_shell_url_and_certificate_validation():
    shell = remote.ExchangeShell("ex01.contoso.com", scheme="https", auth="basic", ca_path="/etc/ca.pem")
    assert shell.url == "https://ex01.contoso.com:443/PowerShell/" and shell.cert_validation == "/etc/ca.pem"
    assert remote.ExchangeShell("ex01", validate_certs=False).cert_validation is False
    assert remote.ExchangeShell("::1").url == "http://[::1]:80/PowerShell/"
