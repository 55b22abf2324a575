"""Engine decisions with a fake client: what matches, what is kept, what is refused."""

from __future__ import annotations

import pytest

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._exchange.client import ExchangeError
from ansible_collections.mxhero.unroute.plugins.module_utils._exchange.engine import Engine, as_list
from ansible_collections.mxhero.unroute.plugins.module_utils._exchange.remote import CmdletFailed
from ansible_collections.mxhero.unroute.plugins.module_utils._fingerprint import Fingerprint


class FakeClient(object):
    host = "ex01.test"
    where = "ex01.test:5985"

    def __init__(self, state, write_result=None, fail=None):
        self.state = state
        self.write_result = write_result
        self.fail = fail
        self.calls = []

    def run(self, script, data, write=False):
        self.calls.append((script, data, write))
        if self.fail and script == self.fail[0]:
            raise self.fail[1]
        if script == "get_state.ps1":
            return {"server": "EX01", "snapin": "x", "result": dict(self.state, server="EX01")}
        return {"server": "EX01", "result": self.write_result}


def agent(name, service="Hub", enabled=True, priority=5):
    return {"identity": name, "transport_service": service, "enabled": enabled, "priority": priority}


class FakeShell(object):
    """Exchange's remote PowerShell as the engine sees it: cmdlets with parameters, objects as dicts."""

    host = "ex01.test"
    where = "http://ex01.test:80/PowerShell/"

    def __init__(self, connectors, fail=None, on_read=None):
        self.connectors = connectors
        self.fail = fail  # (cmdlet, identity or None, exception)
        self.on_read = on_read  # called before each Get-SendConnector -Identity (someone else changing things)
        self.calls = []

    def find(self, cmdlet, identity):
        for c in self.connectors:
            if c["Name"] == identity:
                return c
        raise CmdletFailed(cmdlet, "The operation couldn't be performed because object '%s' couldn't be found on "
                           "'DC01.acme.test'." % identity, "ManagementObjectNotFoundException")

    def invoke(self, cmdlet, parameters=(), write=False):
        params = dict(parameters)
        self.calls.append((cmdlet, list(parameters), write))
        if self.fail and self.fail[0] == cmdlet and self.fail[1] in (None, params.get("Identity")):
            raise self.fail[2]
        if cmdlet == "Get-ExchangeServer":
            return [{"Name": "EX01", "Fqdn": "ex01.test", "AdminDisplayVersion": "Version 15.2 (Build 1544.4)"},
                    {"Name": "EX02", "Fqdn": "ex02.test", "AdminDisplayVersion": "Version 15.2 (Build 1544.4)"}]
        if cmdlet == "Get-SendConnector":
            if "Identity" not in params:
                return [dict(c) for c in self.connectors]
            if self.on_read:
                self.on_read(self)
            return [dict(self.find(cmdlet, params["Identity"]))]
        if cmdlet == "Set-SendConnector":
            self.find(cmdlet, params["Identity"])["Enabled"] = params["Enabled"]
            return []
        if cmdlet == "Remove-SendConnector":
            assert params.get("Confirm") is False, "Remove-SendConnector prompts unless -Confirm:$false"
            self.connectors.remove(self.find(cmdlet, params["Identity"]))
            return []
        raise AssertionError("unexpected cmdlet %s" % cmdlet)


def connector(name, hosts, spaces=("SMTP:*;1",), enabled=True):
    """A send connector as remote PowerShell returns it (property names as Exchange spells them)."""
    return {"Name": name, "Identity": name, "Enabled": enabled, "AddressSpaces": list(spaces),
            "SmartHosts": list(hosts), "DNSRoutingEnabled": not hosts, "SourceTransportServers": ["EX01"],
            "Port": 25, "MaxMessageSize": "35 MB (36,700,160 bytes)"}


def engine(state, check=False, **kw):
    client = FakeClient(state, **kw)
    return Engine(client, Fingerprint(), domain="acme.test", check_mode=check, secrets=["s3cret-pass"]), client


def remote_engine(connectors, check=False, **kw):
    shell = FakeShell(connectors, **kw)
    return Engine(None, Fingerprint(), domain="acme.test", check_mode=check, secrets=["s3cret-pass"],
                  shell=shell), shell


def test_as_list_undoes_convertto_json_unwrapping():
    assert as_list(None) == [] and as_list({"a": 1}) == [{"a": 1}] and as_list([1]) == [1]


