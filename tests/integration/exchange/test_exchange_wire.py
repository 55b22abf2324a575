"""The lab's WinRM service, checked with plain pywinrm/requests (not the collection's client)."""

from __future__ import annotations

import base64
import json
import time
import uuid
from pathlib import Path

import pytest
import requests
import winrm
from winrm.exceptions import InvalidCredentialsError, WinRMOperationTimeoutError, WSManFaultError

from exchange_fixtures import org

pytestmark = pytest.mark.lab

PS_DIR = Path(__file__).resolve().parents[3] / "collections/mxhero/unroute/plugins/module_utils/_exchange/powershell"


def org_entry(lab, domain="ex-t.test"):
    entry = lab.service("winrm")["organizations"][domain]
    return entry, Path(entry["password_file"]).read_text().strip()


def protocol(lab, https=False, transport="ntlm", password=None, username=None, **kw):
    entry, real = org_entry(lab)
    server = entry["servers"][0]
    url = "%s://127.0.0.1:%d/wsman" % ("https" if https else "http", server["https_port" if https else "http_port"])
    kw.setdefault("ca_trust_path", lab.manifest["ca"])
    return winrm.Protocol(url, transport=transport, username=username or entry["username"],
                          password=real if password is None else password, **kw)


def run_bootstrap(p, script_name, data):
    """Run a shipped script exactly as documented: bootstrap on the command line, the rest on stdin."""
    bootstrap = (PS_DIR / "bootstrap.ps1").read_text()
    script = (PS_DIR / script_name).read_text()
    shell = p.open_shell(codepage=65001)
    cmd = p.run_command(shell, "powershell.exe", ["-NoProfile", "-EncodedCommand",
                                                  base64.b64encode(bootstrap.encode("utf-16-le")).decode()])
    doc = json.dumps({"script": script, "input": data, "snapin": "auto"}).encode()
    p.send_command_input(shell, cmd, base64.b64encode(doc), end=True)
    out, err, code = p.get_command_output(shell, cmd)
    p.cleanup_command(shell, cmd)
    p.close_shell(shell)
    return out, err, code


def test_ntlm_with_message_encryption(lab):
    p = protocol(lab)
    out, err, code = run_bootstrap(p, "get_state.ps1", {"agents": True})
    assert code == 0, err
    assert p.transport.encryption is not None, "pywinrm must have sealed the messages"
    doc = json.loads(out)
    assert doc["server"] == "EX01"
    assert {"mxHero Transport Agent", "Transport Rule Agent"} <= {a["identity"] for a in doc["result"]["agents"]}


def test_plain_soap_over_http_is_refused(lab):
    p = protocol(lab, message_encryption="never")
    with pytest.raises(InvalidCredentialsError):
        p.open_shell()


def test_basic_over_https_with_lab_ca(lab):
    # WinRM's Basic authentication takes local accounts only: DOMAIN\\user is refused (issue 15).
    with pytest.raises(InvalidCredentialsError):
        protocol(lab, https=True, transport="basic").open_shell()
    entry, _ = org_entry(lab)
    p = protocol(lab, https=True, transport="basic", username=entry["username"].split("\\")[-1])
    out, err, code = run_bootstrap(p, "get_state.ps1", {"agents": True, "transport_services": []})
    assert code == 0
    assert "mxHero Transport Agent" in {a["identity"] for a in json.loads(out)["result"]["agents"]}


def test_untrusted_certificate_fails(lab):
    p = protocol(lab, https=True, transport="basic", ca_trust_path=None)
    with pytest.raises(requests.exceptions.SSLError):
        p.open_shell()


def test_wrong_password_is_401(lab):
    with pytest.raises(InvalidCredentialsError):
        protocol(lab, password="not-the-password").open_shell()
    with pytest.raises(InvalidCredentialsError):
        protocol(lab, https=True, transport="basic", password="not-the-password").open_shell()


def test_other_organisation_cannot_log_in(lab):
    entry, _ = org_entry(lab, "ex-legacy.test")
    legacy_password = Path(entry["password_file"]).read_text().strip()
    own, _ = org_entry(lab)
    url = "http://127.0.0.1:%d/wsman" % own["servers"][0]["http_port"]
    p = winrm.Protocol(url, transport="ntlm", username=entry["username"], password=legacy_password)
    with pytest.raises(InvalidCredentialsError):
        p.open_shell()


def test_arbitrary_commands_never_run(lab):
    session = winrm.Session("http://127.0.0.1:%d/wsman" % org_entry(lab)[0]["servers"][0]["http_port"],
                            auth=(org_entry(lab)[0]["username"], org_entry(lab)[1]), transport="ntlm")
    result = session.run_ps("Remove-Item C:\\ -Recurse")
    assert result.status_code == 1
    assert b"only the collection's shipped PowerShell" in result.std_err


