"""The lab's Exchange remote PowerShell endpoint, driven with plain pypsrp (not the collection's client)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pypsrp.exceptions import AuthenticationError, WSManFaultError
from pypsrp.powershell import PowerShell, PSInvocationState, RunspacePool
from pypsrp.wsman import WSMan

from exchange_fixtures import org

pytestmark = pytest.mark.lab
MVP = "Microsoft.Exchange.Data.MultiValuedProperty`1[[%s]]"


def endpoint(lab, domain="ex-t.test", https=False, auth="negotiate", password=None, **kw):
    entry = lab.service("winrm")["organizations"][domain]
    server = entry["servers"][0]
    real = Path(entry["password_file"]).read_text().strip()
    return WSMan("127.0.0.1", port=server["psrp_https_port" if https else "psrp_http_port"], path="PowerShell/",
                 ssl=https, auth=auth, username=kw.pop("username", entry["username"]),
                 password=real if password is None else password, cert_validation=lab.manifest["ca"], **kw)


def invoke(pool, cmdlet, **params):
    ps = PowerShell(pool)
    ps.add_cmdlet(cmdlet)
    for name, value in params.items():
        ps.add_parameter(name, value)
    return ps, ps.invoke()


def connectors(lab):
    return {c["name"]: c for c in lab.state()["winrm"]["organizations"]["ex-t.test"]["send_connectors"]}


def test_cmdlet_round_trip_changes_the_organisation(exchange_lab):
    lab = exchange_lab({"domains": [org(send_connectors=[
        {"name": "Outbound via mxHero", "smart_hosts": ["smtp.mxhero.com", "10.1.2.3"]},
        {"name": "Old relay", "smart_hosts": ["relay.old.example"]}, {"name": "Internet"}])]})
    with RunspacePool(endpoint(lab), configuration_name="Microsoft.Exchange") as pool:
        ps, out = invoke(pool, "Get-SendConnector")
        assert not ps.had_errors and [str(o) for o in out] == ["Outbound via mxHero", "Old relay", "Internet"]
        first = out[0].adapted_properties
        # Multi-valued properties in Exchange's shape: MultiValuedProperty`1[[item type]], no <ToString>, which
        # plain pypsrp keeps as a generic object holding the raw <LST>.
        hosts, spaces = first["SmartHosts"], first["AddressSpaces"]
        assert hosts.types == [MVP % "Microsoft.Exchange.Data.SmartHost, Microsoft.Exchange.Data, Version=15.0.0.0, "
                               "Culture=neutral, PublicKeyToken=31bf3856ad364e35",
                               "Microsoft.Exchange.Data.MultiValuedPropertyBase", "System.Object"]
        assert hosts.to_string is None and hosts.property_sets == ["<LST><S>smtp.mxhero.com</S><S>10.1.2.3</S></LST>"]
        assert spaces.types[0].startswith(MVP[:-4] + "Microsoft.Exchange.Data.AddressSpace, ")
        assert spaces.property_sets == ["<LST><S>SMTP:*;1</S></LST>"]
        assert first["Enabled"] is True and first["DNSRoutingEnabled"] is False and first["Port"] == 25
        # ADObjectId and Fqdn as text, an unset Fqdn as <Nil>.
        assert first["Identity"] == "Outbound via mxHero" and first["Fqdn"] is None
        assert "Microsoft.Exchange.Data.Directory.SystemConfiguration.SmtpSendConnectorConfig" in out[0].types[0]

        ps, out = invoke(pool, "Set-SendConnector", Identity="Outbound via mxHero", Enabled=False)
        assert out == [] and not ps.streams.error
        assert connectors(lab)["Outbound via mxHero"]["enabled"] is False

        ps, out = invoke(pool, "Remove-SendConnector", Identity="Old relay", Confirm=False)
        assert out == [] and not ps.streams.error
        assert list(connectors(lab)) == ["Outbound via mxHero", "Internet"]

        ps, out = invoke(pool, "Get-ExchangeServer")
        assert [(str(o), o.adapted_properties["AdminDisplayVersion"]) for o in out] == [
            ("EX01", "Version 15.2 (Build 1544.4)")]
        ps, out = invoke(pool, "Get-ReceiveConnector", Server="EX01")
        assert [str(o) for o in out] == ["EX01\\Default Frontend EX01"]
        ranges = out[0].adapted_properties["RemoteIPRanges"]
        assert ranges.types[0].startswith(MVP[:-4] + "Microsoft.Exchange.Data.IPRange, ")
        assert "<S>0.0.0.0-255.255.255.255</S>" in ranges.property_sets[0]
    history = [h for h in lab.state()["winrm"]["history"] if h.get("endpoint") == "PowerShell"]
    assert [h["cmdlet"] for h in history] == ["Get-SendConnector", "Set-SendConnector", "Remove-SendConnector",
                                             "Get-ExchangeServer", "Get-ReceiveConnector"]
    assert history[1]["commands"][0]["parameters"] == [["Identity", "Outbound via mxHero"], ["Enabled", False]]


def test_unknown_identity_is_exchanges_not_found_error(lab):
    with RunspacePool(endpoint(lab), configuration_name="Microsoft.Exchange") as pool:
        for cmdlet, extra in (("Get-SendConnector", {}), ("Set-SendConnector", {"Enabled": False}),
                              ("Remove-SendConnector", {"Confirm": False})):
            ps, out = invoke(pool, cmdlet, Identity="No such connector", **extra)
            assert out == [] and ps.state == PSInvocationState.COMPLETED, cmdlet
            [record] = ps.streams.error
            assert str(record) == ("The operation couldn't be performed because object 'No such connector' couldn't "
                                   "be found on 'DC01.ex-t.test'.")
            assert "[FailureCategory=Cmdlet-ManagementObjectNotFoundException]" in record.fq_error
            assert record.fq_error.endswith(".%s" % cmdlet.replace("-", ""))
            assert record.reason == "ManagementObjectNotFoundException"


def test_no_language_endpoint_refuses_scripts_and_unknown_commands(lab):
    before = connectors(lab)
    with RunspacePool(endpoint(lab), configuration_name="Microsoft.Exchange") as pool:
        ps = PowerShell(pool)
        ps.add_script("Remove-SendConnector -Identity 'Outbound via mxHero' -Confirm:$false")
        assert ps.invoke() == [] and ps.had_errors and ps.state == PSInvocationState.FAILED
        assert str(ps.streams.error[0]) == ("The syntax is not supported by this runspace. This can occur if the "
                                            "runspace is in no-language mode.")
        assert ps.streams.error[0].fq_error == "ScriptsNotAllowed"
        ps, out = invoke(pool, "Get-Process")
        assert ps.had_errors and ps.streams.error[0].fq_error == "CommandNotFoundException"
        assert str(ps.streams.error[0]).startswith("The term 'Get-Process' is not recognized as the name of a cmdlet")
        ps, out = invoke(pool, "Set-SendConnector", Identity="Outbound via mxHero", SmartHosts="evil.example")
        assert ps.had_errors and "NamedParameterNotFound" in ps.streams.error[0].fq_error
        # Remove-SendConnector asks for confirmation; with no host to ask, Exchange fails the command.
        ps, out = invoke(pool, "Remove-SendConnector", Identity="Outbound via mxHero")
        assert ps.had_errors and "does not support user interaction" in str(ps.streams.error[0])
    assert connectors(lab) == before


def test_basic_over_tls_with_the_lab_ca(lab):
    with RunspacePool(endpoint(lab, https=True, auth="basic"), configuration_name="Microsoft.Exchange") as pool:
        ps, out = invoke(pool, "Get-ExchangeServer", Identity="EX01")
        assert [str(o) for o in out] == ["EX01"]
    with pytest.raises(AuthenticationError):
        RunspacePool(endpoint(lab, https=True, auth="basic", password="wrong"),
                     configuration_name="Microsoft.Exchange").open()


def test_other_configuration_is_not_in_the_catalog(lab):
    with pytest.raises(WSManFaultError) as err:
        RunspacePool(endpoint(lab), configuration_name="Microsoft.PowerShell").open()
    assert err.value.code == 2150858811 and "was not found in the WS-Management catalog" in err.value.reason


def test_other_organisation_cannot_open_a_pool(lab):
    legacy = lab.service("winrm")["organizations"]["ex-legacy.test"]
    with pytest.raises(AuthenticationError):
        RunspacePool(endpoint(lab, username=legacy["username"],
                              password=Path(legacy["password_file"]).read_text().strip()),
                     configuration_name="Microsoft.Exchange").open()
