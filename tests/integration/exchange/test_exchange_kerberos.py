"""Kerberos and Extended Protection against the lab's real MIT KDC and GSSAPI acceptor, with NTLM refused.

One lab for the module (one KDC, three realms-worth of organisations):
ex-krb.test and ex-krb2.test have Kerberos, NTLM switched off and Extended
Protection required; ex-ep.test keeps NTLM (no realm) with Extended Protection
required. The collection's modules run with a password (they get their own
ticket) and with a credential cache made by ``kinit``.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from exchange_fixtures import MXHERO_AGENT, exchange_args, org
from helpers import run_module

pytestmark = pytest.mark.lab

SERVERS = [{"name": "EX01", "agents": {"Hub": [MXHERO_AGENT], "FrontEnd": [MXHERO_AGENT]}},
           {"name": "EX02", "agents": {"Hub": [MXHERO_AGENT]}}]
KRB = dict(kerberos=True, ntlm=False, extended_protection="require")


@pytest.fixture(scope="module")
def krb_lab(tmp_path_factory):
    from unroute_lab import cli as lab_cli
    from unroute_lab.manifest import Lab
    import yaml
    directory = tmp_path_factory.mktemp("exchange-krb-lab")
    estate = {"domains": [org("ex-krb.test", servers=SERVERS, **KRB), org("ex-krb2.test", **KRB),
                          org("ex-ep.test", extended_protection="require")]}
    (directory / "estate.yml").write_text(yaml.safe_dump(estate))
    lab_cli.up(str(directory / "estate.yml"), str(directory / "run"), quiet=True)
    lab = Lab(directory / "run")
    saved = {k: os.environ.get(k) for k in ("KRB5_CONFIG", "KRB5CCNAME")}
    # The controller's krb5 configuration, the standard way: KRB5_CONFIG names the lab's realms and KDC.
    os.environ["KRB5_CONFIG"] = lab.service("winrm")["kerberos"]["krb5_config"]
    # Nothing of the host's own credential cache may make a test pass.
    os.environ["KRB5CCNAME"] = "FILE:%s" % (directory / "no-such-ccache")
    yield lab
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    lab_cli.down(str(directory / "run"))


def org_entry(lab, domain):
    return lab.service("winrm")["organizations"][domain]


def server_entry(lab, domain, name="EX01"):
    return next(s for s in org_entry(lab, domain)["servers"] if s["name"] == name)


def krb_args(lab, domain, server="EX01", **extra):
    """Kerberos the way a user configures it: user@REALM, and the SPN host (the lab listens on 127.0.0.1)."""
    entry = org_entry(lab, domain)
    args = exchange_args(lab, domain, server=server, transport="kerberos", username=entry["principal"],
                         kerberos_hostname_override=server_entry(lab, domain, server)["fqdn"])
    args.update(extra)
    return args


def auths(lab, since=0):
    return lab.state()["winrm"]["authentications"][since:]


def kinit(lab, domain, path):
    entry = org_entry(lab, domain)
    env = dict(os.environ, KRB5CCNAME="FILE:%s" % path)
    done = subprocess.run(["kinit", entry["principal"]], input=Path(entry["password_file"]).read_text(), env=env,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return "FILE:%s" % path


def agent_names(lab, domain, server="EX01", service="Hub"):
    state = lab.state()["winrm"]["organizations"][domain]["servers"][server]["agents"][service]
    return [a["identity"] for a in state]


def connector_names(lab, domain):
    return [c["name"] for c in lab.state()["winrm"]["organizations"][domain]["send_connectors"]]


def test_lab_kdc_is_a_real_kdc(krb_lab, tmp_path):
    info = krb_lab.service("winrm")["kerberos"]
    assert sorted(info["realms"]) == ["EX-KRB.TEST", "EX-KRB2.TEST"]
    ccache = kinit(krb_lab, "ex-krb.test", tmp_path / "cc")
    env = dict(os.environ, KRB5CCNAME=ccache)
    kvno = subprocess.run(["kvno", "HTTP/ex02.ex-krb.test@EX-KRB.TEST"], env=env, capture_output=True, text=True)
    assert kvno.returncode == 0, kvno.stderr
    keytab = subprocess.run(["klist", "-k", info["keytab"]], capture_output=True, text=True).stdout
    assert "HTTP/ex01.ex-krb.test@EX-KRB.TEST" in keytab and "HTTP/ex01.ex-krb2.test@EX-KRB2.TEST" in keytab


def test_winrm_kerberos_with_password_and_ntlm_refused(krb_lab):
    mark = len(auths(krb_lab))
    result = run_module("exchange_transport_agent", krb_args(krb_lab, "ex-krb.test", state="absent"))
    assert result["changed"] is True and not result.get("failed"), result
    assert "mxHero Transport Agent" not in agent_names(krb_lab, "ex-krb.test")
    seen = auths(krb_lab, mark)
    assert seen and all(a.get("mechanism") == "kerberos" for a in seen if "refused" not in a), seen
    assert {a["user"] for a in seen if "user" in a} == {"exadmin@EX-KRB.TEST"}
    # Over HTTP every message was sealed with the Kerberos session key (WinRM message encryption).
    assert all(h["protected"] for h in krb_lab.state()["winrm"]["history"])


def test_winrm_kerberos_over_https_sends_channel_binding(krb_lab):
    srv = server_entry(krb_lab, "ex-krb.test", "EX02")
    mark = len(auths(krb_lab))
    args = krb_args(krb_lab, "ex-krb.test", server="EX02", scheme="https", port=srv["https_port"],
                    ca_path=krb_lab.manifest["ca"], state="absent")
    result = run_module("exchange_transport_agent", args)
    assert result["changed"] is True and not result.get("failed"), result
    accepted = [a for a in auths(krb_lab, mark) if "user" in a]
    assert accepted and all(a["tls"] and a["channel_binding"] and a["mechanism"] == "kerberos" for a in accepted)


def test_psrp_kerberos_with_password_over_https_with_channel_binding(krb_lab):
    srv = server_entry(krb_lab, "ex-krb.test")
    mark = len(auths(krb_lab))
    args = krb_args(krb_lab, "ex-krb.test", psrp_transport="kerberos", psrp_scheme="https",
                    psrp_port=srv["psrp_https_port"], ca_path=krb_lab.manifest["ca"], state="absent")
    result = run_module("exchange_send_connector", args)
    assert result["changed"] is True and not result.get("failed"), result
    assert "Outbound via mxHero" not in connector_names(krb_lab, "ex-krb.test")
    accepted = [a for a in auths(krb_lab, mark) if "user" in a]
    assert accepted and all(a["endpoint"] == "powershell" and a["channel_binding"] for a in accepted), accepted


def test_psrp_negotiate_goes_through_kerberos_when_ntlm_is_refused(krb_lab):
    mark = len(auths(krb_lab))
    args = krb_args(krb_lab, "ex-krb2.test", psrp_transport="negotiate", state="absent")
    result = run_module("exchange_send_connector", args, check_mode=True)
    assert result["changed"] is True and not result.get("failed"), result
    accepted = [a for a in auths(krb_lab, mark) if "user" in a]
    assert accepted and {a["mechanism"] for a in accepted} == {"kerberos"}


def test_credential_cache_without_password_both_paths(krb_lab, tmp_path, monkeypatch):
    monkeypatch.setenv("KRB5CCNAME", kinit(krb_lab, "ex-krb2.test", tmp_path / "cc"))
    args = krb_args(krb_lab, "ex-krb2.test", state="absent")
    args.pop("password")
    agent = run_module("exchange_transport_agent", args)
    assert agent["changed"] is True and not agent.get("failed"), agent
    assert "mxHero Transport Agent" not in agent_names(krb_lab, "ex-krb2.test")
    connector = run_module("exchange_send_connector", dict(args, psrp_transport="kerberos"))
    assert connector["changed"] is True and not connector.get("failed"), connector
    assert "Outbound via mxHero" not in connector_names(krb_lab, "ex-krb2.test")
    again = run_module("exchange_send_connector", dict(args, psrp_transport="negotiate"))
    assert again["changed"] is False and not again.get("failed"), again


def test_no_ticket_in_the_cache_says_so(krb_lab, tmp_path, monkeypatch):
    monkeypatch.setenv("KRB5CCNAME", "FILE:%s" % (tmp_path / "empty"))
    args = krb_args(krb_lab, "ex-krb2.test", state="absent")
    args.pop("password")
    result = run_module("exchange_transport_agent", args, check_mode=True)
    assert result.get("failed"), result
    assert "\n" not in result["msg"] and "Kerberos" in result["msg"], result["msg"]


def test_only_ntlm_possible_by_ip_and_ntlm_refused_names_spn_realm_and_dns_name(krb_lab):
    # By IP address there is no SPN: negotiate falls back to NTLM, which the server refuses.
    args = krb_args(krb_lab, "ex-krb.test", psrp_transport="negotiate", state="absent")
    args.pop("kerberos_hostname_override")
    result = run_module("exchange_send_connector", args, check_mode=True)
    assert result.get("failed"), result
    msg = result["msg"]
    assert "\n" not in msg and "HTTP 401" in msg and "NTLM" in msg, msg
    for word in ("SPN HTTP/127.0.0.1", "realm", "DNS name", "IP address", "kerberos_hostname_override"):
        assert word in msg, (word, msg)
    assert Path(org_entry(krb_lab, "ex-krb.test")["password_file"]).read_text().strip() not in msg
    # The WinRM path with transport kerberos by IP: no ticket at all, same advice.
    winrm = run_module("exchange_transport_agent", args, check_mode=True)
    assert winrm.get("failed") and "\n" not in winrm["msg"], winrm
    assert "SPN HTTP/127.0.0.1" in winrm["msg"] and "DNS name" in winrm["msg"], winrm["msg"]


def test_ntlm_transport_against_ntlm_refused_points_at_kerberos(krb_lab):
    entry = org_entry(krb_lab, "ex-krb.test")
    args = exchange_args(krb_lab, "ex-krb.test", username=entry["username"], state="absent")
    result = run_module("exchange_transport_agent", args, check_mode=True)
    assert result.get("failed") and "\n" not in result["msg"], result
    assert "HTTP 401" in result["msg"] and "NTLM is switched off" in result["msg"], result["msg"]
    assert any(a.get("refused") == "ntlm refused" for a in auths(krb_lab))


def test_wrong_password_kerberos_is_one_line(krb_lab):
    result = run_module("exchange_transport_agent", krb_args(krb_lab, "ex-krb.test", password="wrong-password",
                                                             state="absent"), check_mode=True)
    assert result.get("failed") and "\n" not in result["msg"], result
    assert "Kerberos: no ticket for exadmin@EX-KRB.TEST" in result["msg"], result["msg"]
    assert "wrong-password" not in result["msg"]


# -- Extended Protection: a client without channel binding -------------------------------------------------

def _clients(lab, domain, **kw):
    from ansible_collections.mxhero.unroute.plugins.module_utils._exchange.client import ExchangeClient
    from ansible_collections.mxhero.unroute.plugins.module_utils._exchange.remote import ExchangeShell
    from ansible_collections.mxhero.unroute.plugins.module_utils._retry import RetryPolicy
    entry = org_entry(lab, domain)
    srv = entry["servers"][0]
    password = Path(entry["password_file"]).read_text().strip()
    once = RetryPolicy(attempts=1, base=0.1, cap=0.1, max_total_wait=1)
    kerberos = entry["kerberos"]
    username = entry["principal"] if kerberos else entry["username"]
    override = srv["fqdn"] if kerberos else None
    winrm = ExchangeClient("127.0.0.1", port=srv["https_port"], scheme="https",
                           transport="kerberos" if kerberos else "ntlm", username=username, password=password,
                           ca_path=lab.manifest["ca"], retry=once, kerberos_hostname_override=override, **kw)
    psrp = ExchangeShell("127.0.0.1", port=srv["psrp_https_port"], scheme="https", auth="negotiate",
                         username=username, password=password, ca_path=lab.manifest["ca"], retry=once,
                         kerberos_hostname_override=override, **kw)
    return winrm, psrp


@pytest.mark.parametrize("domain, mechanism", [("ex-krb.test", "kerberos"), ("ex-ep.test", "ntlm")])
def test_extended_protection_refuses_a_client_without_channel_binding(krb_lab, domain, mechanism):
    from ansible_collections.mxhero.unroute.plugins.module_utils._exchange.client import ExchangeError
    winrm, psrp = _clients(krb_lab, domain, channel_binding=False)
    mark = len(auths(krb_lab))
    for call in (lambda: winrm.run("get_state.ps1", {"agents": True, "transport_services": []}),
                 lambda: psrp.invoke("Get-SendConnector")):
        with pytest.raises(ExchangeError) as caught:
            call()
        text = "%s; %s" % (caught.value.cause, caught.value.fix)
        assert "HTTP 401" in text and "Extended Protection" in text and "channel binding" in text, text
        assert "\n" not in text
    winrm.close()
    psrp.close()
    refused = [a for a in auths(krb_lab, mark) if "refused" in a]
    assert refused and not [a for a in auths(krb_lab, mark) if "user" in a], auths(krb_lab, mark)
    # The same clients with channel binding (the collection's default) get in, through the same mechanism.
    winrm, psrp = _clients(krb_lab, domain)
    mark = len(auths(krb_lab))
    assert psrp.invoke("Get-SendConnector")
    winrm.run("get_state.ps1", {"agents": True, "transport_services": []})
    winrm.close()
    psrp.close()
    accepted = [a for a in auths(krb_lab, mark) if "user" in a]
    assert accepted and {(a["mechanism"], a["channel_binding"]) for a in accepted} == {(mechanism, True)}


def test_a_ticket_for_another_server_is_refused(krb_lab):
    # EX01's listener with a ticket for HTTP/ex02.ex-krb.test: a real server has only its own keys.
    args = krb_args(krb_lab, "ex-krb.test", kerberos_hostname_override="ex02.ex-krb.test")
    mark = len(auths(krb_lab))
    result = run_module("exchange_info", args)
    assert result.get("failed") and "HTTP 401" in result["msg"], result
    assert any("not for this server" in a.get("refused", "") for a in auths(krb_lab, mark))
