"""A transport service restart that did not happen is owed: the next run does it, or says so."""

from __future__ import annotations

import json

import pytest

from exchange_fixtures import MXHERO_AGENT, exchange_args, org
from helpers import run_module

pytestmark = pytest.mark.lab


def server_state(lab, server="EX01", domain="ex-t.test"):
    return lab.state()["winrm"]["organizations"][domain]["servers"][server]


@pytest.mark.parametrize("version", ["2019", "2010"])
def test_failed_restart_is_done_by_the_next_run(exchange_lab, version):
    agents = {"Hub": [MXHERO_AGENT]} if version == "2010" else {"Hub": [MXHERO_AGENT], "FrontEnd": [MXHERO_AGENT]}
    lab = exchange_lab({"domains": [org(servers=[{"name": "EX01", "version": version, "agents": agents}])]})
    args = exchange_args(lab, "ex-t.test", state="absent")
    lab.fault("winrm", kind="restart_error", count=1)
    first = run_module("exchange_transport_agent", args)
    assert first["failed"] and "MSExchangeTransport" in first["msg"] and "\n" not in first["msg"], first
    state = server_state(lab)
    assert state["pending_restart"] == ["MSExchangeTransport"], "the uninstall is configured, not loaded"

    # The symptom: this re-run said ok, changed=false, nothing owed.
    check = run_module("exchange_transport_agent", args, check_mode=True)
    assert check["changed"] is True and check.get("restart_pending") == ["MSExchangeTransport"], check
    assert "run the task again (it remembers the restart)" in first["msg"]
    assert list(state["restart_markers"]) == ["MSExchangeTransport"], "noted on the server itself"
    assert check["restart_needed"] == ["MSExchangeTransport"] and check["findings"] == []
    assert "restart never happened" in json.dumps(check["warnings"]), check["warnings"]
    assert server_state(lab)["pending_restart"] == ["MSExchangeTransport"], "check mode restarts nothing"

    again = run_module("exchange_transport_agent", args)
    assert again["changed"] is True and again["restarted"] == ["MSExchangeTransport"], again
    state = server_state(lab)
    assert state["pending_restart"] == [] and state["restart_markers"] == {}
    expected = {"MSExchangeTransport": 1} if version == "2010" else {"MSExchangeTransport": 1,
                                                                     "MSExchangeFrontEndTransport": 1}
    assert state["restarts"] == expected

    last = run_module("exchange_transport_agent", args)
    assert last["changed"] is False and last["warnings"] == [] and last["restart_pending"] == []


def test_skipped_restart_is_reported_until_done(exchange_lab):
    lab = exchange_lab({"domains": [org()]})
    args = exchange_args(lab, "ex-t.test", state="disabled", transport_service=["FrontEnd"], restart_services=False)
    assert run_module("exchange_transport_agent", args)["changed"] is True
    again = run_module("exchange_transport_agent", args)
    assert again["changed"] is False and again["restart_pending"] == ["MSExchangeFrontEndTransport"]
    assert "Restart-Service MSExchangeFrontEndTransport" in json.dumps(again["warnings"]), again["warnings"]
    done = run_module("exchange_transport_agent", dict(args, restart_services=True))
    assert done["changed"] is True and done["restarted"] == ["MSExchangeFrontEndTransport"]
    assert server_state(lab)["pending_restart"] == [] and server_state(lab)["restart_markers"] == {}


def test_restart_done_by_hand_is_not_repeated(exchange_lab):
    # A marker older than the service's start: someone restarted it since.
    servers = [{"name": "EX01", "restart_markers": {"MSExchangeTransport": "2020-01-01T00:00:00.0000000Z"},
                "agents": {"Hub": [{"name": "mxHero Transport Agent", "enabled": False}]}}]
    lab = exchange_lab({"domains": [org(servers=servers)]})
    out = run_module("exchange_transport_agent", exchange_args(lab, "ex-t.test"))
    assert out["changed"] is False and out["restart_pending"] == [] and out["warnings"] == [], out
    assert server_state(lab)["restarts"] == {}
