"""exchange_* modules against the lab: check mode, diff, real run, idempotence, faults, errors."""

from __future__ import annotations

import json
import time

import pytest

from exchange_fixtures import MXHERO_AGENT, exchange_args, org
from helpers import run_module

pytestmark = pytest.mark.lab

INJECTION_NAMES = ["x'; Remove-Item C:\\ -Recurse; '", "mxhero $(Stop-Computer -Force)", "mxhero `whoami` agent",
                   "mxhero\r\nsecond line", "mxHero\u2019s relay; \u2018Remove-SendConnector Internet\u2019"]


def winrm_state(lab, domain="ex-t.test"):
    return lab.state()["winrm"]["organizations"][domain]


def agents(lab, service="Hub", server="EX01", domain="ex-t.test"):
    return {a["identity"]: a for a in winrm_state(lab, domain)["servers"][server]["agents"][service]}


def scripts_run(lab):
    return [h["script"] for h in lab.state()["winrm"]["history"]]


def test_transport_agent_check_real_idempotent(exchange_lab):
    lab = exchange_lab({"domains": [org()]})
    args = exchange_args(lab, "ex-t.test", state="absent")
    check = run_module("exchange_transport_agent", args, check_mode=True, diff=True)
    assert check["changed"] is True
    assert "mxHero Transport Agent" in agents(lab), "check mode must not change anything"
    assert "set_transport_agents.ps1" not in scripts_run(lab)
    real = run_module("exchange_transport_agent", args, diff=True)
    assert real["changed"] is True, real
    # Same findings and diff; only the action differs.
    assert [f["object"] for f in real["findings"]] == [f["object"] for f in check["findings"]]
    assert [f["action"] for f in check["findings"]] == ["would_remove", "would_remove"]
    assert [f["action"] for f in real["findings"]] == ["removed", "removed"]
    assert real["diff"] == check["diff"] and real["removed"] == check["removed"]
    assert real["diff"]["before"]["EX01/Hub/mxHero Transport Agent"] == {"enabled": True, "priority": 9}
    assert "Install-TransportAgent -Name 'mxHero Transport Agent'" in real["removed"][0]["reinstall"]
    state = winrm_state(lab)["servers"]["EX01"]
    assert "mxHero Transport Agent" not in agents(lab) and "mxHero Transport Agent" not in agents(lab, "FrontEnd")
    assert "Transport Rule Agent" in agents(lab), "other agents survive"
    assert state["restarts"] == {"MSExchangeTransport": 1, "MSExchangeFrontEndTransport": 1}
    assert state["pending_restart"] == []
    again = run_module("exchange_transport_agent", args, diff=True)
    assert again["changed"] is False and again["findings"] == [] and again.get("restarted") == []
    history = lab.state()["winrm"]["history"]
    assert history and all(h["protected"] and h["user"] == "EXT\\exadmin" for h in history), history
    assert winrm_state(lab)["servers"]["EX01"]["restarts"] == state["restarts"], "no restart without a change"


def test_disable_one_service_without_restart(exchange_lab):
    lab = exchange_lab({"domains": [org()]})
    args = exchange_args(lab, "ex-t.test", state="disabled", transport_service=["FrontEnd"], restart_services=False)
    out = run_module("exchange_transport_agent", args)
    assert out["changed"] is True and out["restarted"] == []
    assert out["restart_needed"] == ["MSExchangeFrontEndTransport"]
    assert "Restart-Service MSExchangeFrontEndTransport" in json.dumps(out["warnings"]), out["warnings"]
    assert agents(lab, "FrontEnd")["mxHero Transport Agent"]["enabled"] is False
    assert agents(lab, "Hub")["mxHero Transport Agent"]["enabled"] is True, "Hub was not asked for"
    assert winrm_state(lab)["servers"]["EX01"]["pending_restart"] == ["MSExchangeFrontEndTransport"]
    again = run_module("exchange_transport_agent", args)
    assert again["changed"] is False
    assert [f["action"] for f in again["findings"]] == ["kept"]


