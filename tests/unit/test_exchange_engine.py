"""Engine decisions with a fake client: what matches, what is kept, what is refused."""

from __future__ import annotations

import pytest

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._exchange.client import ExchangeError
from ansible_collections.mxhero.unroute.plugins.module_utils._exchange.engine import Engine, as_list
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


def connector(name, hosts, spaces=("SMTP:*;1",), enabled=True):
    return {"name": name, "identity": name, "enabled": enabled, "address_spaces": list(spaces),
            "smart_hosts": list(hosts), "source_transport_servers": "EX01"}


def engine(state, check=False, **kw):
    client = FakeClient(state, **kw)
    return Engine(client, Fingerprint(), domain="acme.test", check_mode=check, secrets=["s3cret-pass"]), client


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
    state = {"send_connectors": [connector("Mixed", ["smtp.mxhero.com", "relay.other.example"]),
                                 connector("DNS", [])]}
    eng, client = engine(state)
    out = eng.send_connectors("absent")
    assert out["changed"] is False and out["removed"] == []
    assert out["findings"][0]["action"] == "reported"
    assert "relay.other.example" in out["findings"][0]["manual_steps"]
    assert [c[0] for c in client.calls] == ["get_state.ps1"]


def test_send_connector_ip_smart_host_and_lookalike():
    state = {"send_connectors": [connector("A", ["[54.208.111.28]"]), connector("B", ["smtp.mxhero.com.evil.example"]),
                                 connector("DNS", [])]}
    out = engine(state, check=True)[0].send_connectors("absent")
    assert [f["object"] for f in out["findings"]] == ["send connector A"]
    assert out["findings"][0]["evidence"] == ["smart host ip 54.208.111.28"]


def test_refuses_to_leave_no_outbound_route():
    state = {"send_connectors": [connector("Relay", ["smtp.mxhero.com"]),
                                 connector("Disabled DNS", [], enabled=False)]}
    with pytest.raises(UnrouteError) as err:
        engine(state, check=True)[0].send_connectors("absent")
    assert "no enabled send connector would be left for *" in str(err.value)
    out = engine(state, check=True)[0].send_connectors("absent", allow_no_outbound=True)
    assert out["warnings"] and out["changed"]


def test_specific_address_space_covered_by_star():
    state = {"send_connectors": [connector("Relay", ["smtp.mxhero.com"], spaces=["SMTP:partner.example;1"]),
                                 connector("DNS", [])]}
    assert engine(state, check=True)[0].send_connectors("disabled")["changed"] is True


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
