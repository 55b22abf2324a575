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
from ansible_collections.mxhero.unroute.plugins.module_utils._exchange import kerberos
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


def gave_up(err, check):
    """The ExchangeError for a RetryExhausted ``err``; ``check`` is what to verify when nothing was written."""
    last = err.last
    cause = "%s (gave up after %d attempt%s)" % (last, err.attempts, "" if err.attempts == 1 else "s")
    if getattr(last, "unknown_outcome", False):
        return ExchangeError(cause, "the change may or may not have been made; run the task again "
                             "(it reads the state first and only does what is left)", unknown_outcome=True)
    return ExchangeError(cause, "check that %s and retry" % check)


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
                 read_timeout=30, operation_timeout=20, command_timeout=300, snapin="auto", retry=None,
                 kerberos_hostname_override=None, channel_binding=True):
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
        # The name whose SPN (HTTP/<name>) Kerberos asks for; the host itself unless overridden.
        self.spn_host = kerberos_hostname_override or host
        self.kerberos_hostname_override = kerberos_hostname_override
        # Only tests turn it off: a client without channel binding, to see Extended Protection refuse it.
        self.channel_binding = channel_binding
        self._protocol = None
        self._ticket = None

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
            raise gave_up(err, "WinRM answers on %s" % self.where)

    def close(self):
        if self._ticket is not None:
            self._ticket.close()
            self._ticket = None
        self._close_protocol()

    def _close_protocol(self):
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
                          message_encryption=self.message_encryption, proxy=None, send_cbt=self.channel_binding)
            if self.transport == "kerberos" and self.kerberos_hostname_override:
                kwargs["kerberos_hostname_override"] = self.kerberos_hostname_override
            if self.transport == "certificate":
                kwargs.update(cert_pem=self.client_cert, cert_key_pem=self.client_key)
            try:
                self._protocol = winrm.Protocol(**kwargs)
            except (WinRMError, ValueError) as err:
                raise ExchangeError("cannot set up WinRM transport %s: %s" % (self.transport, err),
                                    "check the connection options (read_timeout must exceed operation_timeout)")
        return self._protocol

    def _kerberos_scope(self):
        """pykerberos reads the default credential cache: a password becomes a ticket in a private one first."""
        if self.transport != "kerberos":
            return _NoScope()
        if not getattr(winrm.transport, "HAVE_KERBEROS", False):
            raise ExchangeError("transport kerberos is not available on the controller: pykerberos is not installed",
                                "install pywinrm[kerberos] (pykerberos, built against MIT Kerberos) or use transport "
                                "ntlm")
        if self.password and self._ticket is None:
            try:
                self._ticket = kerberos.PasswordTicket(self.username, self.password)
            except kerberos.KerberosFailure as err:
                raise ExchangeError("Kerberos: %s" % err, "check the user name (user@REALM), the password, and that "
                                    "the krb5 configuration (KRB5_CONFIG, else /etc/krb5.conf) names the realm's KDC")
        return self._ticket.active() if self._ticket is not None else kerberos.default_cache()

    def _run_once(self, script_name, data, write):
        with self._kerberos_scope():
            return self._run_in_scope(script_name, data, write)

    def _run_in_scope(self, script_name, data, write):
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
            self._close_protocol()
            raise self._translate(err, write and started)
        try:
            protocol.cleanup_command(shell_id, command_id)
            protocol.close_shell(shell_id, close_session=False)
        except Exception:  # noqa: BLE001 - the output is in hand; a failed cleanup must not lose it
            self._close_protocol()
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

    def _refused(self):
        problem = None
        if self.transport == "kerberos":
            problem = kerberos.service_ticket_problem(self.spn_host, self.username, self.password, self._ticket)
        return auth_refused("WinRM at %s" % self.endpoint, self.username, "transport", self.transport,
                            self.scheme, self.spn_host, problem, "WinRM")

    def _kerberos_failed(self, err):
        problem = kerberos.service_ticket_problem(self.spn_host, self.username, self.password, self._ticket)
        return auth_refused("WinRM at %s" % self.endpoint, self.username, "transport", "kerberos", self.scheme,
                            self.spn_host, problem or _short(err), "WinRM", status=None)

    def _translate(self, err, unknown_outcome):
        """Map a pywinrm/requests failure onto ExchangeError or TransientError (for the retry policy)."""
        if isinstance(err, ExchangeError):
            if err.transient:
                return TransientError(err.cause, unknown_outcome=err.unknown_outcome or unknown_outcome)
            return err
        if isinstance(err, InvalidCredentialsError) or (isinstance(err, PermissionError) and "NTLM" in str(err)):
            # requests-ntlm says PermissionError when the 401 answering its NTLM message carries no challenge.
            return self._refused()
        if _is_kerberos_error(err):
            return self._kerberos_failed(err)
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