def test_name_exact_and_pattern(exchange_lab):
    servers = [{"name": "EX01", "agents": {"Hub": [{"name": "Routing Agent"}, {"name": "Routing Agent Two"},
                                                   {"name": "Contoso Disclaimer"}]}}]
    lab = exchange_lab({"domains": [org(servers=servers)]})
    out = run_module("exchange_transport_agent", exchange_args(lab, "ex-t.test", name="routing agent", state="absent"))
    assert out["changed"] and set(agents(lab)) >= {"Routing Agent Two", "Contoso Disclaimer"}
    assert "Routing Agent" not in agents(lab)
    out = run_module("exchange_transport_agent", exchange_args(lab, "ex-t.test", name="Routing*", state="disabled"))
    assert agents(lab)["Routing Agent Two"]["enabled"] is False
    assert agents(lab)["Contoso Disclaimer"]["enabled"] is True
    default = run_module("exchange_transport_agent", exchange_args(lab, "ex-t.test", state="absent"))
    assert default["changed"] is False, "no agent contains mxhero"


@pytest.mark.parametrize("name", INJECTION_NAMES)
def test_injection_names_are_just_names(exchange_lab, name):
    servers = [{"name": "EX01", "agents": {"Hub": [{"name": name}, {"name": "Transport Rule Agent 2"}]}}]
    connectors = [{"name": name, "smart_hosts": ["smtp.mxhero.com"]}, {"name": "Internet"}]
    lab = exchange_lab({"domains": [org(servers=servers, send_connectors=connectors)]})
    out = run_module("exchange_transport_agent", exchange_args(lab, "ex-t.test", name=name, state="absent"))
    assert out["changed"] is True, out
    assert name not in agents(lab) and "Transport Rule Agent 2" in agents(lab)
    out = run_module("exchange_send_connector", exchange_args(lab, "ex-t.test", name=name))
    assert out["changed"] is True, out
    assert [c["name"] for c in winrm_state(lab)["send_connectors"]] == ["Internet"]


def test_send_connector_check_real_idempotent(exchange_lab):
    connectors = [{"name": "Outbound via mxHero", "smart_hosts": ["smtp.mxhero.com"]},
                  {"name": "Mixed", "smart_hosts": ["smtp-relay.mxhero.com", "relay.other.example"],
                   "address_spaces": ["SMTP:other.example;1"]},
                  {"name": "Partner", "smart_hosts": ["relay.partner.example"], "address_spaces": ["SMTP:p.example;1"]},
                  {"name": "Internet", "address_spaces": ["SMTP:*;10"]}]
    lab = exchange_lab({"domains": [org(send_connectors=connectors)]})
    args = exchange_args(lab, "ex-t.test", state="absent")
    check = run_module("exchange_send_connector", args, check_mode=True, diff=True)
    assert len(winrm_state(lab)["send_connectors"]) == 4
    real = run_module("exchange_send_connector", args, diff=True)
    assert real["changed"] is True and real["diff"] == check["diff"]
    actions = {f["object"]: f["action"] for f in real["findings"]}
    assert actions == {"send connector Outbound via mxHero": "removed", "send connector Mixed": "reported"}
    assert {f["object"]: f["action"] for f in check["findings"]}["send connector Outbound via mxHero"] == "would_remove"
    assert real["removed"][0]["smart_hosts"] == ["smtp.mxhero.com"]
    assert [c["name"] for c in winrm_state(lab)["send_connectors"]] == ["Mixed", "Partner", "Internet"]
    again = run_module("exchange_send_connector", args)
    assert again["changed"] is False
    mixed = run_module("exchange_send_connector", dict(args, include_mixed=True, state="disabled"))
    assert mixed["changed"] is True
    assert {c["name"]: c["enabled"] for c in winrm_state(lab)["send_connectors"]} == {
        "Mixed": False, "Partner": True, "Internet": True}