def test_command_line_limit_is_enforced(lab):
    session = winrm.Session("http://127.0.0.1:%d/wsman" % org_entry(lab)[0]["servers"][0]["http_port"],
                            auth=(org_entry(lab)[0]["username"], org_entry(lab)[1]), transport="ntlm")
    result = session.run_ps("# " + "x" * 3100)  # base64 of UTF-16 makes this > 8191 characters
    assert result.status_code == 1
    assert result.std_err.strip() == b"The command line is too long."


def test_unknown_script_on_stdin_is_refused(lab):
    p = protocol(lab)
    bootstrap = (PS_DIR / "bootstrap.ps1").read_text()
    shell = p.open_shell()
    cmd = p.run_command(shell, "powershell.exe", ["-EncodedCommand",
                                                  base64.b64encode(bootstrap.encode("utf-16-le")).decode()])
    doc = json.dumps({"script": "Get-Mailbox | Remove-Mailbox", "input": {}, "snapin": "auto"}).encode()
    p.send_command_input(shell, cmd, base64.b64encode(doc), end=True)
    out, err, code = p.get_command_output(shell, cmd)
    assert code == 1 and b"#< CLIXML" in err and b"never runs anything else" in err


def test_signal_and_delete_echo_message_id(lab):
    # pywinrm asserts RelatesTo == MessageID for Signal and Delete; this would raise otherwise.
    p = protocol(lab)
    shell = p.open_shell()
    cmd = p.run_command(shell, "cmd.exe", ["/c", "echo"])
    p.get_command_output(shell, cmd)
    p.cleanup_command(shell, cmd)
    p.close_shell(shell)


def test_operation_timeout_fault(lab):
    lab.fault("winrm", kind="operation_timeout", count=1)
    p = protocol(lab)
    shell = p.open_shell()
    cmd = p.run_command(shell, "cmd.exe", ["/c", "echo"])
    with pytest.raises(WinRMOperationTimeoutError):
        p.get_command_output_raw(shell, cmd)
    # The next poll gets the answer: the fault was for one Receive only.
    assert p.get_command_output_raw(shell, cmd)[3] is True


def test_500_fault_is_a_real_wsman_fault(lab):
    lab.fault("winrm", kind="500", count=1, action="Create")
    with pytest.raises(WSManFaultError) as err:
        protocol(lab).open_shell()
    assert err.value.code == 500 and err.value.wsman_fault_code == 2147500037
    assert "internal error" in err.value.reason


def test_unknown_shell_fault(lab):
    p = protocol(lab)
    with pytest.raises(WSManFaultError) as err:
        p.run_command(str(uuid.uuid4()).upper(), "cmd.exe")
    assert err.value.wsman_fault_code == 2150858843


def test_dropped_connection(lab):
    lab.fault("winrm", kind="drop", count=1)
    with pytest.raises(requests.exceptions.ConnectionError):
        protocol(lab).open_shell()


def test_hang_exceeds_read_timeout(lab):
    lab.fault("winrm", kind="hang", count=1, seconds=4)
    p = protocol(lab, read_timeout_sec=2, operation_timeout_sec=1)
    with pytest.raises(requests.exceptions.ReadTimeout):
        p.open_shell()


def test_thirty_first_shell_is_a_quota_fault(exchange_lab):
    # WinRM's MaxShellsPerUser default is 30 (issue 15): one more Create is wsman:QuotaLimit until one closes.
    lab = exchange_lab({"domains": [org()]})
    p = protocol(lab)
    shells = [p.open_shell() for _ in range(30)]
    try:
        with pytest.raises(WSManFaultError) as err:
            p.open_shell()
        assert err.value.wsman_fault_code == 2150859173 and "maximum number of 30 concurrent shells" in err.value.reason
        p.close_shell(shells.pop())
        shells.append(p.open_shell())
    finally:
        for shell in shells:
            p.close_shell(shell)


def test_receive_before_stdin_ends_is_a_long_poll(exchange_lab):
    lab = exchange_lab({"domains": [org()]})
    p = protocol(lab, read_timeout_sec=10, operation_timeout_sec=2)
    bootstrap = (PS_DIR / "bootstrap.ps1").read_text()
    shell = p.open_shell(codepage=65001)
    cmd = p.run_command(shell, "powershell.exe", ["-EncodedCommand",
                                                  base64.b64encode(bootstrap.encode("utf-16-le")).decode()])
    p.send_command_input(shell, cmd, b"e30=", end=False)
    started = time.monotonic()
    with pytest.raises(WinRMOperationTimeoutError):
        p.get_command_output_raw(shell, cmd)
    assert time.monotonic() - started >= 1.8, "WinRM holds the Receive for the OperationTimeout before the fault"
    p.cleanup_command(shell, cmd)
    p.close_shell(shell)
