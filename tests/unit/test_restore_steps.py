"""Issue 26 (1, 6): every manual restore step quotes its arguments for the shell it names, is built from the
recorded properties (a recorded command string is never passed on), and puts back only what the fingerprint
matches. POSIX steps are parsed with shlex, PowerShell steps with tree-sitter-powershell (tests/powershell_replay)."""

from __future__ import annotations

import re
import shlex

import pytest

from powershell_replay import parse
from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._exo import restore as exo_restore
from ansible_collections.mxhero.unroute.plugins.module_utils._fingerprint import Fingerprint
from ansible_collections.mxhero.unroute.plugins.module_utils._restore_steps import steps

FP = Fingerprint()
NASTY = ["[smtp.mxhero.com]';touch /tmp/x;'", "[smtp.mxhero.com]:587 $(reboot)", "smtp.mxhero.com `id` \"q\"",
         "[smtp.mxhero.com]\nrm -rf /"]
PS_NASTY = ["mxHero x'; Remove-Item C:\\ -Recurse; '", "mxHero $(Stop-Computer -Force)",
            "mxHero\u2019s relay; \u2018Remove-SendConnector Internet\u2019", "mxHero `$env:X` \"q\""]


def _mta(value, **before):
    before = dict({"file": "/etc/postfix/main.cf", "parameter": "relayhost", "value": value}, **before)
    return {"platform": "mta", "kind": "relayhost", "object": "mx1.example: /etc/postfix/main.cf relayhost",
            "action": "changed", "before": before, "after": dict(before, value="")}


def _commands(text):
    """The POSIX commands a step gives after 'run:' / 'then:' / 'then run:' markers."""
    found = re.split(r", (?:then run|run|then): ", text)[1:]
    return [shlex.split(cmd) for part in found for cmd in part.split(" && ")]


@pytest.mark.parametrize("value", NASTY)
def test_postconf_step_keeps_the_value_one_argument(value):
    (item,) = steps([_mta(value)], [], FP, "example.com")
    commands = _commands(item["manual_steps"])
    assert commands == [["postconf", "-c", "/etc/postfix", "-e", "relayhost=%s" % value],
                        ["postfix", "-c", "/etc/postfix", "reload"]], item["manual_steps"]


@pytest.mark.parametrize("value", NASTY)
def test_map_and_master_steps_quote_too(value):
    master = _mta(value, file="/etc/postfix dir/master.cf", service="submission/inet")
    table = _mta(value, file="/etc/postfix/transport", table="transport_maps", key="example.com")
    table.pop("parameter", None)
    table["before"].pop("parameter")
    got = steps([master, table], [], FP, "example.com")
    assert _commands(got[0]["manual_steps"])[0] == ["postconf", "-c", "/etc/postfix dir", "-P",
                                                    "submission/inet/relayhost=%s" % value]
    line = re.search(r"put the line (.*?) back in ", got[1]["manual_steps"], flags=re.S).group(1)
    assert shlex.split(line) == ["example.com %s" % value]
    assert _commands(got[1]["manual_steps"])[0] == ["postmap", "/etc/postfix/transport"]


def test_mta_step_refuses_a_value_the_fingerprint_does_not_match():
    with pytest.raises(UnrouteError) as err:
        steps([_mta("[mail.evil.example]:25")], [], FP, "example.com")
    assert "the run record is refused" in str(err.value) and "\n" not in str(err.value)


def _send_connector(name, hosts=("smtp.mxhero.com",), action="removed"):
    return {"platform": "exchange", "kind": "send_connector", "object": "send connector %s" % name,
            "action": action, "before": {"enabled": True, "address_spaces": ["SMTP:*;1"], "smart_hosts": list(hosts)},
            "after": None}


@pytest.mark.parametrize("name", PS_NASTY)
def test_send_connector_steps_parse_as_one_powershell_command_each(name):
    removed = [{"name": name, "address_spaces": ["SMTP:*;1"], "smart_hosts": ["smtp.mxhero.com"], "enabled": True,
                "port": 25, "recreate": "New-SendConnector -Name x; Invoke-Evil"}]
    recreate, enable = steps([_send_connector(name), _send_connector(name, action="disabled")], removed, FP, "ex.test")
    for item, cmdlet in ((recreate, "New-SendConnector"), (enable, "Set-SendConnector")):
        text = item["manual_steps"].split("Shell: ", 1)[1]
        ((parsed_name, params),) = parse(text)
        assert parsed_name == cmdlet
        assert params.get("name", params.get("identity")) == name
    assert "Invoke-Evil" not in recreate["manual_steps"], "a recorded command string is never passed on"