def test_mxhero_connector_in_exchanges_wire_shape_is_found_and_removed(exchange_lab):
    # Issue 23: the lab serves SmartHosts/AddressSpaces as Exchange does (MultiValuedProperty`1, raw <LST> for
    # pypsrp); the module must still see the mxHero smart hosts and the address spaces the outbound guard needs.
    from pypsrp.powershell import PowerShell, RunspacePool
    from pypsrp.wsman import WSMan
    connectors = [{"name": "Outbound via mxHero", "smart_hosts": ["smtp.mxhero.com", "[54.208.111.28]"],
                   "address_spaces": ["SMTP:*;1", "SMTP:contoso.com;1"]},
                  {"name": "Internet", "address_spaces": ["SMTP:*;10"]}]
    lab = exchange_lab({"domains": [org(send_connectors=connectors), org("ex-u.test", send_connectors=connectors[:1])]})
    args = exchange_args(lab, "ex-t.test")
    wsman = WSMan("127.0.0.1", port=args["psrp_port"], path="PowerShell/", ssl=False, auth="negotiate",
                  username=args["username"], password=args["password"], cert_validation=False)
    with RunspacePool(wsman, configuration_name="Microsoft.Exchange") as pool:
        served = PowerShell(pool).add_cmdlet("Get-SendConnector").invoke()[0].adapted_properties["SmartHosts"]
    assert "Microsoft.Exchange.Data.MultiValuedPropertyBase" in served.types and served.to_string is None
    # Without the "Internet" connector, removing it would leave SMTP:contoso.com and * without a route.
    refused = run_module("exchange_send_connector", exchange_args(lab, "ex-u.test"))
    assert refused["failed"] and "no enabled send connector would be left for *, contoso.com" in refused["msg"]
    out = run_module("exchange_send_connector", args)
    assert out["changed"] is True, out
    assert [(f["object"], f["action"]) for f in out["findings"]] == [
        ("send connector Outbound via mxHero", "removed")]
    assert out["removed"][0]["smart_hosts"] == ["smtp.mxhero.com", "[54.208.111.28]"]
    assert out["removed"][0]["address_spaces"] == ["SMTP:*;1", "SMTP:contoso.com;1"]
    assert [c["name"] for c in winrm_state(lab)["send_connectors"]] == ["Internet"]
    assert run_module("exchange_send_connector", args)["changed"] is False


def test_receive_connector_ranges_in_exchanges_wire_shape_are_reported(exchange_lab):
    # RemoteIPRanges and Bindings come as MultiValuedProperty`1[[IPRange]] / [[IPBinding]] like SmartHosts.
    server = {"name": "EX01", "agents": {"Hub": []}, "receive_connectors": [
        {"name": "From mxHero", "bindings": ["0.0.0.0:25"], "remote_ip_ranges": ["10.0.0.0/8", "54.208.111.28"]},
        {"name": "Default Frontend EX01"}]}
    lab = exchange_lab({"domains": [org(servers=[server], send_connectors=[{"name": "Internet"}])]})
    out = run_module("exchange_info", exchange_args(lab, "ex-t.test"))
    found = [f for f in out["findings"] if f["kind"] == "receive_connector"]
    assert [(f["object"], f["action"]) for f in found] == [("EX01 receive connector From mxHero", "manual")], out
    assert found[0]["before"]["remote_ip_ranges"] == ["10.0.0.0/8", "54.208.111.28"]
    assert found[0]["before"]["bindings"] == ["0.0.0.0:25"]


def test_send_connector_refuses_to_cut_outbound_mail(exchange_lab):
    lab = exchange_lab({"domains": [org(send_connectors=[{"name": "Relay", "smart_hosts": ["smtp.mxhero.com"]}])]})
    out = run_module("exchange_send_connector", exchange_args(lab, "ex-t.test"))
    assert out["failed"] and "no enabled send connector would be left for *" in out["msg"]
    assert len(winrm_state(lab)["send_connectors"]) == 1
    out = run_module("exchange_send_connector", exchange_args(lab, "ex-t.test", state="disabled",
                                                              allow_no_outbound=True))
    assert out["changed"] is True and out["warnings"]
    assert winrm_state(lab)["send_connectors"][0]["enabled"] is False


