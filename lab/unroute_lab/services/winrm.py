"""Lab WinRM service: WS-Management as pywinrm speaks it, in front of an in-memory Exchange.

One HTTP listener (NTLM with message encryption, like a default WinRM
listener) and one HTTPS listener (Basic or NTLM over TLS from the lab CA) per
Exchange server of the estate; the port says which server you reach, the
credentials which organisation may. Nothing received is ever executed: see
winrm_exchange.py.

Faults (``unroute-lab fault --service winrm '{"kind": ..., "count": n}'``),
each optionally limited with ``"server": "EX01"`` and ``"action": "Receive"``:
``operation_timeout`` (WS-Man fault 2150858793 on Receive), ``500`` (internal
WS-Man fault), ``hang`` (no answer for ``seconds``, default 60), ``drop``
(connection closed with no answer), ``auth`` (401 even for good credentials),
``cmdlet_error`` (``cmdlet`` and ``message``: that Exchange cmdlet throws),
``restart_error`` (Restart-Service fails). ``"skip": n`` lets n matching
requests through before the fault starts.

Kerberos and Extended Protection, per organisation in the estate's
``exchange`` section: ``kerberos: true`` gives the organisation a realm on the
lab's MIT KDC (kdc.py; realm = the domain upper-cased, service principals
``HTTP/<server>.<domain>``) and every listener accepts SPNEGO/Kerberos through
a real GSSAPI acceptor (MIT's, reading the lab's keytab); ``ntlm: false``
refuses NTLM, raw or inside SPNEGO, as a server with NTLM switched off does;
``extended_protection: require`` makes the HTTPS listeners demand channel
binding (RFC 5929 tls-server-end-point, the hash of the listener's certificate)
in NTLM's MsvAvChannelBindings and in Kerberos' authenticator checksum, as
Exchange does by default since 2019 CU14, and answers 401 to a client that
sends none or the wrong one.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
import socket
import struct
import threading
import time
import traceback
import uuid
from http.server import ThreadingHTTPServer

from ..kdc import KDC
from .base import LabHandler, LabService
from . import winrm_soap as soap
from .exchange_psrp import PSRPEndpoint
from .winrm_exchange import (COMMAND_LINE_LIMIT, Organization, Runner, clixml, parse_command_line,
                             shipped_scripts)

BOUNDARY = b"--Encrypted Boundary"
# winrm/config/winrs defaults ([MS-WSMV] 2.2.4.42).
MAX_SHELLS_PER_USER = 30
# The lab's own cap on how long a Receive with no output is held (Windows holds the full OperationTimeout).
MAX_LONG_POLL = 5.0
ENCRYPTED = "application/HTTP-SPNEGO-session-encrypted"
# The GSS-API OID of Kerberos 5 (1.2.840.113554.1.2.2) as DER, in a raw AP-REQ and in SPNEGO's mechTypes.
KRB5_OID = bytes.fromhex("06092a864886f712010202")
EXTENDED_PROTECTION = ("none", "require")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class WinRMService(LabService):
    name = "winrm"
    section = "exchange"

    def __init__(self, ctx):
        super(WinRMService, self).__init__(ctx)
        self.orgs = {}
        self.listeners = []
        self.shells = {}
        self.history = []
        self.stopping = threading.Event()
        self.base = ctx.dir / "winrm"
        self.kdc = None
        # Every successful authentication: which mechanism, whether channel binding was demanded (tests read it).
        self.authentications = []

    # -- lifecycle ---------------------------------------------------------------
    def start(self):
        self.base.mkdir(parents=True, exist_ok=True)
        for domain in self.ctx.estate.with_section(self.section):
            org = Organization(domain.name, domain.section(self.section) or {})
            org.password = str(org.password or secrets.token_urlsafe(18))
            org.password_file = self.base / ("%s.password" % domain.name)
            org.password_file.write_text(org.password + "\n")
            org.password_file.chmod(0o600)
            section = domain.section(self.section) or {}
            org.kerberos = bool(section.get("kerberos", False))
            org.ntlm = bool(section.get("ntlm", True))
            org.extended_protection = str(section.get("extended_protection", "none")).lower()
            if org.extended_protection not in EXTENDED_PROTECTION:
                raise ValueError("exchange %s: extended_protection must be one of %s"
                                 % (domain.name, ", ".join(EXTENDED_PROTECTION)))
            if not (org.ntlm or org.kerberos):
                raise ValueError("exchange %s: ntlm: false needs kerberos: true (or nothing could log on)"
                                 % domain.name)
            org.realm = domain.name.upper()
            for server in org.servers.values():
                server.fqdn = "%s.%s" % (server.name.lower(), domain.name)
            self.orgs[domain.name] = org
        user_file = self.base / "ntlm_users"
        user_file.write_text("".join("%s:%s:%s\n" % (o.name, o.username, o.password) for o in self.orgs.values()))
        user_file.chmod(0o600)
        self.scripts = shipped_scripts()
        self.psrp = PSRPEndpoint(self.lock, self.history, self.cmdlet_fault)
        manifest = {"ca": str(self.ctx.pki.ca_path), "ntlm_user_file": str(user_file), "organizations": {}}
        kerberos = [o for o in self.orgs.values() if o.kerberos]
        if kerberos:
            manifest["kerberos"] = self._start_kdc(kerberos)
        self._acceptor_environment(user_file)
        sans = ["localhost", "127.0.0.1"] + [s.fqdn for o in kerberos for s in o.servers.values()]
        tls = self.ctx.pki.server_context("winrm", sans)
        # Channel binding token of the HTTPS listeners (RFC 5929 tls-server-end-point): the hash of the DER
        # certificate, with SHA-256 where its signature uses MD5 or SHA-1 (the lab signs with SHA-256).
        self.cbt_app_data = b"tls-server-end-point:" + _end_point_hash(self.ctx.pki.issue("winrm", sans)[0])
        for domain, org in self.orgs.items():
            entry = {"organization": org.name, "username": "%s\\%s" % (org.name, org.username),
                     "password_file": str(org.password_file), "servers": [], "kerberos": org.kerberos,
                     "ntlm": org.ntlm, "extended_protection": org.extended_protection}
            if org.kerberos:
                entry.update(realm=org.realm, principal="%s@%s" % (org.username, org.realm))
            for server in org.servers.values():
                http = self._listen(org, server, None)
                https = self._listen(org, server, tls)
                server.http_port = http.server_address[1]
                server.https_port = https.server_address[1]
                # Exchange's remote PowerShell lives in IIS (80/443 on a real server), not on WinRM's listener.
                server.psrp_http_port = self._listen(org, server, None, psrp=True).server_address[1]
                server.psrp_https_port = self._listen(org, server, tls, psrp=True).server_address[1]
                entry["servers"].append({"name": server.name, "host": "127.0.0.1", "fqdn": server.fqdn,
                                         "http_port": server.http_port,
                                         "https_port": server.https_port, "version": server.version,
                                         "psrp_http_port": server.psrp_http_port,
                                         "psrp_https_port": server.psrp_https_port})
            manifest["organizations"][domain] = entry
        return manifest

    def _start_kdc(self, orgs):
        realms = {o.realm: {"users": {o.username: o.password}, "domain": o.domain,
                            "services": [s.fqdn for s in o.servers.values()]} for o in orgs}
        # In the supervisor's process group: 'unroute-lab down' ends it with the services.
        self.kdc = KDC(self.base / "kdc", realms, detached=False).start()
        return {"krb5_config": str(self.kdc.krb5_conf), "kdc": "127.0.0.1:%d" % self.kdc.port,
                "keytab": str(self.kdc.keytab), "realms": sorted(realms)}

    def _acceptor_environment(self, user_file):
        """The lab's only process-wide setting, made here alone and undone by stop().

        The in-process acceptors read their configuration from the environment and from nowhere else:
        pyspnego's NTLM acceptor takes its accounts from NTLM_USER_FILE (it has no parameter for them), and
        MIT's GSSAPI acceptor, which pyspnego's Negotiate creates with default credentials (it passes no
        acceptor credential, so no cred store, to its Kerberos context), finds the service keys through
        KRB5_KTNAME and the realms through KRB5_CONFIG. No replay cache (KRB5RCACHETYPE): the Extended
        Protection check presents a client's AP-REQ twice (see WinRMHandler._kerberos_without_bindings).
        The supervisor is a process of its own, so nothing else of the lab sees these; the KDC and its tools
        get their configuration through env= (kdc.py).
        """
        values = {"NTLM_USER_FILE": str(user_file)}
        if self.kdc is not None:
            values.update(KRB5_CONFIG=str(self.kdc.krb5_conf), KRB5_KTNAME="FILE:%s" % self.kdc.keytab,
                          KRB5RCACHETYPE="none")
        self.saved_environment = {key: os.environ.get(key) for key in values}
        os.environ.update(values)

    def _listen(self, org, server, tls, psrp=False):
        service = self

        class Handler(WinRMHandler):
            pass

        Handler.service = service
        Handler.org = org
        Handler.server_model = server
        Handler.tls = tls
        Handler.psrp = psrp
        httpd = _Server(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.5}, daemon=True)
        thread.start()
        self.listeners.append(httpd)
        return httpd

    def stop(self):
        self.stopping.set()
        # shutdown() waits for one poll interval; do all listeners at once so 'down' stays quick.
        threads = [threading.Thread(target=httpd.shutdown, daemon=True) for httpd in self.listeners]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(5)
        for httpd in self.listeners:
            httpd.server_close()
        if self.kdc is not None:
            self.kdc.stop()
        for key, value in getattr(self, "saved_environment", {}).items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def state(self):
        with self.lock:
            return {"organizations": {d: o.state() for d, o in self.orgs.items()},
                    "history": list(self.history[-200:]), "faults": [dict(f) for f in self.faults],
                    "open_shells": len(self.shells), "authentications": list(self.authentications[-200:])}

    def host_vars(self, domain):
        org = self.orgs.get(domain.name)
        if org is None:
            return {}
        servers = list(org.servers.values())
        out = {
            "unroute_exchange_host": "127.0.0.1",
            "unroute_exchange_port": servers[0].http_port,
            "unroute_exchange_scheme": "http",
            "unroute_exchange_transport": "ntlm",
            "unroute_exchange_username": "%s\\%s" % (org.name, org.username),
            "unroute_exchange_password": "{{ lookup('ansible.builtin.file', '%s') }}" % org.password_file,
            "unroute_exchange_ca_path": str(self.ctx.pki.ca_path),
            "unroute_exchange_psrp_port": servers[0].psrp_http_port,
            "unroute_exchange_servers": [{"name": s.name, "host": "127.0.0.1", "port": s.http_port,
                                          "https_port": s.https_port, "psrp_port": s.psrp_http_port,
                                          "psrp_https_port": s.psrp_https_port} for s in servers],
        }
        if org.kerberos:
            for entry, server in zip(out["unroute_exchange_servers"], servers):
                entry["fqdn"] = server.fqdn
            out.update({
                "unroute_exchange_transport": "kerberos",
                "unroute_exchange_username": "%s@%s" % (org.username, org.realm),
                # The lab connects to 127.0.0.1, which has no SPN: Kerberos asks for HTTP/<server fqdn>.
                "unroute_exchange_kerberos_hostname_override": servers[0].fqdn,
                # KRB5_CONFIG for the controller: where this lab's realms and KDC are.
                "unroute_exchange_krb5_config": str(self.kdc.krb5_conf),
            })
        return out

    # -- faults ----------------------------------------------------------------
    def fault_for(self, kind, server, action):
        # "skip": n lets n matching requests through first (e.g. fail a write's Receive, not the read's).
        with self.lock:
            for spec in self.faults:
                if (spec.get("kind") == kind and spec.get("server") in (None, server.name)
                        and spec.get("action") in (None, action) and spec.get("skip", 0) > 0):
                    spec["skip"] -= 1
                    return None
        return self.take_fault(kind, server=server.name, action=action)

    def cmdlet_fault(self, server_name, cmdlet):
        spec = self.take_fault("cmdlet_error", server=server_name, cmdlet=cmdlet)
        if spec:
            return spec.get("message") or "The operation couldn't be performed because object '{target}' " \
                                          "couldn't be found on 'dc01.lab.test'."
        if cmdlet == "Restart-Service":
            spec = self.take_fault("restart_error", server=server_name)
            if spec:
                return spec.get("message") or ("Service '{target}' cannot be started due to the following error: "
                                               "Cannot start service on computer '.'.")
        return None

    # -- WS-Man operations ---------------------------------------------------------
    def dispatch(self, req, server, user, address, sealed=False):
        if req.action is None:
            raise soap.Fault(2150858817, "w:ActionNotSupported",
                             "The WS-Management service cannot process a SOAP message with action %s. " % req.action_uri,
                             value="s:Sender")
        if self.fault_for("500", server, req.action):
            raise soap.internal_fault()
        if req.action == "Create":
            shell_id = str(uuid.uuid4()).upper()
            with self.lock:
                mine = [s for s in self.shells.values() if s["server"] == server.name and s["user"] == user]
                if len(mine) >= MAX_SHELLS_PER_USER:
                    raise soap.Fault(2150859173, "w:QuotaLimit",
                                     "The WS-Management service cannot process the request. This user is allowed a "
                                     "maximum number of %d concurrent shells, which has been exceeded. Close existing "
                                     "shells or raise the quota for this user. " % MAX_SHELLS_PER_USER)
                self.shells[shell_id] = {"server": server.name, "user": user, "commands": {},
                                         "codepage": req.options.get("WINRS_CODEPAGE"), "protected": sealed}
            return soap.create_response(req, address, shell_id)
        with self.lock:
            shell = self.shells.get(req.shell_id or "")
        if shell is None or shell["server"] != server.name:
            raise soap.shell_not_found(req.shell_id)
        if req.action == "Delete":
            with self.lock:
                self.shells.pop(req.shell_id, None)
            return soap.delete_response(req)
        if req.action == "Command":
            return self.command(req, shell)
        if req.action == "Send":
            return self.send(req, shell, server)
        if req.action == "Receive":
            return self.receive(req, shell, server)
        if req.action == "Signal":
            node = req.find("rsp:Signal")
            with self.lock:
                shell["commands"].pop(node.get("CommandId") if node is not None else "", None)
            return soap.signal_response(req)
        raise soap.internal_fault()

    def command(self, req, shell):
        node = req.find("rsp:CommandLine")
        if node is None:
            raise soap.bad_request("The Command request has no CommandLine. ")
        command = (node.findtext("rsp:Command", "", soap.NS) or "").strip()
        arguments = " ".join((a.text or "") for a in node.findall("rsp:Arguments", soap.NS))
        line, encoded = parse_command_line(command, arguments)
        command_id = str(uuid.uuid4()).upper()
        entry = {"line_length": len(line), "bootstrap": encoded, "stdin": bytearray(), "stdin_done": False,
                 "result": None}
        if len(line) > COMMAND_LINE_LIMIT:
            # cmd.exe refuses before anything starts, and says so on stderr.
            entry["result"] = (b"", b"The command line is too long.\r\n", 1)
        elif encoded is not None and not self.is_bootstrap(encoded):
            # Anything but the collection's bootstrap would run on a real host; the lab refuses to pretend.
            entry["result"] = (b"", clixml("unroute-lab: this lab runs only the collection's shipped PowerShell; "
                                           "the -EncodedCommand is not bootstrap.ps1"), 1)
        elif encoded is None:
            entry["result"] = (b"", ("'%s' is not recognized as an internal or external command, operable program "
                                     "or batch file. (unroute-lab runs only the collection's PowerShell)\r\n"
                                     % command).encode("utf-8"), 1)
        with self.lock:
            shell["commands"][command_id] = entry
        return soap.command_response(req, command_id)

    def is_bootstrap(self, text):
        return self.scripts.get(hashlib.sha256(text.encode("utf-8")).hexdigest()) == "bootstrap.ps1"

    def send(self, req, shell, server):
        node = req.find("rsp:Send/rsp:Stream")
        if node is None:
            raise soap.bad_request("The Send request has no Stream. ")
        with self.lock:
            entry = shell["commands"].get(node.get("CommandId"))
        if entry is None:
            raise soap.Fault(2150858843, "w:InvalidSelectors", "The command was not found in the shell. ",
                             value="s:Sender")
        entry["stdin"].extend(base64.b64decode(node.text or ""))
        if (node.get("End") or "").lower() == "true":
            entry["stdin_done"] = True
            if entry["result"] is None:
                # The process runs as soon as its stdin closes, whether or not anyone reads its output.
                self.execute(entry, shell, server)
        return soap.send_response(req)

    def execute(self, entry, shell, server):
        with self.lock:
            runner = Runner(server, self.scripts, self.cmdlet_fault)
            stdout, stderr, code, script = runner.run(entry["bootstrap"] or "", bytes(entry["stdin"]))
            # "protected": the exchange was NTLM-sealed (HTTP) or inside TLS (HTTPS), never plain text.
            self.history.append({"time": time.time(), "server": server.name, "user": shell["user"],
                                 "script": script, "exit_code": code, "stdin_bytes": len(entry["stdin"]),
                                 "protected": shell.get("protected", False)})
        entry["result"] = (stdout, stderr, code)

    def receive(self, req, shell, server):
        node = req.find("rsp:Receive/rsp:DesiredStream")
        command_id = node.get("CommandId") if node is not None else None
        with self.lock:
            entry = shell["commands"].get(command_id)
        if entry is None:
            raise soap.Fault(2150858843, "w:InvalidSelectors", "The command was not found in the shell. ",
                             value="s:Sender")
        if self.fault_for("operation_timeout", server, "Receive"):
            raise soap.timeout_fault()
        if entry["result"] is None:
            # A long poll: the process waits for the rest of stdin, and WinRM holds the Receive until there is
            # output or the OperationTimeout has passed, then answers with the timeout fault.
            deadline = time.monotonic() + min(soap.seconds(req.operation_timeout), MAX_LONG_POLL)
            while entry["result"] is None and time.monotonic() < deadline and not self.stopping.is_set():
                self.stopping.wait(0.05)
            if entry["result"] is None:
                raise soap.timeout_fault()
        stdout, stderr, code = entry["result"]
        return soap.receive_response(req, command_id, stdout, stderr, code)


def _mechanism(ctx):
    """'kerberos' or 'ntlm': what a pyspnego acceptor (NTLM, or SPNEGO around either) settled on, once known."""
    try:
        return (ctx.negotiated_protocol or "").lower() or None
    except Exception:  # noqa: BLE001 - a SPNEGO context has no mechanism before the first token
        return None


def _acceptor_target(ctx):
    """The service principal a Kerberos ticket was for (pyspnego keeps its GSSAPI context inside)."""
    inner = getattr(ctx, "_context", ctx)
    gss_ctx = getattr(inner, "_context", None)
    try:
        return str(gss_ctx.target_name) if gss_ctx is not None else None
    except Exception:  # noqa: BLE001 - no name to check, nothing to refuse
        return None


def _end_point_hash(cert_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    algorithm = cert.signature_hash_algorithm
    if algorithm is None or algorithm.name in ("md5", "sha1"):
        algorithm = hashes.SHA256()
    return cert.fingerprint(algorithm)


class WinRMHandler(LabHandler):
    """One TCP connection: NTLM authenticates the connection and seals each message on it."""

    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-HTTPAPI/2.0"
    sys_version = ""
    service = None
    org = None
    server_model = None
    tls = None
    # True: Exchange's /PowerShell/ virtual directory (IIS); False: the WinRM service's /wsman.
    psrp = False

    def setup(self):
        if self.tls is not None:
            self.request.settimeout(10)
            try:
                self.request = self.tls.wrap_socket(self.request, server_side=True)
            except (OSError, ValueError):
                # An untrusting client hangs up during the handshake; nothing to answer.
                self.request = None
                self.connection = None
                self.rfile = self.wfile = None
                return
            self.request.settimeout(None)
        super().setup()
        self.gss = None
        self.user = None

    def handle(self):
        self._quietly(super().handle)

    def finish(self):
        self._quietly(super().finish)

    def _quietly(self, step):
        # No request: the TLS handshake failed in setup(). A client that hangs up mid-answer is no error either.
        if self.request is None:
            return
        try:
            step()
        except (ConnectionError, OSError):
            pass

    # -- HTTP ------------------------------------------------------------------
    def _reply(self, code, body=b"", content_type="application/soap+xml;charset=UTF-8", headers=()):
        final, self.final_token = getattr(self, "final_token", None), None
        if final and code != 401:
            # SPNEGO's last leg (mechListMIC) rides on the first answer after the handshake; the client's
            # NTLM sequence numbers count it, so withholding it breaks every sealed message after.
            headers = [("WWW-Authenticate", "Negotiate %s" % base64.b64encode(final).decode())] + list(headers)
        self.send_bytes(code, body, content_type if body else None, headers)

    def _unauthorized(self):
        self.gss = None
        self.user = None
        headers = [("WWW-Authenticate", "Negotiate")]
        if self.tls is not None:
            headers.append(("WWW-Authenticate", 'Basic realm="WSMAN"'))
        self._reply(401, headers=headers)

    def do_POST(self):
        body = self.read_body()
        path = self.path.split("?")[0].lower()
        if path not in (("/powershell", "/powershell/") if self.psrp else ("/wsman",)):
            return self._reply(404)
        svc = self.service
        server = self.server_model
        if not self._authenticate():
            return
        if svc.fault_for("auth", server, None):
            return self._unauthorized()
        content_type = self.headers.get("Content-Type", "")
        encrypted = content_type.startswith("multipart/encrypted")
        if encrypted:
            if self.gss is None:
                return self._reply(400)
            try:
                body = self._unseal(body)
            except Exception:  # noqa: BLE001 - a message that does not unseal is refused like Windows does
                return self._reply(400)
        elif body and self.tls is None:
            # AllowUnencrypted=false, the Windows default: plain SOAP over HTTP is refused.
            return self._unauthorized()
        if not body:
            # The empty POST pywinrm sends to set up the security context.
            return self._reply(200)
        relates_to = ""
        try:
            req = soap.Request(body)
            relates_to = req.message_id
            if svc.fault_for("drop", server, req.action):
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return None
            hang = svc.fault_for("hang", server, req.action)
            if hang:
                svc.stopping.wait(float(hang.get("seconds", 60)))
            address = "http%s://127.0.0.1:%d/wsman" % ("s" if self.tls else "", self.server.server_address[1])
            protected = encrypted or self.tls is not None
            if self.psrp:
                address = address.replace("/wsman", "/PowerShell/")
                answer, status = svc.psrp.dispatch(req, server, self.user, address, sealed=protected), 200
            else:
                answer, status = svc.dispatch(req, server, self.user, address, sealed=protected), 200
        except soap.Fault as fault:
            answer, status = soap.fault_response(fault, relates_to, server.name.lower()), 500
        except Exception:  # noqa: BLE001 - a lab bug answers like a failing WinRM service, and is logged
            traceback.print_exc()
            answer, status = soap.fault_response(soap.internal_fault(), relates_to, server.name.lower()), 500
        if encrypted:
            return self._reply(status, self._seal(answer),
                               content_type='multipart/encrypted;protocol="%s";boundary="Encrypted Boundary"'
                               % ENCRYPTED)
        return self._reply(status, answer)

    # -- authentication ----------------------------------------------------------
    def _authenticate(self):
        header = self.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        scheme = scheme.lower()
        if scheme in ("negotiate", "ntlm") and token:
            return self._gss_step(token.strip())
        if scheme == "basic" and self.tls is not None:
            return self._basic(token.strip())
        if self.user is not None and self.gss is not None and not header:
            return True
        self._unauthorized()
        return False

    def _gss_step(self, token):
        import spnego
        org = self.org
        try:
            raw = base64.b64decode(token)
        except ValueError:
            self._unauthorized()
            return False
        raw_ntlm = raw.startswith(b"NTLMSSP\x00")
        if raw_ntlm and not org.ntlm:
            # NTLM switched off on the server: its type 1 message gets the bare challenge for Negotiate again.
            return self._refuse("ntlm refused")
        bindings = self._bindings()
        try:
            if (raw_ntlm and raw[8:12] == b"\x01\x00\x00\x00") or self.gss is None or self.gss.complete:
                if bindings is not None and KRB5_OID in raw[:128] and self._kerberos_without_bindings(raw):
                    return self._refuse("kerberos without channel binding")
                # IIS (the Exchange endpoint) speaks SPNEGO-wrapped Negotiate; WinRM takes raw NTLM too, and
                # raw Kerberos (what pywinrm's kerberos transport sends) where the organisation has a realm.
                protocol = "ntlm" if raw_ntlm or not (self.psrp or org.kerberos) else "negotiate"
                self.gss = spnego.server(protocol=protocol, channel_bindings=bindings)
                self.user = None
            out = self.gss.step(raw)
        except Exception as err:  # noqa: BLE001 - a wrong password or wrong channel binding fails here
            return self._refuse("%s: %s" % (type(err).__name__, " ".join(str(err).split())[:200]))
        mech = _mechanism(self.gss)
        if mech == "ntlm" and not org.ntlm:
            return self._refuse("ntlm in spnego refused")
        if not self.gss.complete:
            self._reply(401, headers=[("WWW-Authenticate", "Negotiate %s" % base64.b64encode(out).decode())])
            return False
        self.final_token = out
        user = self.gss.client_principal or ""
        if not self._allowed(user):
            return self._refuse("%s is not an account of %s" % (user, org.name))
        target = _acceptor_target(self.gss) if mech == "kerberos" else None
        if target and target.split("@")[0].lower() != "http/%s" % self.server_model.fqdn:
            # One keytab serves every lab server; a real server holds only its own keys.
            return self._refuse("ticket for %s, not for this server" % target)
        self.user = user
        with self.service.lock:
            self.service.authentications.append({
                "time": time.time(), "server": self.server_model.name, "user": user, "mechanism": mech,
                "endpoint": "powershell" if self.psrp else "wsman", "tls": self.tls is not None,
                "channel_binding": bindings is not None})
        return True

    def _refuse(self, why):
        with self.service.lock:
            self.service.authentications.append({"time": time.time(), "server": self.server_model.name,
                                                 "refused": why, "tls": self.tls is not None,
                                                 "endpoint": "powershell" if self.psrp else "wsman"})
        self._unauthorized()
        return False

    def _bindings(self):
        """The channel bindings an HTTPS listener demands under Extended Protection, else None."""
        if self.tls is None or self.org.extended_protection != "require":
            return None
        from spnego.channel_bindings import GssChannelBindings
        return GssChannelBindings(application_data=self.service.cbt_app_data)

    def _kerberos_without_bindings(self, raw):
        """True when a Kerberos AP-REQ carries no channel binding at all.

        MIT's acceptor, given bindings, still accepts an initiator that sent
        none (its checksum's bindings are all zero); Windows with Extended
        Protection set to Require does not. So the token is first presented
        with bindings no client can have: accepted means the client sent none.
        Needs the replay cache off (KRB5RCACHETYPE=none), the same AP-REQ is
        then accepted for real with the true bindings.
        """
        import spnego
        from spnego.channel_bindings import GssChannelBindings
        probe = spnego.server(protocol="negotiate",
                              channel_bindings=GssChannelBindings(application_data=b"unroute-lab:" + os.urandom(16)))
        try:
            probe.step(raw)
        except Exception:  # noqa: BLE001 - refused with foreign bindings: the client bound to something
            return False
        return bool(probe.complete) and _mechanism(probe) == "kerberos"

    def _basic(self, token):
        try:
            user, _, password = base64.b64decode(token).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            self._unauthorized()
            return False
        # WinRM's Basic authentication checks local accounts only: a domain account name is refused.
        # IIS Basic on Exchange's /PowerShell/ checks the directory, so domain names are fine there.
        if not self.psrp and ("\\" in user or "@" in user):
            self._unauthorized()
            return False
        if not (self._allowed(user) and secrets.compare_digest(password, self.org.password)):
            self._unauthorized()
            return False
        self.user = user
        return True

    def _allowed(self, user):
        """Accounts of this server's organisation only: DOMAIN\\user, user@domain or a bare user name."""
        org = self.org
        text = user.strip()
        if "\\" in text:
            dom, _, name = text.partition("\\")
            return dom.lower() == org.name.lower() and name.lower() == org.username.lower()
        if "@" in text:
            name, _, dom = text.partition("@")
            return name.lower() == org.username.lower() and dom.lower() in (org.name.lower(), org.domain)
        return text.lower() == org.username.lower()

    # -- message encryption ([MS-WSMV] 2.2.9.1.1) ------------------------------------
    def _unseal(self, body):
        parts = [p for p in body.split(BOUNDARY + b"\r\n") if p]
        out = b""
        for index in range(0, len(parts) - 1, 2):
            header, payload = parts[index], parts[index + 1]
            length = int(re.search(rb"Length=(\d+)", header).group(1))
            if payload.endswith(BOUNDARY + b"--\r\n"):
                payload = payload[:-len(BOUNDARY + b"--\r\n")]
            payload = payload.replace(b"\tContent-Type: application/octet-stream\r\n", b"", 1)
            sig_len = struct.unpack("<I", payload[:4])[0]
            plain = self.gss.unwrap_winrm(payload[4:4 + sig_len], payload[4 + sig_len:])
            if len(plain) != length:
                raise ValueError("length mismatch")
            out += plain
        return out

    def _seal(self, plain):
        wrapped = self.gss.wrap_winrm(plain)
        return (BOUNDARY + b"\r\n\tContent-Type: " + ENCRYPTED.encode() + b"\r\n"
                b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=" + str(len(plain)).encode()
                + b"\r\n" + BOUNDARY + b"\r\n\tContent-Type: application/octet-stream\r\n"
                + struct.pack("<I", len(wrapped.header)) + wrapped.header + wrapped.data + BOUNDARY + b"--\r\n")