def test_send_connector_without_an_mxhero_smart_host_is_refused():
    removed = [{"name": "Internet", "address_spaces": ["SMTP:*;1"], "smart_hosts": ["relay.example"]}]
    with pytest.raises(UnrouteError) as err:
        steps([_send_connector("Internet", hosts=["relay.example"])], removed, FP, "ex.test")
    assert "the run record is refused" in str(err.value)


@pytest.mark.parametrize("name", PS_NASTY)
def test_transport_agent_steps_parse(name):
    obj = "EX01 Hub transport agent %s" % name
    removed = [{"server": "EX01", "transport_service": "Hub", "identity": name, "enabled": True, "priority": 3,
                "factory": "MxHero.Agent.Factory", "assembly_path": "C:\\Program Files\\mxHero\\agent.dll",
                "reinstall": "Install-TransportAgent -Name x; Invoke-Evil"}]
    items = [{"platform": "exchange", "kind": "transport_agent", "object": obj, "action": action,
              "before": {"enabled": True}, "after": None} for action in ("removed", "disabled")]
    reinstall, enable = steps(items, removed, FP, "ex.test")
    commands = parse(reinstall["manual_steps"].split("Shell: ", 1)[1])
    assert [c for c, _p in commands][:1] == ["Install-TransportAgent"] and commands[0][1]["name"] == name
    assert "Invoke-Evil" not in reinstall["manual_steps"]
    commands = parse(enable["manual_steps"].split("Shell: ", 1)[1])
    assert commands[0] == ("Enable-TransportAgent", {"identity": name, "transportservice": "Hub"})


@pytest.mark.parametrize("name", PS_NASTY)
def test_exchange_online_recreate_and_held_steps_quote_the_name(name):
    """Issue 23: the step to re-create an inbound connector says Microsoft may hold it disabled, and what to do."""
    item = {"platform": "microsoft365", "kind": "inbound_connector", "object": name, "action": "removed"}
    removed = [{"kind": "inbound_connector", "object": name,
                "properties": {"Name": name, "SenderIPAddresses": ["54.208.111.28"]}}]
    (step,) = steps([item], removed, FP, "example.com")
    text = step["manual_steps"]
    quote = "['\u2018\u2019\u201a\u201b]"
    literal = "'(?:(?!%s).|%s{2})*'" % (quote, quote)
    command = re.search("New-InboundConnector -Name " + literal, text).group(0)
    assert parse(command) == [("New-InboundConnector", {"name": name})]
    assert "service request" in text and "after 2023" in text
    assert exo_restore.held_steps(name) in text


def test_exchange_online_recreate_of_a_foreign_connector_is_refused():
    item = {"platform": "microsoft365", "kind": "inbound_connector", "object": "Partner", "action": "removed"}
    removed = [{"kind": "inbound_connector", "object": "Partner",
                "properties": {"Name": "Partner", "SenderIPAddresses": ["198.51.100.25"]}}]
    with pytest.raises(UnrouteError) as err:
        steps([item], removed, FP, "example.com")
    assert "the run record is refused" in str(err.value)


@pytest.mark.parametrize("item", [
    # A mail server named with a command where a step names it in prose.
    dict(_mta("[smtp.mxhero.com]"), object="mx1, run: rm -rf / #: /etc/postfix/main.cf relayhost"),
    # A server name that would read as part of the command.
    {"platform": "exchange", "kind": "transport_agent", "action": "disabled", "before": {},
     "object": "EX01;Stop-Computer Hub transport agent mxHero agent"},
    # A kind no run changes.
    {"platform": "exchange", "kind": "receive_connector", "object": "x", "action": "removed", "before": {}},
], ids=["mta-host", "exchange-server", "unknown-kind"])
def test_prose_never_carries_what_the_record_could_inject(item):
    with pytest.raises(UnrouteError) as err:
        steps([item], [], FP, "example.com")
    assert "the run record is refused" in str(err.value)


def test_exim_and_sendmail_settings_come_back_as_data():
    item = {"platform": "mta", "kind": "smarthost", "object": "mx2: /etc/exim4/update-exim4.conf.conf dc_smarthost",
            "action": "changed", "before": {"file": "/etc/exim4/update-exim4.conf.conf",
                                            "dc_smarthost": "smtp.mxhero.com::587"}, "after": {}}
    (step,) = steps([item], [], FP, "example.com")
    assert step["manual_steps"].startswith("On mx2, put back the setting ")
    assert '"dc_smarthost": "smtp.mxhero.com::587"' in step["manual_steps"]


def test_what_exo_restore_puts_back_gets_no_manual_step():
    items = [{"platform": "microsoft365", "kind": "connection_filter_allow_ip", "object": "Default: 54.208.111.28",
              "action": "removed", "before": {}},
             {"platform": "microsoft365", "kind": "transport_rule", "object": "r", "action": "disabled", "before": {}}]
    assert steps(items, [], FP, "example.com") == []
