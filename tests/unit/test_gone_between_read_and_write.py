"""Issue 26 (3): an object that another run (or a person) took out between our read and our write is
"already gone (changed by someone else)": not a permissions problem, not in this run's `removed`, so a
restore of this run never puts back what another run removed."""

from __future__ import annotations

from ansible_collections.mxhero.unroute.plugins.module_utils._exchange.engine import Engine
from ansible_collections.mxhero.unroute.plugins.module_utils._exo.client import ExoNotFound
from ansible_collections.mxhero.unroute.plugins.module_utils._exo.engine import ExoEngine
from ansible_collections.mxhero.unroute.plugins.module_utils._fingerprint import Fingerprint

from test_exchange_engine import FakeShell, connector
from test_microsoft365_matching import FakeClient

GONE = "already gone (changed by someone else)"


class RacingShell(FakeShell):
    """The other run removes the connector right after our fresh read, before our write."""

    def __init__(self, connectors, victim):
        super(RacingShell, self).__init__(connectors)
        self.victim = victim

    def invoke(self, cmdlet, parameters=(), write=False):
        out = super(RacingShell, self).invoke(cmdlet, parameters, write)
        if cmdlet == "Get-SendConnector" and dict(parameters).get("Identity") == self.victim:
            self.connectors[:] = [c for c in self.connectors if c["Name"] != self.victim]
        return out


def _exchange(shell):
    return Engine(None, Fingerprint(), domain="acme.test", shell=shell)


def test_exchange_connector_removed_by_someone_else_after_the_fresh_read():
    shell = RacingShell([connector("Relay A", ["smtp.mxhero.com"]), connector("Relay B", ["smtp.mxhero.com"]),
                         connector("DNS", [])], victim="Relay A")
    eng = _exchange(shell)
    out = eng.send_connectors("absent")
    by_object = dict((f["object"], f) for f in out["findings"])
    assert by_object["send connector Relay A"]["action"] == "kept"
    assert by_object["send connector Relay A"]["why"] == GONE
    assert by_object["send connector Relay B"]["action"] == "removed"
    # Only what this run removed is in its record: a restore of it brings back Relay B, never Relay A.
    assert [r["name"] for r in out["removed"]] == ["Relay B"]
    assert any(GONE in w and "Relay A" in w for w in eng.warnings)
    assert not any("RBAC" in w for w in eng.warnings)


def test_exchange_connector_gone_before_the_fresh_read_is_not_claimed():
    shell = FakeShell([connector("Relay", ["smtp.mxhero.com"]), connector("DNS", [])],
                      on_read=lambda s: s.connectors.remove(s.connectors[0]) if s.connectors[0]["Name"] == "Relay"
                      else None)
    out = _exchange(shell).send_connectors("absent")
    assert out["removed"] == [] and out["changed"] is False
    assert out["findings"][0]["action"] == "kept" and out["findings"][0]["why"] == GONE


class VanishingClient(FakeClient):
    """Exchange Online where another run removed objects after our read: writes get NotFound (HTTP 404)."""

    def __init__(self, rules, outbound, vanished):
        super(VanishingClient, self).__init__(rules, outbound)
        self.vanished = set(vanished)

    def _gone(self, cmdlet, name):
        if name in self.vanished:
            self.writes.append((cmdlet, name))
            for objects in self.objects.values():
                objects.pop(name, None)
            raise ExoNotFound("%s: The operation couldn't be performed because object '%s' couldn't be found"
                              % (cmdlet, name), status=404, code="NotFound")

    def disable_rule(self, name):
        self._gone("Disable-TransportRule", name)
        super(VanishingClient, self).disable_rule(name)

    def set_enabled(self, noun, name, enabled):
        self._gone("Set-" + noun, name)
        super(VanishingClient, self).set_enabled(noun, name, enabled)

    def remove(self, noun, name):
        self._gone("Remove-" + noun, name)
        super(VanishingClient, self).remove(noun, name)


RULES = [{"Name": "via mx", "State": "Enabled", "Priority": 0, "RouteMessageOutboundConnector": "mx out"}]
OUT = [{"Name": "mx out", "Enabled": True, "SmartHosts": ["smtp.mxhero.com"]},
       {"Name": "mx out 2", "Enabled": True, "SmartHosts": ["smtp-relay.mxhero.com"]}]


def _exo(client):
    warnings = []
    eng = ExoEngine(client, Fingerprint(), "example.test", confirm_delays=(0, 0), sleep=lambda s: None,
                    warn=warnings.append)
    return eng, warnings


def test_exo_disable_of_a_connector_someone_removed_is_not_an_error():
    eng, warnings = _exo(VanishingClient(RULES, OUT, vanished=["mx out"]))
    out = eng.connectors("outbound", "disabled")
    by_object = dict((f["object"], f) for f in out["findings"])
    assert by_object["mx out"]["action"] == "kept" and by_object["mx out"]["why"] == GONE
    assert by_object["mx out 2"]["action"] == "disabled" and by_object["via mx"]["action"] == "disabled"
    assert any("mx out" in w and GONE in w for w in warnings)


def test_exo_removal_someone_else_did_is_not_in_this_runs_record():
    eng, _warnings = _exo(VanishingClient(RULES, OUT, vanished=["mx out"]))
    out = eng.connectors("outbound", "absent")
    assert [r["object"] for r in out["removed"]] == ["mx out 2"]
    by_object = dict((f["object"], f) for f in out["findings"])
    assert by_object["mx out"]["action"] == "kept" and by_object["mx out"]["why"] == GONE
    assert "removed OutboundConnector 'mx out'" not in eng.done


def test_exo_rule_gone_before_this_run_disabled_it():
    eng, _warnings = _exo(VanishingClient(RULES, OUT, vanished=["via mx"]))
    out = eng.transport_rules("disabled")
    assert out["findings"][0]["action"] == "kept" and out["findings"][0]["why"] == GONE
    assert out["changed"] is False


def test_exchange_connector_disabled_by_someone_else_is_not_claimed():
    def disable(shell):
        for c in shell.connectors:
            c["Enabled"] = False if c["Name"] == "Relay" else c["Enabled"]
    shell = FakeShell([connector("Relay", ["smtp.mxhero.com"]), connector("DNS", [])], on_read=disable)
    eng = _exchange(shell)
    out = eng.send_connectors("disabled")
    assert out["changed"] is False and not [c for c in shell.calls if c[2]]
    assert out["findings"][0]["action"] == "kept"
    assert out["findings"][0]["why"] == "already disabled (changed by someone else)"