def test_many_connectors_go_one_cmdlet_each_through_remote_powershell(exchange_lab):
    # Issue 15: connectors moved from a shipped script over WinRM to Exchange's remote PowerShell; each
    # connector is re-read and removed with its own cmdlet, and no script reaches WinRM at all.
    many = [{"name": "mxHero relay %03d %s" % (i, "x" * 40), "smart_hosts": ["smtp.mxhero.com"]} for i in range(30)]
    lab = exchange_lab({"domains": [org(send_connectors=many + [{"name": "Internet"}])]})
    out = run_module("exchange_send_connector", exchange_args(lab, "ex-t.test"))
    assert out["changed"] is True and len(out["removed"]) == 30
    assert [c["name"] for c in winrm_state(lab)["send_connectors"]] == ["Internet"]
    history = lab.state()["winrm"]["history"]
    removes = [h for h in history if h.get("cmdlet") == "Remove-SendConnector"]
    assert len(removes) == 30 and all(h["endpoint"] == "PowerShell" for h in removes)
    assert removes[0]["commands"][0]["parameters"] == [["Identity", many[0]["name"]], ["Confirm", False]]
    assert not [h for h in history if h.get("script")], "no script may run for connectors"


def test_info_reports_everything(lab):
    out = run_module("exchange_info", exchange_args(lab, "ex-t.test"))
    assert out["changed"] is False
    kinds = sorted((f["kind"], f["action"]) for f in out["findings"])
    assert kinds == [("send_connector", "reported"), ("transport_agent", "reported"),
                     ("transport_agent", "reported")]
    assert out["transport_services"] == ["Hub", "FrontEnd", "MailboxSubmission", "MailboxDelivery"]
    assert out["snapin"] == "Microsoft.Exchange.Management.PowerShell.SnapIn"


def test_exchange_2010_snapin_chosen_automatically(lab):
    out = run_module("exchange_info", exchange_args(lab, "ex-legacy.test"))
    assert out["snapin"] == "Microsoft.Exchange.Management.PowerShell.E2010"
    assert out["transport_services"] == ["Hub"] and out["version"].startswith("Version 14.3")
    forced = run_module("exchange_info", exchange_args(lab, "ex-legacy.test", exchange_snapin="2013"))
    assert forced["failed"] and "no Exchange management snap-in" in forced["msg"] and "EXOLD" in forced["msg"]


def test_basic_over_https(lab):
    entry = lab.service("winrm")["organizations"]["ex-t.test"]["servers"][0]
    # Exchange's /PowerShell/ (IIS) checks Basic against the directory: the domain account is fine there.
    args = exchange_args(lab, "ex-t.test", transport="basic", psrp_port=entry["psrp_https_port"],
                         ca_path=lab.manifest["ca"])
    assert run_module("exchange_send_connector", args, check_mode=True)["server"] == "EX01"
    # WinRM's Basic takes local accounts only (issue 15): the domain name is refused, a bare name goes through.
    winrm_args = exchange_args(lab, "ex-t.test", transport="basic", scheme="https", port=entry["https_port"],
                               ca_path=lab.manifest["ca"])
    out = run_module("exchange_transport_agent", winrm_args, check_mode=True)
    assert out["failed"] and "rejected the credentials" in out["msg"]
    local = dict(winrm_args, username=winrm_args["username"].split("\\")[-1])
    assert run_module("exchange_transport_agent", local, check_mode=True)["server"] == "EX01"