def test_default_match_is_name_contains_mxhero_case_insensitive():
    eng, client = engine({"agents": [agent("MXHERO Agent"), agent("Transport Rule Agent"),
                                     agent("notmxhero-ish", enabled=False)]}, check=True)
    out = eng.transport_agents("disabled")
    objects = {f["object"]: f["action"] for f in out["findings"]}
    assert objects == {"EX01 Hub transport agent MXHERO Agent": "would_disable",
                       "EX01 Hub transport agent notmxhero-ish": "kept"}
    assert out["changed"] is True
    assert [c[0] for c in client.calls] == ["get_state.ps1"], "check mode must not write"


def test_exact_name_and_pattern():
    state = {"agents": [agent("Routing Agent"), agent("Routing Agent 2"), agent("mxHero")]}
    eng, _ = engine(state, check=True)
    assert [f["object"] for f in eng.transport_agents("absent", name="routing agent")["findings"]] == [
        "EX01 Hub transport agent Routing Agent"]
    assert len(engine(state, check=True)[0].transport_agents("absent", name="Routing*")["findings"]) == 2


def test_partial_failure_names_what_was_done():
    result = {"results": [{"changed": True}], "restarted": [],
              "failure": {"object": "B agent", "transport_service": "FrontEnd", "message": "Access denied."}}
    eng, _ = engine({"agents": [agent("mxhero A"), agent("mxhero B", "FrontEnd")]}, write_result=result)
    with pytest.raises(UnrouteError) as err:
        eng.transport_agents("absent")
    text = str(err.value)
    assert text.startswith("acme.test: server EX01 FrontEnd transport agent B agent: Access denied.")
    assert "already done: uninstalled Hub mxhero A" in text


def test_send_connector_mixed_is_reported_not_touched():
    eng, shell = remote_engine([connector("Mixed", ["smtp.mxhero.com", "relay.other.example"]), connector("DNS", [])])
    out = eng.send_connectors("absent")
    assert out["changed"] is False and out["removed"] == []
    assert out["findings"][0]["action"] == "reported"
    assert "relay.other.example" in out["findings"][0]["manual_steps"]
    assert [c[0] for c in shell.calls] == ["Get-ExchangeServer", "Get-SendConnector"]


def test_send_connector_ip_smart_host_and_lookalike():
    connectors = [connector("A", ["[54.208.111.28]"]), connector("B", ["smtp.mxhero.com.evil.example"]),
                  connector("DNS", [])]
    out = remote_engine(connectors, check=True)[0].send_connectors("absent")
    assert [f["object"] for f in out["findings"]] == ["send connector A"]
    assert out["findings"][0]["evidence"] == ["smart host ip 54.208.111.28"]


def test_refuses_to_leave_no_outbound_route():
    connectors = [connector("Relay", ["smtp.mxhero.com"]), connector("Disabled DNS", [], enabled=False)]
    with pytest.raises(UnrouteError) as err:
        remote_engine(connectors, check=True)[0].send_connectors("absent")
    assert "no enabled send connector would be left for *" in str(err.value)
    out = remote_engine(connectors, check=True)[0].send_connectors("absent", allow_no_outbound=True)
    assert out["warnings"] and out["changed"]


def test_specific_address_space_covered_by_star():
    connectors = [connector("Relay", ["smtp.mxhero.com"], spaces=["SMTP:partner.example;1"]), connector("DNS", [])]
    assert remote_engine(connectors, check=True)[0].send_connectors("disabled")["changed"] is True


def test_send_connector_writes_are_typed_cmdlets_after_a_fresh_read():
    connectors = [connector("Relay A", ["smtp.mxhero.com"]), connector("Relay B", ["54.208.111.28"]),
                  connector("DNS", [])]
    eng, shell = remote_engine(connectors)
    out = eng.send_connectors("absent")
    assert out["changed"] is True and out["server"] == "EX01"
    assert [c["Name"] for c in shell.connectors] == ["DNS"]
    writes = [c for c in shell.calls if c[2]]
    assert writes == [("Remove-SendConnector", [("Identity", "Relay A"), ("Confirm", False)], True),
                      ("Remove-SendConnector", [("Identity", "Relay B"), ("Confirm", False)], True)]
    reads = [c[0] for c in shell.calls]
    assert reads.index("Remove-SendConnector") == reads.index("Get-SendConnector", 2) + 1, "re-read right before"
    assert out["removed"][0]["recreate"].startswith("New-SendConnector -Name 'Relay A' -Usage Custom")


def test_disable_sets_enabled_false_and_a_second_run_changes_nothing():
    eng, shell = remote_engine([connector("Relay", ["smtp.mxhero.com"]), connector("DNS", [])])
    assert eng.send_connectors("disabled")["changed"] is True
    assert ("Set-SendConnector", [("Identity", "Relay"), ("Enabled", False)], True) in shell.calls
    again, shell2 = remote_engine(shell.connectors)
    out = again.send_connectors("disabled")
    assert out["changed"] is False and out["findings"][0]["action"] == "kept"
    assert not [c for c in shell2.calls if c[2]]


