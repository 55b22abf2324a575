"""What the exchange_* modules print to undo a removal puts the object back as it was, and stays one command.

Each printed command is parsed (tests/powershell_replay.py) and its documented
effect compared with what the lab held before the run.
"""

from __future__ import annotations

import pytest

from exchange_fixtures import exchange_args, org
from helpers import run_module
from powershell_replay import Replay, lab_connector, parse, replay_new_send_connector, replay_reinstall

pytestmark = pytest.mark.lab

# U+2019 ends a single-quoted PowerShell string just as ' does; U+2018 starts one.
QUOTED_NAME = "mxHero\u2019s relay; \u2018Remove-SendConnector Internet\u2019"


def winrm_state(lab, domain="ex-t.test"):
    return lab.state()["winrm"]["organizations"][domain]


def test_quote_characters_in_names_stay_inside_one_literal(exchange_lab):
    agent = {"name": QUOTED_NAME, "priority": 4, "factory": "Vendor\u201aAgent\u201bFactory",
             "assembly_path": "C:\\Program Files\\mxHero's\\Agent.dll"}
    connectors = [{"name": QUOTED_NAME, "smart_hosts": ["smtp.mxhero.com"]},
                  {"name": "Mixed \u2018partner\u2019", "smart_hosts": ["smtp.mxhero.com", "relay.o\u2019brien.example"],
                   "address_spaces": ["SMTP:obrien.example;1"]},
                  {"name": "Internet"}]
    lab = exchange_lab({"domains": [org(servers=[{"name": "EX01", "agents": {"Hub": [agent]}}],
                                        send_connectors=connectors)]})
    out = run_module("exchange_transport_agent", exchange_args(lab, "ex-t.test", state="absent"))
    assert out["changed"] is True, out
    reinstall = parse(out["removed"][0]["reinstall"])
    assert [c for c, _ in reinstall] == ["Install-TransportAgent", "Set-TransportAgent", "Enable-TransportAgent",
                                         "Restart-Service"]
    assert reinstall[0][1]["name"] == QUOTED_NAME
    assert reinstall[0][1]["transportagentfactory"] == agent["factory"]
    assert reinstall[0][1]["assemblypath"] == agent["assembly_path"]
    assert all(params["identity"] == QUOTED_NAME for _, params in reinstall[1:3])

    out = run_module("exchange_send_connector", exchange_args(lab, "ex-t.test"))
    assert out["changed"] is True, out
    assert [c["name"] for c in winrm_state(lab)["send_connectors"]] == ["Mixed \u2018partner\u2019", "Internet"]
    recreate = parse(out["removed"][0]["recreate"])
    assert len(recreate) == 1 and recreate[0][0] == "New-SendConnector"
    assert recreate[0][1]["name"] == QUOTED_NAME
    manual = next(f for f in out["findings"] if f["action"] == "reported")["manual_steps"]
    command = manual.split("Shell: ", 1)[1].split(" (keeps the other hosts)")[0]
    (cmdlet, params), = parse(command)
    assert cmdlet == "Set-SendConnector" and params["identity"] == "Mixed \u2018partner\u2019"
    assert params["smarthosts"] == "relay.o\u2019brien.example"


def test_parser_sees_an_unescaped_typographic_quote():
    # Guards the test above: the old quoting (doubling ' only) must fail this parse.
    try:
        cmds = parse("New-SendConnector -Name '%s' -Port 25" % QUOTED_NAME.replace("'", "''"))
    except Replay:
        return
    assert len(cmds) > 1 or cmds[0][1].get("name") != QUOTED_NAME, cmds


def test_reinstall_puts_each_agent_back_as_it_was(exchange_lab):
    mx = {"factory": "MxHero.AgentFactory", "assembly_path": "C:\\Program Files\\mxHero\\MxHero.dll"}
    servers = [{"name": "EX01", "agents": {"Hub": [dict(mx, name="mxHero Agent", priority=7, enabled=True)],
                                           "FrontEnd": [dict(mx, name="mxHero Agent", priority=2, enabled=False)]}}]
    legacy = [{"name": "EXOLD", "version": "2010", "agents": {"Hub": [dict(mx, name="mxHero Agent", priority=6)]}}]
    lab = exchange_lab({"domains": [org(servers=servers), org("ex-old.test", servers=legacy)]})
    for domain, server, per_service in (("ex-t.test", "EX01", True), ("ex-old.test", "EXOLD", False)):
        before = winrm_state(lab, domain)["servers"][server]["agents"]
        out = run_module("exchange_transport_agent", exchange_args(lab, domain, state="absent"))
        assert out["changed"] is True and out["removed"], out
        for record in out["removed"]:
            service = record["transport_service"]
            was = next(a for a in before[service] if a["identity"] == "mxHero Agent")
            agents, restarted = replay_reinstall(record["reinstall"], per_service)
            # Exchange 2010 has one agent list: the replay files it under Hub, the only service there.
            assert agents == {(service, "mxHero Agent"): {k: was[k] for k in ("enabled", "priority", "factory",
                                                                               "assembly_path")}}, record
            assert restarted == [{"Hub": "MSExchangeTransport",
                                  "FrontEnd": "MSExchangeFrontEndTransport"}[service]]
        assert not [a for agents in winrm_state(lab, domain)["servers"][server]["agents"].values()
                    for a in agents if a["identity"] == "mxHero Agent"]


def test_recreate_puts_a_disabled_connector_back_disabled(exchange_lab):
    relay = {"name": "Relay via mxHero", "smart_hosts": ["smtp.mxhero.com", "smtp-relay.mxhero.com"],
             "address_spaces": ["SMTP:*.contoso.com;5", "SMTP:fabrikam.com;1"], "enabled": False, "port": 587,
             "fqdn": "out.contoso.com", "source_transport_servers": ["EX01", "EX02"], "require_tls": True,
             "tls_auth_level": "DomainValidation", "tls_domain": "mxhero.com",
             "max_message_size": "20 MB (20,971,520 bytes)", "smart_host_auth_mechanism": "BasicAuthRequireTLS",
             "protocol_logging_level": "Verbose", "frontend_proxy_enabled": True,
             "connection_inactivity_timeout": "00:05:00", "comment": "Owner's note: \u2018do not touch\u2019"}
    plain = {"name": "Plain mxHero", "smart_hosts": ["[54.208.111.28]"], "address_spaces": ["SMTP:partner.example;1"]}
    lab = exchange_lab({"domains": [org(servers=[{"name": "EX01"}, {"name": "EX02"}],
                                        send_connectors=[relay, plain, {"name": "Internet"}])]})
    before = {c["name"]: c for c in winrm_state(lab)["send_connectors"]}
    out = run_module("exchange_send_connector", exchange_args(lab, "ex-t.test", state="absent"))
    assert out["changed"] is True, out
    assert [c["name"] for c in winrm_state(lab)["send_connectors"]] == ["Internet"]
    assert len(out["removed"]) == 2
    for record in out["removed"]:
        assert replay_new_send_connector(record["recreate"]) == lab_connector(before[record["name"]]), record
    assert "-Enabled $false" in out["removed"][0]["recreate"]
    assert "-AuthenticationCredential (Get-Credential)" in out["removed"][0]["recreate"]