def test_untrusted_certificate(lab):
    entry = lab.service("winrm")["organizations"]["ex-t.test"]["servers"][0]
    args = exchange_args(lab, "ex-t.test", transport="basic", psrp_port=entry["psrp_https_port"])
    out = run_module("exchange_send_connector", args, check_mode=True)
    assert out["failed"] and "TLS to https://127.0.0.1:%d/PowerShell/ failed" % entry["psrp_https_port"] in out["msg"]
    assert "ca_path" in out["msg"]
    lax = run_module("exchange_send_connector", dict(args, validate_certs=False), check_mode=True)
    assert lax["server"] == "EX01"


def test_wrong_password_and_no_secret_leaks(lab):
    wrong = "Wr0ng-Secret-Value"
    out = run_module("exchange_info", exchange_args(lab, "ex-t.test", password=wrong))
    assert out["failed"] and "rejected the credentials" in out["msg"] and out["msg"].startswith("ex-t.test: ")
    assert wrong not in json.dumps(out)
    good = exchange_args(lab, "ex-t.test")
    assert good["password"] not in json.dumps(run_module("exchange_info", good))


def test_transient_faults_are_retried(lab):
    lab.fault("winrm", kind="operation_timeout", count=3)
    lab.fault("winrm", kind="500", count=1, action="Create")
    lab.fault("winrm", kind="drop", count=1)
    out = run_module("exchange_info", exchange_args(lab, "ex-t.test"))
    assert out.get("failed") is not True, out
    assert lab.state()["winrm"]["faults"] == [], "every fault was consumed"


def test_server_that_times_out(lab):
    lab.fault("winrm", kind="hang", count=-1, seconds=3)
    started = time.monotonic()
    out = run_module("exchange_info", exchange_args(lab, "ex-t.test", read_timeout=2, operation_timeout=1))
    assert out["failed"] and "no answer from" in out["msg"] and "attempts" in out["msg"]
    assert time.monotonic() - started < 40


def test_cmdlet_error_is_one_clear_line(exchange_lab):
    lab = exchange_lab({"domains": [org()]})
    lab.fault("winrm", kind="cmdlet_error", cmdlet="Uninstall-TransportAgent", count=1,
              message="Access to the path 'C:\\Program Files\\Microsoft\\Exchange Server\\V15\\TransportRoles\\"
                      "Shared\\agents.config' is denied.")
    out = run_module("exchange_transport_agent", exchange_args(lab, "ex-t.test", state="absent"))
    assert out["failed"]
    assert out["msg"].startswith("ex-t.test: server EX01 Hub transport agent mxHero Transport Agent: Access to the path")
    assert "\n" not in out["msg"]
    lab.fault("winrm", kind="cmdlet_error", cmdlet="Get-SendConnector", count=1,
              message="Active Directory server dc01.lab.test is not available.")
    out = run_module("exchange_info", exchange_args(lab, "ex-t.test"))
    assert out["failed"] and "Get-SendConnector failed" in out["msg"]
    assert "dc01.lab.test is not available" in out["msg"] and "CLIXML" not in out["msg"]
    # The disable before the failed uninstall happened; a rerun finishes the job.
    out = run_module("exchange_transport_agent", exchange_args(lab, "ex-t.test", state="absent"))
    assert out["changed"] is True and "mxHero Transport Agent" not in agents(lab)


def test_auth_fault_is_not_retried_and_names_the_fix(lab):
    lab.fault("winrm", kind="auth", count=-1)
    out = run_module("exchange_info", exchange_args(lab, "ex-t.test"))
    assert out["failed"] and "rejected the credentials" in out["msg"] and "check username and password" in out["msg"]


def test_kerberos_without_its_library_is_a_clear_error(lab, monkeypatch):
    # The controller without pykerberos (pywinrm[kerberos]): pywinrm's own flag says so.
    import winrm.transport
    monkeypatch.setattr(winrm.transport, "HAVE_KERBEROS", False)
    out = run_module("exchange_info", exchange_args(lab, "ex-t.test", transport="kerberos"))
    assert out["failed"] and "transport kerberos is not available on the controller" in out["msg"], out["msg"]


