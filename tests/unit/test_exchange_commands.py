"""Commands printed for a person: quoting that holds for every PowerShell quote, reinstall and recreate lines."""

from __future__ import annotations

import pytest

from powershell_replay import parse
from ansible_collections.mxhero.unroute.plugins.module_utils._exchange.commands import (
    message_size, quote, recreate_connector, reinstall_agent)

NAMES = ["mxHero\u2019s relay; \u2018Remove-SendConnector Internet\u2019", "a'b", "\u201aRemove-Item C:\\\u201b",
         "''''", "\u2018\u2019\u201a\u201b'", "$(Stop-Computer)", "`whoami`", "two\r\nlines", ""]


@pytest.mark.parametrize("name", NAMES)
def test_quoted_name_is_one_literal(name):
    (cmdlet, params), = parse("Remove-SendConnector -Identity %s -Confirm:$false" % quote(name))
    assert cmdlet == "Remove-SendConnector" and params == {"identity": name, "confirm": False}


@pytest.mark.parametrize("char", "'\u2018\u2019\u201a\u201b")
def test_every_single_quote_is_doubled(char):
    assert quote("x%sy" % char) == "'x%sy'" % (char * 2)


def test_reinstall_scopes_every_step_from_2013_and_none_on_2010():
    agent = {"identity": "mxHero", "transport_service": "FrontEnd", "priority": 3, "enabled": True,
             "factory": "F", "assembly_path": "C:\\a.dll"}
    assert reinstall_agent(agent, True) == (
        "Install-TransportAgent -Name 'mxHero' -TransportAgentFactory 'F' -AssemblyPath 'C:\\a.dll' "
        "-TransportService FrontEnd; Set-TransportAgent -Identity 'mxHero' -Priority 3 -TransportService FrontEnd; "
        "Enable-TransportAgent -Identity 'mxHero' -TransportService FrontEnd; Restart-Service MSExchangeFrontEndTransport")
    legacy = reinstall_agent(dict(agent, transport_service="Hub", enabled=False), False)
    assert "-TransportService" not in legacy and "Enable-TransportAgent" not in legacy
    assert legacy.endswith("Restart-Service MSExchangeTransport")


@pytest.mark.parametrize("text,size", [("35 MB (36,700,160 bytes)", "35MB"), ("Unlimited", "Unlimited"),
                                       ("1.5 MB (1.572.864 bytes)", "1536KB"), ("100 B (100 bytes)", "100B"),
                                       ("", None), ("garbage", None)])
def test_message_size(text, size):
    assert message_size(text) == size


def test_recreate_leaves_defaults_out_and_shows_enabled_port_always():
    line = recreate_connector({"name": "R", "address_spaces": ["SMTP:*;1"], "smart_hosts": [], "enabled": True,
                               "port": 25, "require_tls": False, "protocol_logging_level": "None"})
    assert line == "New-SendConnector -Name 'R' -Usage Custom -AddressSpaces 'SMTP:*;1' -DNSRoutingEnabled $true " \
                   "-Enabled $true -Port 25"