class _NoScope(object):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _is_kerberos_error(err):
    """pykerberos' and requests-kerberos' failures (no ticket, unknown SPN, mutual authentication)."""
    names = [cls.__name__ for cls in type(err).__mro__]
    return any(n in ("KerberosExchangeError", "GSSError", "MutualAuthenticationError", "Krb5Error", "SpnegoError")
               for n in names)


def auth_refused(where, username, option, auth, scheme, spn_host, problem, endpoint, status="HTTP 401"):
    """ExchangeError for a 401 on integrated authentication, naming what to configure.

    ``option`` names the setting (transport, psrp_transport) whose value ``auth`` is; ``problem``: why Kerberos
    could not get a ticket for HTTP/<spn_host> (None: it could, or Kerberos was not tried).
    """
    causes, fixes = [], []
    if auth in ("kerberos", "negotiate") and problem:
        fallback = auth == "negotiate" and status
        causes.append("Kerberos could not be used (%s), so only NTLM was left and the server refused it (a wrong "
                      "password, or NTLM switched off)" % problem if fallback
                      else "Kerberos could not get a ticket for HTTP/%s (%s)" % (spn_host, problem))
        if fallback:
            fixes.append("check username and password; if NTLM is switched off on the server, Kerberos must work")
        if "in cache" in problem or "credentials cache" in problem.lower() or "No credentials" in problem:
            fixes.append("give password, or run kinit %s so that the credential cache (KRB5CCNAME) holds its ticket"
                         % username)
        else:
            fixes.append("%sthe SPN HTTP/%s must exist in the account's realm (user@REALM) and the krb5 configuration "
                         "(KRB5_CONFIG) must map its DNS domain to that realm; or set kerberos_hostname_override to "
                         "the server's FQDN" % ("connect by the server's DNS name, not an IP address (Kerberos has "
                                                "no SPN for an address); " if _is_address(spn_host) else "", spn_host))
    elif auth == "ntlm":
        causes.append("the password was not accepted, or NTLM is switched off on the server")
        fixes.append("check username and password; if NTLM is switched off, use Kerberos (%s kerberos, user@REALM, "
                     "the server's DNS name, KRB5_CONFIG)" % option)
    else:
        causes.append("the password or ticket was not accepted")
        fixes.append("check username and password")
    if scheme == "https" and auth not in ("basic", "certificate"):
        # Extended Protection binds Windows integrated authentication (NTLM, Kerberos) to the TLS channel.
        causes.append("or the server requires Extended Protection (channel binding) and did not get a matching one")
        fixes.append("with Extended Protection on %s the client must reach the server itself (a TLS-terminating proxy "
                     "or load balancer breaks channel binding)" % endpoint)
    if status is None:
        # Kerberos failed on the controller, before anything reached the server.
        return ExchangeError("%s: no Kerberos ticket for '%s' (%s %s): %s" % (where, username, option, auth, causes[0]),
                             fixes[0])
    return ExchangeError("%s rejected the credentials of '%s' (%s, %s %s): %s"
                         % (where, username, status, option, auth, ", ".join(causes)), "; ".join(fixes))


def _is_address(host):
    import ipaddress
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return False


def _short(err):
    text = " ".join(str(err).split())
    return text if len(text) <= 300 else text[:297] + "..."


def _url_host(host):
    return "[%s]" % host if ":" in host and not host.startswith("[") else host