def test_write_with_unknown_outcome_is_not_repeated(exchange_lab):
    lab = exchange_lab({"domains": [org()]})
    args = exchange_args(lab, "ex-t.test", state="absent")
    run_module("exchange_info", exchange_args(lab, "ex-t.test"))  # the read path is healthy
    # The read's Receive goes through; the write's is dropped, so its outcome is unknown.
    lab.fault("winrm", kind="drop", count=1, action="Receive", skip=1)
    out = run_module("exchange_transport_agent", args)
    assert out["failed"] and "may or may not have been made" in out["msg"], out
    # The script ran (its stdin had closed) but nobody saw the answer; the module did not send it again.
    writes = [h for h in lab.state()["winrm"]["history"] if h["script"] == "set_transport_agents.ps1"]
    assert len(writes) == 1
    # Running the task again reads first and finds nothing left to do.
    again = run_module("exchange_transport_agent", args)
    assert again["changed"] is False and "mxHero Transport Agent" not in agents(lab)
    assert winrm_state(lab)["servers"]["EX01"]["restarts"] == {"MSExchangeTransport": 1,
                                                               "MSExchangeFrontEndTransport": 1}


def test_remote_powershell_drop_on_a_read_is_retried(lab):
    lab.fault("winrm", kind="drop", count=1, action="Create")
    out = run_module("exchange_send_connector", exchange_args(lab, "ex-t.test"), check_mode=True)
    assert out.get("failed") is not True, out
    assert out["findings"][0]["action"] == "would_remove"
    assert lab.state()["winrm"]["faults"] == [], "the dropped Create was tried again"


def test_remote_powershell_write_with_unknown_outcome_is_not_repeated(exchange_lab):
    lab = exchange_lab({"domains": [org()]})
    # Receives: pool open, Get-ExchangeServer, Get-SendConnector, the re-read; the fifth is Remove-SendConnector's.
    lab.fault("winrm", kind="drop", count=1, action="Receive", skip=4)
    out = run_module("exchange_send_connector", exchange_args(lab, "ex-t.test"))
    assert out["failed"] and "may or may not have been made" in out["msg"], out
    removes = [h for h in lab.state()["winrm"]["history"] if h.get("cmdlet") == "Remove-SendConnector"]
    assert len(removes) == 1, "a write whose answer was lost is never sent again"
    assert [c["name"] for c in winrm_state(lab)["send_connectors"]] == ["Internet"]
    again = run_module("exchange_send_connector", exchange_args(lab, "ex-t.test"))
    assert again["changed"] is False and again.get("failed") is not True


@pytest.mark.parametrize("psrp_transport", ["negotiate", "ntlm"])
def test_remote_powershell_over_negotiate_and_ntlm(lab, psrp_transport):
    out = run_module("exchange_send_connector", exchange_args(lab, "ex-t.test", psrp_transport=psrp_transport),
                     check_mode=True)
    assert out.get("failed") is not True, out
    assert out["findings"][0]["object"] == "send connector Outbound via mxHero"


def test_remote_powershell_wrong_password_is_one_line_without_the_secret(lab):
    wrong = "Wr0ng-Secret-Value"
    out = run_module("exchange_send_connector", exchange_args(lab, "ex-t.test", password=wrong), check_mode=True)
    assert out["failed"] and out["msg"].startswith("ex-t.test: ")
    assert "/PowerShell/ rejected the credentials of 'EXT\\exadmin'" in out["msg"], out["msg"]
    assert wrong not in json.dumps(out) and "\n" not in out["msg"]


def test_remote_powershell_kerberos_without_its_library_is_a_clear_error(lab, monkeypatch):
    # The controller without the gssapi package: pyspnego has no Kerberos.
    import spnego._gss
    monkeypatch.setattr(spnego._gss, "HAS_GSSAPI", False)
    out = run_module("exchange_send_connector", exchange_args(lab, "ex-t.test", psrp_transport="kerberos"),
                     check_mode=True)
    assert out["failed"] and "\n" not in out["msg"]
    assert "kerberos" in out["msg"].lower() and "controller" in out["msg"], out["msg"]
