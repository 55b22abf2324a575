# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Exchange's remote PowerShell (``http(s)://SERVER/PowerShell/``, configuration Microsoft.Exchange) over pypsrp.

The supported way to run Exchange cmdlets: the endpoint runs each cmdlet under
the server's RBAC in a NoLanguage runspace, so only commands with typed
parameters are sent, never a script. Object names therefore travel as data by
construction. Returns plain Python values (objects as dicts of their
properties); knows nothing of Ansible.
"""

from __future__ import annotations

from ansible_collections.mxhero.unroute.plugins.module_utils._exchange import clixml, kerberos
from ansible_collections.mxhero.unroute.plugins.module_utils._exchange.client import (
    ExchangeError, _is_kerberos_error, _NoScope, _short, _url_host, auth_refused, gave_up)
from ansible_collections.mxhero.unroute.plugins.module_utils._retry import RetryExhausted, RetryPolicy, TransientError

try:
    import requests
    from pypsrp.complex_objects import GenericComplexObject
    from pypsrp.exceptions import AuthenticationError, WinRMTransportError, WSManFaultError
    from pypsrp.powershell import PowerShell, RunspacePool
    from pypsrp.wsman import WSMan
    HAS_PYPSRP = True
except ImportError:  # pragma: no cover - reported by the module with missing_required_lib
    HAS_PYPSRP = False

CONFIGURATION = "Microsoft.Exchange"
DEFAULT_PORTS = {"http": 80, "https": 443}
# WS-Man faults worth another try: operation timeout, and the generic "could not process" errors.
TRANSIENT_WSMAN_CODES = (2150858793, 2147500037, 1726)
NOT_FOUND = "ManagementObjectNotFoundException"


class CmdletFailed(ExchangeError):
    """An Exchange cmdlet wrote an error record (the call reached Exchange; nothing transient)."""

    def __init__(self, cmdlet, message, reason=None):
        super(CmdletFailed, self).__init__("%s failed: %s" % (cmdlet, message),
                                           "check the object and the account's Exchange role (RBAC)")
        self.cmdlet = cmdlet
        self.message = message
        self.reason = reason or ""

    @property
    def not_found(self):
        return NOT_FOUND in self.reason


def plain(value):
    """A deserialised PowerShell value as plain Python: lists stay lists, Exchange objects become their text.

    Exchange's multi-valued properties come as objects holding a raw ``<LST>``
    (see clixml.py) and become lists of their items' text. A complex value with
    neither a list nor a ``<ToString>`` becomes ``clixml.Unreadable``, never an
    empty value: a property read that way must not look clean.
    """
    if isinstance(value, list):
        return [plain(v) for v in value]
    if HAS_PYPSRP and isinstance(value, GenericComplexObject):
        for raw in value.property_sets:
            element = clixml.parse_list(raw)
            if element is not None:
                try:
                    return clixml.list_items(element)
                except ValueError as err:
                    return clixml.Unreadable(value.types, str(err))
        if value.to_string is not None:
            return str(value)
        return clixml.Unreadable(value.types, "neither a list nor a text (<ToString>)")
    return value


def as_dict(obj):
    """One output object: its (adapted and extended) properties, values made plain."""
    if not (HAS_PYPSRP and isinstance(obj, GenericComplexObject)):
        return {"value": plain(obj)}
    props = dict(obj.extended_properties)
    props.update(obj.adapted_properties)
    return {k: plain(v) for k, v in props.items()}


class ExchangeShell(object):
    """One runspace pool on one Exchange server's remote PowerShell endpoint."""

    def __init__(self, host, port=None, scheme="http", auth="negotiate", username=None, password=None,
                 validate_certs=True, ca_path=None, read_timeout=30, operation_timeout=20, retry=None,
                 kerberos_hostname_override=None, channel_binding=True):
        self.host = host
        self.scheme = scheme
        self.port = int(port or DEFAULT_PORTS[scheme])
        self.url = "%s://%s:%d/PowerShell/" % (scheme, _url_host(host), self.port)
        self.auth = auth
        self.username = username
        self.password = password
        self.cert_validation = (ca_path or True) if validate_certs else False
        self.read_timeout = int(read_timeout)
        self.operation_timeout = int(operation_timeout)
        self.retry = retry or RetryPolicy(attempts=4, base=0.5, cap=4.0, max_total_wait=20.0)
        # Exchange's /PowerShell/ is an IIS application: its SPN is HTTP/<name> (pypsrp's default is WSMAN/).
        self.spn_host = kerberos_hostname_override or host
        self.kerberos_hostname_override = kerberos_hostname_override
        # Only tests turn it off: a client without channel binding, to see Extended Protection refuse it.
        self.channel_binding = channel_binding
        self._pool = None

    @property
    def where(self):
        return self.url

    # -- public ----------------------------------------------------------------
    def invoke(self, cmdlet, parameters=(), write=False):
        """Objects (dicts) cmdlet ``cmdlet`` writes when called with ``parameters`` [(name, value)].

        Reads are retried on transient failures; a write only when it failed
        before the pipeline reached the server.
        """
        try:
            return self.retry.call(self._invoke_once, cmdlet, list(parameters), write)
        except RetryExhausted as err:
            raise gave_up(err, "Exchange's remote PowerShell answers on %s" % self.url)

    def close(self):
        if self._pool is not None:
            try:
                self._pool.close()
            except Exception:  # noqa: BLE001 - closing a broken pool must not mask the real error
                pass
            self._pool = None

    # -- one attempt -------------------------------------------------------------
    def _pool_for(self):
        if self._pool is None:
            wsman = WSMan(self.host, port=self.port, path="PowerShell/", ssl=self.scheme == "https", auth=self.auth,
                          username=self.username, password=self.password, cert_validation=self.cert_validation,
                          encryption="auto", read_timeout=self.read_timeout, connection_timeout=self.read_timeout,
                          operation_timeout=self.operation_timeout, no_proxy=True, negotiate_service="HTTP",
                          negotiate_hostname_override=self.kerberos_hostname_override,
                          negotiate_send_cbt=self.channel_binding)
            pool = RunspacePool(wsman, configuration_name=CONFIGURATION)
            pool.open()
            self._pool = pool
        return self._pool

    def _kerberos_scope(self):
        # Without a password pyspnego reads the controller's credential cache (KRB5CCNAME).
        if self.auth in ("kerberos", "negotiate") and not self.password:
            return kerberos.default_cache()
        return _NoScope()

    def _invoke_once(self, cmdlet, parameters, write):
        with self._kerberos_scope():
            return self._invoke_in_scope(cmdlet, parameters, write)

    def _invoke_in_scope(self, cmdlet, parameters, write):
        started = False
        try:
            pool = self._pool_for()
            ps = PowerShell(pool)
            ps.add_cmdlet(cmdlet)
            for name, value in parameters:
                ps.add_parameter(name, value)
            started = True
            output = ps.invoke()
        except Exception as err:  # noqa: BLE001 - every wire failure becomes one ExchangeError
            self.close()
            raise self._translate(err, write and started)
        errors = list(ps.streams.error)
        if errors:
            first = errors[0]
            raise CmdletFailed(cmdlet, _short(str(first) or "unknown error"), _reason(first))
        return [as_dict(o) for o in output]

    def _translate(self, err, unknown_outcome):
        if isinstance(err, ExchangeError):
            return err
        if isinstance(err, ImportError):
            return ExchangeError("psrp_transport %s is not available on the controller: %s" % (self.auth, _short(err)),
                                 "install the missing Python package (gssapi and a Kerberos client for kerberos) "
                                 "or use psrp_transport=negotiate")
        if isinstance(err, AuthenticationError) or (isinstance(err, WinRMTransportError) and err.code == 401):
            problem = None
            if self.auth in ("kerberos", "negotiate"):
                problem = kerberos.service_ticket_problem(self.spn_host, self.username, self.password)
            return auth_refused("Exchange's remote PowerShell at %s" % self.url, self.username,
                                "psrp_transport", self.auth, self.scheme, self.spn_host, problem,
                                "the PowerShell virtual directory")
        if _is_kerberos_error(err):
            return auth_refused("Exchange's remote PowerShell at %s" % self.url, self.username, "psrp_transport",
                                self.auth, self.scheme, self.spn_host, _short(err), "the PowerShell virtual directory",
                                status=None)
        if isinstance(err, requests.exceptions.SSLError):
            return ExchangeError("TLS to %s failed: %s" % (self.url, _short(err)),
                                 "set ca_path to the CA that issued the server's certificate (validate_certs=false "
                                 "only for a lab)")
        if isinstance(err, (requests.exceptions.Timeout, requests.exceptions.ConnectionError)):
            return TransientError("no answer from %s: %s" % (self.url, _short(err)), unknown_outcome=unknown_outcome)
        if isinstance(err, WSManFaultError):
            text = "WS-Man fault %s from %s: %s" % (err.code, self.url, _short(err.reason or ""))
            if err.code in TRANSIENT_WSMAN_CODES:
                return TransientError(text, unknown_outcome=unknown_outcome)
            return ExchangeError(text, "check that %s is Exchange's remote PowerShell (configuration %s)"
                                 % (self.url, CONFIGURATION))
        if isinstance(err, WinRMTransportError):
            text = "HTTP %s from %s: %s" % (err.code, self.url, _short(err.response_text or ""))
            if err.code in (500, 502, 503, 504):
                return TransientError(text, unknown_outcome=unknown_outcome)
            return ExchangeError(text, "check psrp_port/psrp_scheme: Exchange's remote PowerShell is the "
                                 "/PowerShell/ virtual directory in IIS (80/443)")
        return ExchangeError("remote PowerShell %s: %s" % (type(err).__name__, _short(err)),
                             "check the connection options for %s" % self.url)


def _reason(record):
    """FullyQualifiedErrorId and category reason of an error record (where ManagementObjectNotFound shows)."""
    return " ".join(str(getattr(record, attr, None) or "") for attr in ("fq_error", "reason"))
