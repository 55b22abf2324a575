# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The only code that speaks WinRM: runs the collection's shipped PowerShell on one Exchange server.

Every script goes through ``bootstrap.ps1``: the command line only carries the
small bootstrap (``-EncodedCommand``), while the script and its JSON input
travel base64-encoded on stdin (WS-Man Send). Inputs are therefore data, never
code, and neither side is limited by Windows' 8191-character command line.
Knows nothing of Ansible.
"""

from __future__ import annotations

import base64
import json
import time

from ansible_collections.mxhero.unroute.plugins.module_utils._exchange import clixml
from ansible_collections.mxhero.unroute.plugins.module_utils._exchange.scripts import SCRIPTS
from ansible_collections.mxhero.unroute.plugins.module_utils._retry import RetryExhausted, RetryPolicy, TransientError

try:
    import requests
    import winrm
    from winrm.exceptions import (InvalidCredentialsError, WinRMError, WinRMOperationTimeoutError,
                                  WinRMTransportError, WSManFaultError)
    HAS_WINRM = True
    WINRM_IMPORT_ERROR = None
except ImportError as _err:  # pragma: no cover - reported by the module with missing_required_lib
    HAS_WINRM = False
    WINRM_IMPORT_ERROR = _err

# Windows refuses longer command lines (cmd.exe, CreateProcess).
COMMAND_LINE_LIMIT = 8191
# Stays well inside WinRM's default MaxEnvelopeSize (150 KiB before base64 and encryption).
STDIN_CHUNK = 48 * 1024
# WS-Man faults worth another try: operation timeout, and the generic "could not process" errors.
TRANSIENT_WSMAN_CODES = (2150858793, 2147500037, 2150858843, 1726)
# wsman:QuotaLimit for MaxShellsPerUser (default 30 shells per user and machine).
QUOTA_MAX_SHELLS = 2150859173
SNAPINS = {
    "auto": "auto",
    "2013": "Microsoft.Exchange.Management.PowerShell.SnapIn",
    "2010": "Microsoft.Exchange.Management.PowerShell.E2010",
}
DEFAULT_PORTS = {"http": 5985, "https": 5986}


class ExchangeError(Exception):
    """A failure talking to one server. ``obj`` names the Exchange object when one is to blame."""

    def __init__(self, cause, fix=None, obj=None, transient=False, unknown_outcome=False, partial=None):
        super(ExchangeError, self).__init__(cause)
        self.cause = cause
        self.fix = fix
        self.obj = obj
        self.transient = transient
        self.unknown_outcome = unknown_outcome
        self.partial = list(partial or [])


def bootstrap_command():
    """The command line every run uses: powershell.exe with the bootstrap as -EncodedCommand."""
    encoded = base64.b64encode(SCRIPTS["bootstrap.ps1"].encode("utf-16-le")).decode("ascii")
    return "powershell.exe", ["-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass",
                              "-EncodedCommand", encoded]


def stdin_payload(script_name, data, snapin="auto"):
    """What the bootstrap reads from stdin: base64 of the JSON {script, input, snapin}."""
    doc = {"script": SCRIPTS[script_name], "input": data, "snapin": SNAPINS.get(snapin, snapin)}
    return base64.b64encode(json.dumps(doc, ensure_ascii=False).encode("utf-8")) + b"\r\n"


class ExchangeClient(object):
    """One Exchange server reached over WinRM."""

    def __init__(self, host, port=None, scheme=None, transport="ntlm", username=None, password=None,
                 validate_certs=True, ca_path=None, client_cert=None, client_key=None, message_encryption="auto",
                 read_timeout=30, operation_timeout=20, command_timeout=300, snapin="auto", retry=None):
        if scheme is None:
            scheme = "https" if transport in ("basic", "certificate") else "http"
        self.host = host
        self.scheme = scheme
        self.port = int(port or DEFAULT_PORTS[scheme])
        self.endpoint = "%s://%s:%d/wsman" % (scheme, _url_host(host), self.port)
        self.transport = transport
        self.username = username
        self.password = password
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self.client_cert = client_cert
        self.client_key = client_key
        self.message_encryption = message_encryption
        self.read_timeout = int(read_timeout)
        self.operation_timeout = int(operation_timeout)
        self.command_timeout = float(command_timeout)
        self.snapin = snapin
        self.retry = retry or RetryPolicy(attempts=4, base=0.5, cap=4.0, max_total_wait=20.0)
        self._protocol = None

    @property
    def where(self):
        return "%s:%d" % (self.host, self.port)

    # -- public ----------------------------------------------------------------
    def run(self, script_name, data, write=False):
        """Run a shipped script with ``data`` as its input; returns the bootstrap's {server, snapin, result}.

        Reads are retried on transient failures. A write is retried only when it
        failed before the command started; after that its outcome is unknown.
        """
        try:
            return self.retry.call(self._run_once, script_name, data, write)
        except RetryExhausted as err:
            last = err.last
            cause = "%s (gave up after %d attempt%s)" % (last, err.attempts, "" if err.attempts == 1 else "s")
            if getattr(last, "unknown_outcome", False):
                raise ExchangeError(cause, "the change may or may not have been made; run the task again "
                                    "(it reads the state first and only does what is left)", unknown_outcome=True)
            raise ExchangeError(cause, "check that WinRM answers on %s and retry" % self.where)

    def close(self):
        if self._protocol is not None:
            try:
                self._protocol.transport.close_session()
            except Exception:  # noqa: BLE001 - closing a broken session must not mask the real error
                pass
            self._protocol = None

    # -- one attempt -------------------------------------------------------------
    def _protocol_for(self):
        if self._protocol is None:
            kwargs = dict(endpoint=self.endpoint, transport=self.transport, username=self.username,
                          password=self.password,
                          server_cert_validation="validate" if self.validate_certs else "ignore",
                          ca_trust_path=self.ca_path if self.ca_path else None,
                          read_timeout_sec=self.read_timeout, operation_timeout_sec=self.operation_timeout,
                          message_encryption=self.message_encryption, proxy=None)
            if self.transport == "certificate":
                kwargs.update(cert_pem=self.client_cert, cert_key_pem=self.client_key)
            try:
                self._protocol = winrm.Protocol(**kwargs)
            except (WinRMError, ValueError) as err:
                raise ExchangeError("cannot set up WinRM transport %s: %s" % (self.transport, err),
                                    "check the connection options (read_timeout must exceed operation_timeout)")
        return self._protocol

    def _run_once(self, script_name, data, write):
        command, args = bootstrap_command()
        started = False
        protocol = self._protocol_for()
        shell_id = command_id = None
        try:
            shell_id = protocol.open_shell(codepage=65001, noprofile=True)
            command_id = protocol.run_command(shell_id, command, args)
            started = True
            payload = stdin_payload(script_name, data, self.snapin)
            for offset in range(0, len(payload), STDIN_CHUNK):
                chunk = payload[offset:offset + STDIN_CHUNK]
                protocol.send_command_input(shell_id, command_id, chunk, end=offset + STDIN_CHUNK >= len(payload))
            stdout, stderr, code = self._receive(protocol, shell_id, command_id)
        except Exception as err:  # noqa: BLE001 - every wire failure becomes one ExchangeError
            if shell_id and not isinstance(err, (requests.exceptions.Timeout, requests.exceptions.ConnectionError)):
                # A shell left open counts against MaxShellsPerUser (30) until its idle timeout (2 hours):
                # failures that leak one each would lock the account out of WinRM.
                try:
                    protocol.close_shell(shell_id, close_session=False)
                except Exception:  # noqa: BLE001 - best effort; the original error is what matters
                    pass
            self.close()
            raise self._translate(err, write and started)
        try:
            protocol.cleanup_command(shell_id, command_id)
            protocol.close_shell(shell_id, close_session=False)
        except Exception:  # noqa: BLE001 - the output is in hand; a failed cleanup must not lose it
            self.close()
        return self._parse(script_name, stdout, stderr, code)

    def _receive(self, protocol, shell_id, command_id):
        deadline = time.monotonic() + self.command_timeout
        out, err = [], []
        while True:
            try:
                stdout, stderr, code, done = protocol.get_command_output_raw(shell_id, command_id)
            except WinRMOperationTimeoutError:
                # The command still runs; WS-Man answers each long poll with this fault.
                if time.monotonic() > deadline:
                    raise ExchangeError("the command did not finish within command_timeout=%ds"
                                        % self.command_timeout,
                                        "raise command_timeout or check the server's load",
                                        transient=True, unknown_outcome=True)
                continue
            out.append(stdout)
            err.append(stderr)
            if done:
                return b"".join(out), b"".join(err), code
            if time.monotonic() > deadline:
                raise ExchangeError("the command did not finish within command_timeout=%ds" % self.command_timeout,
                                    "raise command_timeout or check the server's load",
                                    transient=True, unknown_outcome=True)

    def _parse(self, script_name, stdout, stderr, code):
        if code != 0:
            text = clixml.error_text(stderr) or stdout.decode("utf-8", "replace").strip() or "no error text"
            raise ExchangeError("PowerShell failed running %s (exit code %s): %s" % (script_name, code, text),
                                "check that the account may run Exchange cmdlets on this server")
        try:
            return json.loads(stdout.decode("utf-8-sig"))
        except ValueError:
            raise ExchangeError("%s returned output that is not JSON: %r" % (script_name, stdout[:200]),
                                "check the server's PowerShell profile and execution policy")

    def _translate(self, err, unknown_outcome):
        """Map a pywinrm/requests failure onto ExchangeError or TransientError (for the retry policy)."""
        if isinstance(err, ExchangeError):
            if err.transient:
                return TransientError(err.cause, unknown_outcome=err.unknown_outcome or unknown_outcome)
            return err
        if isinstance(err, InvalidCredentialsError):
            return ExchangeError("the server rejected the credentials of '%s' (HTTP 401, transport %s)"
                                 % (self.username, self.transport),
                                 "check username and password and that the transport is enabled on the server")
        if isinstance(err, requests.exceptions.SSLError):
            return ExchangeError("TLS failed: %s" % _short(err),
                                 "set ca_path to the CA that issued the server's certificate (validate_certs=false "
                                 "only for a lab)")
        if isinstance(err, (requests.exceptions.Timeout, requests.exceptions.ConnectionError)):
            return TransientError("no answer from %s: %s" % (self.where, _short(err)), unknown_outcome=unknown_outcome)
        if isinstance(err, WSManFaultError) and err.wsman_fault_code == QUOTA_MAX_SHELLS:
            return ExchangeError("WS-Man fault %s: %s" % (err.wsman_fault_code, _short(err.reason)),
                                 "close the account's other WinRM shells (or wait for their idle timeout, or raise "
                                 "winrm/config/winrs MaxShellsPerUser) and run the task again")
        if isinstance(err, WSManFaultError):
            text = "WS-Man fault %s: %s" % (err.wsman_fault_code or err.code, err.reason)
            if err.wsman_fault_code in TRANSIENT_WSMAN_CODES or err.code in (500, 502, 503, 504):
                return TransientError(text, unknown_outcome=unknown_outcome)
            return ExchangeError(text, "check the WinRM configuration of the server")
        if isinstance(err, WinRMTransportError):
            text = "HTTP %s from WinRM: %s" % (err.code, _short(err.response_text or ""))
            if err.code in (500, 502, 503, 504):
                return TransientError(text, unknown_outcome=unknown_outcome)
            return ExchangeError(text, "check the WinRM configuration of the server")
        if isinstance(err, WinRMError) and "not installed" in str(err):
            return ExchangeError("transport %s is not available on the controller: %s" % (self.transport, err),
                                 "install the missing Python package next to pywinrm, or use transport ntlm")
        if isinstance(err, (WinRMError, AssertionError, StopIteration)):
            return ExchangeError("WinRM protocol error: %s" % (_short(err) or type(err).__name__),
                                 "check that %s is a WinRM endpoint" % self.endpoint)
        return ExchangeError("%s: %s" % (type(err).__name__, _short(err)), "check the connection options")


def _short(err):
    text = " ".join(str(err).split())
    return text if len(text) <= 300 else text[:297] + "..."


def _url_host(host):
    return "[%s]" % host if ":" in host and not host.startswith("[") else host