def test_smart_hosts_changed_since_read_stops_with_what_was_done():
    def repoint(shell):
        for c in shell.connectors:
            if c["Name"] == "Relay B":
                c["SmartHosts"] = ["new.relay.example"]
    connectors = [connector("Relay A", ["smtp.mxhero.com"]), connector("Relay B", ["smtp.mxhero.com"]),
                  connector("DNS", [])]
    eng, shell = remote_engine(connectors, on_read=repoint)
    with pytest.raises(UnrouteError) as err:
        eng.send_connectors("absent")
    text = str(err.value)
    assert text.startswith("acme.test: server EX01 send connector Relay B: its smart hosts changed since it was "
                           "read (now: new.relay.example)")
    assert "already done: removed send connector Relay A" in text
    assert [c["Name"] for c in shell.connectors] == ["Relay B", "DNS"]


def test_connector_gone_meanwhile_is_skipped_and_cmdlet_errors_are_one_line():
    eng, shell = remote_engine([connector("Relay", ["smtp.mxhero.com"]), connector("DNS", [])],
                               on_read=lambda shell: shell.connectors.pop(0))
    assert eng.send_connectors("absent")["changed"] is False
    failing = CmdletFailed("Remove-SendConnector", "Active Directory operation failed on DC01. s3cret-pass",
                           "ADOperationException")
    eng, shell = remote_engine([connector("Relay", ["smtp.mxhero.com"]), connector("DNS", [])],
                               fail=("Remove-SendConnector", "Relay", failing))
    with pytest.raises(UnrouteError) as err:
        eng.send_connectors("absent")
    text = str(err.value)
    assert text.startswith("acme.test: server EX01 send connector Relay: Remove-SendConnector failed: Active "
                           "Directory operation failed on DC01.")
    assert "s3cret-pass" not in text and "\n" not in text


def test_receive_ranges():
    eng, _ = engine({})
    assert eng.range_evidence("54.208.111.28")
    assert eng.range_evidence("54.208.111.0-54.208.111.255")  # a /24 range holding one: reported
    assert eng.range_evidence("0.0.0.0-255.255.255.255") is None  # everyone: not evidence
    assert eng.range_evidence("10.0.0.0/8") is None
    assert eng.range_evidence("garbage") is None


def test_errors_never_carry_the_password():
    eng, _ = engine({}, fail=("get_state.ps1", ExchangeError("server said s3cret-pass is wrong")))
    with pytest.raises(UnrouteError) as err:
        eng.info()
    assert "s3cret-pass" not in str(err.value)


def test_owed_restart_is_done_and_satisfied_markers_cleared():
    markers = [{"service": "MSExchangeTransport", "since": "2026-11-27T01:00:00.0000000Z", "done": False},
               {"service": "MSExchangeDelivery", "since": "2026-11-26T01:00:00.0000000Z", "done": True}]
    state = {"agents": [], "restart_markers": markers, "transport_services": ["Hub", "MailboxDelivery"]}
    check, client = engine(state, check=True)
    out = check.transport_agents("absent")
    assert out["changed"] is True and out["restart_pending"] == ["MSExchangeTransport"]
    assert "would restart it now" in out["warnings"][0] and [c[0] for c in client.calls] == ["get_state.ps1"]
    real, client = engine(state, write_result={"results": [], "restarted": ["MSExchangeTransport"]})
    out = real.transport_agents("absent")
    assert out["changed"] is True and out["restarted"] == ["MSExchangeTransport"]
    script, data, write = client.calls[-1]
    assert (script, write) == ("set_transport_agents.ps1", True)
    assert data == {"operations": [], "restart": True, "owed": ["MSExchangeTransport"],
                    "clear": ["MSExchangeDelivery"]}
    skipped, client = engine(state)
    out = skipped.transport_agents("absent", restart=False)
    assert out["changed"] is False and "run Restart-Service MSExchangeTransport" in out["warnings"][0]
    assert [c[0] for c in client.calls] == ["get_state.ps1"]


def test_owed_restart_outside_the_chosen_services_is_only_named():
    markers = [{"service": "MSExchangeFrontEndTransport", "since": "2026-11-27T01:00:00.0000000Z", "done": False}]
    eng, client = engine({"agents": [], "restart_markers": markers, "transport_services": ["Hub"]})
    out = eng.transport_agents("absent", services=["Hub"])
    assert out["changed"] is False and out["restart_pending"] == [] and out["restarted"] == []
    assert "Restart-Service MSExchangeFrontEndTransport" in out["warnings"][0]
    assert [c[0] for c in client.calls] == ["get_state.ps1"]
