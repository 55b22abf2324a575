"""An in-memory Exchange organisation and the documented effect of each shipped script.

The lab never runs what it receives: it decodes the command line and stdin,
recognises the collection's shipped PowerShell by the SHA-256 of its exact
text (read from the collection's ``powershell/*.ps1`` files, never its
Python), and applies what that script does with Exchange cmdlets to this model.
Errors read as Exchange and PowerShell word them and leave as CLIXML on stderr.
Besides Exchange objects, each server keeps what the scripts touch on Windows:
the restart markers (registry values under MARKER_KEY) and the start time of
each transport Windows service's process.
"""

from __future__ import annotations

import base64
import copy
import datetime
import hashlib
import json
import os
import shlex
from pathlib import Path
from xml.sax.saxutils import escape

PS_DIR = Path(__file__).resolve().parents[3] / "collections/mxhero/unroute/plugins/module_utils/_exchange/powershell"
COMMAND_LINE_LIMIT = 8191

VERSIONS = {
    "2010": "Version 14.3 (Build 123.4)",
    "2013": "Version 15.0 (Build 1497.2)",
    "2016": "Version 15.1 (Build 2507.6)",
    "2019": "Version 15.2 (Build 1544.4)",
    "SE": "Version 15.2 (Build 2562.17)",
}
SNAPIN_2013 = "Microsoft.Exchange.Management.PowerShell.SnapIn"
SNAPIN_2010 = "Microsoft.Exchange.Management.PowerShell.E2010"
WINDOWS_SERVICE = {
    "Hub": "MSExchangeTransport",
    "Edge": "MSExchangeTransport",
    "FrontEnd": "MSExchangeFrontEndTransport",
    "MailboxSubmission": "MSExchangeSubmission",
    "MailboxDelivery": "MSExchangeDelivery",
}
SERVICE_DISPLAY = {
    "MSExchangeTransport": "Microsoft Exchange Transport",
    "MSExchangeFrontEndTransport": "Microsoft Exchange Frontend Transport",
    "MSExchangeSubmission": "Microsoft Exchange Mailbox Transport Submission",
    "MSExchangeDelivery": "Microsoft Exchange Mailbox Transport Delivery",
}
# More send connector settings, as the Exchange property renders them (what Get-SendConnector returns over /PowerShell/).
SEND_CONNECTOR_DEFAULTS = {
    "require_tls": False,
    "tls_auth_level": "",
    "tls_domain": "",
    "tls_certificate_name": "",
    "max_message_size": "35 MB (36,700,160 bytes)",
    "smart_host_auth_mechanism": "None",
    "protocol_logging_level": "None",
    "frontend_proxy_enabled": False,
    "use_external_dns_servers_enabled": False,
    "ignore_starttls": False,
    "domain_secure_enabled": False,
    "connection_inactivity_timeout": "00:10:00",
    "comment": "",
}
# Where set_transport_agents.ps1 notes a restart it owes, one value per Windows service (UTC, round-trip format).
MARKER_KEY = "HKLM:\\SOFTWARE\\mxhero-unroute"
# What a fresh Exchange 2013+ Mailbox server lists (a subset; enough to prove they survive).
BUILTIN_AGENTS = {
    "Hub": [("Transport Rule Agent", 1), ("DLP Policy Agent", 2), ("Retention Policy Agent", 3),
            ("Supervisory Review Agent", 4), ("Malware Agent", 5)],
    "FrontEnd": [("Protocol Analysis Agent", 1)],
    "MailboxSubmission": [],
    "MailboxDelivery": [("Inference Classification Agent", 1)],
    "Edge": [("Connection Filtering Agent", 1), ("Address Rewriting Inbound Agent", 2),
             ("Edge Rule Agent", 3), ("Content Filter Agent", 4), ("Sender Id Agent", 5)],
}


def utc_now():
    """[DateTime]::UtcNow.ToString('o'): seven fraction digits and a Z."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def parse_utc(text):
    """[DateTime]::Parse(text, InvariantCulture, RoundtripKind) for the 'o' format (None if it is not one)."""
    try:
        head, _, frac = str(text).rstrip("Z").partition(".")
        value = datetime.datetime.strptime(head, "%Y-%m-%dT%H:%M:%S")
        return value + datetime.timedelta(microseconds=int((frac or "0")[:6].ljust(6, "0")))
    except ValueError:
        return None


class PSError(Exception):
    """A terminating PowerShell error; its text is what Exchange or PowerShell says."""


def clixml(message):
    """stderr of powershell.exe for one error record (what pywinrm and Ansible receive)."""
    def enc(text):
        out = []
        for ch in text:
            if ch in "\r\n\t" or ord(ch) < 32:
                out.append("_x%04X_" % ord(ch))
            else:
                out.append(ch)
        return escape("".join(out))
    lines = ["%s\r\n" % message, "    + CategoryInfo          : NotSpecified: (:) [], RuntimeException\r\n",
             "    + FullyQualifiedErrorId : RuntimeException\r\n", " \r\n"]
    body = "".join('<S S="Error">%s</S>' % enc(line) for line in lines)
    return ('#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">%s</Objs>'
            % body).encode("utf-8")


def shipped_scripts(directory=None):
    """{sha256 of exact text: file name} for the collection's shipped scripts."""
    directory = Path(directory or os.environ.get("UNROUTE_LAB_PS_DIR") or PS_DIR)
    return {hashlib.sha256(path.read_bytes()).hexdigest(): path.name for path in sorted(directory.glob("*.ps1"))}


def parse_command_line(command, arguments):
    """(full command line, decoded -EncodedCommand text or None)."""
    line = command + ((" " + arguments) if arguments else "")
    try:
        tokens = shlex.split(line, posix=False)
    except ValueError:
        tokens = line.split()
    exe = os.path.basename(tokens[0].strip('"').replace("\\", "/")).lower() if tokens else ""
    if exe not in ("powershell", "powershell.exe"):
        return line, None
    for index, token in enumerate(tokens[1:-1], start=1):
        if token.lower() in ("-encodedcommand", "-enc", "-e", "-ec"):
            try:
                return line, base64.b64decode(tokens[index + 1]).decode("utf-16-le")
            except (ValueError, UnicodeDecodeError):
                return line, ""
    return line, None


class Organization(object):
    """One Exchange organisation of the estate (one customer domain)."""

    def __init__(self, domain, section):
        self.domain = domain
        self.name = str(section.get("organization") or domain.split(".")[0].replace("-", "").upper())[:15]
        self.username = str(section.get("username") or "exadmin")
        self.password = section.get("password")
        self.servers = {}
        for raw in section.get("servers") or [{"name": "EX01"}]:
            server = Server(self, raw)
            self.servers[server.name.upper()] = server
        self.send_connectors = []
        for raw in section.get("send_connectors") or []:
            smart_hosts = [str(h) for h in raw.get("smart_hosts") or []]
            self.send_connectors.append({
                "name": str(raw["name"]),
                "enabled": bool(raw.get("enabled", True)),
                "address_spaces": [str(a) for a in raw.get("address_spaces") or ["SMTP:*;1"]],
                "smart_hosts": smart_hosts,
                "dns_routing_enabled": not smart_hosts,
                "source_transport_servers": [str(s) for s in raw.get("source_transport_servers")
                                             or [next(iter(self.servers.values())).name]],
                "fqdn": raw.get("fqdn") or "",
                "port": int(raw.get("port", 25)),
            })
            for key, default in SEND_CONNECTOR_DEFAULTS.items():
                value = raw.get(key, default)
                self.send_connectors[-1][key] = value if isinstance(default, bool) else str(value)

    def state(self):
        return {"organization": self.name, "username": "%s\\%s" % (self.name, self.username),
                "servers": {s.name: s.state() for s in self.servers.values()},
                "send_connectors": copy.deepcopy(self.send_connectors)}


class Server(object):
    def __init__(self, org, raw):
        self.org = org
        self.name = str(raw["name"]).upper()
        self.version = str(raw.get("version", "2019"))
        if self.version not in VERSIONS:
            raise ValueError("exchange server %s: version must be one of %s" % (self.name, ", ".join(VERSIONS)))
        self.role = str(raw.get("role", "mailbox")).lower()
        if self.role == "edge":
            self.services = ["Edge"]
        elif self.version == "2010":
            self.services = ["Hub"]
        else:
            self.services = ["Hub", "FrontEnd", "MailboxSubmission", "MailboxDelivery"]
        self.agents = {service: [] for service in self.services}
        if raw.get("builtin_agents", True):
            for service in self.services:
                for name, priority in BUILTIN_AGENTS.get(service, []):
                    self.agents[service].append({"identity": name, "enabled": True, "priority": priority,
                                                 "factory": "Microsoft.Exchange.Agents.%s.Factory"
                                                 % name.replace(" ", ""),
                                                 "assembly_path": "C:\\Program Files\\Microsoft\\Exchange Server\\"
                                                 "V15\\TransportRoles\\agents\\%s.dll" % name.replace(" ", "")})
        for service, agents in (raw.get("agents") or {}).items():
            if service not in self.agents:
                raise ValueError("exchange server %s: no transport service %s (it has %s)"
                                 % (self.name, service, ", ".join(self.services)))
            for agent in agents:
                existing = self.agents[service]
                self.agents[service].append({
                    "identity": str(agent["name"]),
                    "enabled": bool(agent.get("enabled", True)),
                    "priority": int(agent.get("priority", len(existing) + 1)),
                    "factory": str(agent.get("factory", "Vendor.TransportAgentFactory")),
                    "assembly_path": str(agent.get("assembly_path", "C:\\Program Files\\Vendor\\Agent.dll")),
                })
        # What each running Windows service loaded at its last start; config changes wait for a restart.
        self.loaded = copy.deepcopy(self.agents)
        self.restarts = {}
        # When each Windows service's process last started (Get-Process StartTime): the lab's start.
        now = utc_now()
        self.started = {WINDOWS_SERVICE[s]: now for s in self.services}
        # The registry values under MARKER_KEY; an estate may seed some (left by an earlier run).
        self.markers = {str(k): str(v) for k, v in (raw.get("restart_markers") or {}).items()}
        self.receive_connectors = []
        for raw_rc in raw.get("receive_connectors") or [{"name": "Default Frontend %s" % self.name,
                                                         "bindings": ["0.0.0.0:25", "[::]:25"],
                                                         "remote_ip_ranges": ["::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                                                                              "0.0.0.0-255.255.255.255"]}]:
            self.receive_connectors.append({
                "name": str(raw_rc["name"]),
                "identity": "%s\\%s" % (self.name, raw_rc["name"]),
                "enabled": bool(raw_rc.get("enabled", True)),
                "bindings": [str(b) for b in raw_rc.get("bindings") or ["0.0.0.0:25"]],
                "remote_ip_ranges": [str(r) for r in raw_rc.get("remote_ip_ranges") or ["0.0.0.0-255.255.255.255"]],
            })

    @property
    def per_service(self):
        return self.version != "2010"

    @property
    def snapin(self):
        return SNAPIN_2010 if self.version == "2010" else SNAPIN_2013

    def pending_restart(self):
        pending = []
        for service in self.services:
            if self.agents[service] != self.loaded[service]:
                name = WINDOWS_SERVICE[service]
                if name not in pending:
                    pending.append(name)
        return pending

    def state(self):
        return {"name": self.name, "version": self.version, "role": self.role, "transport_services": self.services,
                "agents": copy.deepcopy(self.agents), "pending_restart": self.pending_restart(),
                "restarts": dict(self.restarts), "restart_markers": dict(self.markers), "receive_connectors": copy.deepcopy(self.receive_connectors)}


class Runner(object):
    """Applies one shipped script to a server; ``faults`` answers 'should this cmdlet fail?'."""

    def __init__(self, server, scripts, cmdlet_fault):
        self.server = server
        self.org = server.org
        self.scripts = scripts
        self.cmdlet_fault = cmdlet_fault

    # -- entry -----------------------------------------------------------------
    def run(self, bootstrap_text, stdin):
        """(stdout, stderr, exit code, script name) for the bootstrap fed ``stdin``."""
        name = self.scripts.get(hashlib.sha256(bootstrap_text.encode("utf-8")).hexdigest())
        if name != "bootstrap.ps1":
            return (b"", clixml("unroute-lab: this lab runs only the collection's shipped PowerShell; "
                                "the -EncodedCommand is not bootstrap.ps1"), 1, None)
        try:
            raw = base64.b64decode(stdin.strip(), validate=True)
            doc = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as err:
            return b"", clixml('Exception calling "FromBase64String" with "1" argument(s): "%s"' % err), 1, None
        script = None
        try:
            snapin = self.load_snapin(doc.get("snapin"))
            script = self.scripts.get(hashlib.sha256(str(doc.get("script") or "").encode("utf-8")).hexdigest())
            if script is None or script == "bootstrap.ps1":
                raise PSError("unroute-lab: the script on stdin is not one the collection ships (its SHA-256 "
                              "matches no powershell/*.ps1 file); the lab never runs anything else")
            handler = getattr(self, "script_" + script[:-4])
            result = handler(doc.get("input") or {})
        except PSError as err:
            return b"", clixml(str(err)), 1, script
        out = {"server": self.server.name, "snapin": snapin, "result": result}
        return json.dumps(out, ensure_ascii=False).encode("utf-8"), b"", 0, script

    def load_snapin(self, wanted):
        names = [SNAPIN_2013, SNAPIN_2010] if not wanted or wanted == "auto" else [str(wanted)]
        if self.server.snapin in names:
            return self.server.snapin
        raise PSError("no Exchange management snap-in (%s) is registered on %s" % (", ".join(names), self.server.name))

    def cmdlet(self, name, target=None):
        message = self.cmdlet_fault(self.server.name, name)
        if message:
            raise PSError(message.replace("{target}", str(target or "")))

    # -- get_state.ps1 -----------------------------------------------------------
    def services_for(self, wanted):
        services = list(self.server.services)
        wanted = [w for w in (wanted or []) if w]
        if wanted:
            services = [s for s in services if s in wanted]
        return services

    def script_get_state(self, data):
        """Agents per transport service (Get-TransportAgent) and owed restarts; services from Get-Service."""
        server = self.server
        self.cmdlet("Get-Service")
        services = self.services_for(data.get("transport_services"))
        agents = []
        if data.get("agents"):
            for service in services:
                self.cmdlet("Get-TransportAgent")
                for agent in server.agents[service]:
                    agents.append(dict(agent, transport_service=service))
        return {"server": server.name, "per_service": server.per_service, "transport_services": services,
                "agents": agents, "restart_markers": self.restart_markers() if data.get("agents") else []}

    def restart_markers(self):
        """Marker values under MARKER_KEY, each 'done' when its service's process started after it."""
        out = []
        for name in ("MSExchangeTransport", "MSExchangeFrontEndTransport", "MSExchangeSubmission", "MSExchangeDelivery"):
            value = self.server.markers.get(name)
            if value is None:
                continue
            since = parse_utc(value)
            if since is None:
                raise PSError('Exception calling "Parse" with "3" argument(s): "String was not recognized as a '
                              'valid DateTime."')
            started = self.server.started.get(name)
            out.append({"service": name, "since": value, "done": bool(started and parse_utc(started) > since)})
        return out

    # -- set_transport_agents.ps1 ------------------------------------------------
    def script_set_transport_agents(self, data):
        server = self.server
        results, touched, restarted, failure, marked = [], [], [], None, []
        for op in data.get("operations") or []:
            identity = str(op.get("identity") or "")
            service = str(op.get("transport_service") or "")
            # Without -TransportService (Exchange 2010) the cmdlets see the server's one agent list.
            scope = service if server.per_service else server.services[0]
            try:
                if scope not in server.agents:
                    raise PSError("Cannot bind parameter 'TransportService'. Cannot convert value \"%s\" to type "
                                  "\"Microsoft.Exchange.Data.TransportService\"." % service)
                self.cmdlet("Get-TransportAgent", identity)
                agent = next((a for a in server.agents[scope] if a["identity"].lower() == identity.lower()), None)
                if agent is None:
                    results.append({"identity": identity, "transport_service": service, "found": False,
                                    "changed": False})
                    continue
                before = {"enabled": agent["enabled"], "priority": agent["priority"]}
                changed = False
                restart_name = WINDOWS_SERVICE[service if server.per_service else scope]
                if (agent["enabled"] or op.get("action") == "uninstall") and restart_name not in marked:
                    server.markers[restart_name] = utc_now()
                    marked.append(restart_name)
                if agent["enabled"]:
                    self.cmdlet("Disable-TransportAgent", identity)
                    agent["enabled"] = False
                    changed = True
                if op.get("action") == "uninstall":
                    self.cmdlet("Uninstall-TransportAgent", identity)
                    server.agents[scope].remove(agent)
                    changed = True
                results.append({"identity": identity, "transport_service": service, "found": True,
                                "changed": changed, "before": before})
                if changed and service not in touched:
                    touched.append(service)
            except PSError as err:
                failure = {"object": identity, "transport_service": service, "message": str(err)}
                break
        known = set(WINDOWS_SERVICE.values())
        for name in data.get("clear") or []:
            if name in known:
                server.markers.pop(name, None)
        if data.get("restart"):
            names = []
            for service in touched:
                name = WINDOWS_SERVICE.get(service)
                if name and name not in names:
                    names.append(name)
            for name in data.get("owed") or []:
                if name in known and name not in names:
                    names.append(name)
            for name in names:
                try:
                    self.cmdlet("Restart-Service", "%s (%s)" % (SERVICE_DISPLAY.get(name, name), name))
                except PSError as err:
                    failure = failure or {"object": name, "transport_service": None, "message": str(err)}
                    continue
                self.restart(name)
                restarted.append(name)
                server.markers.pop(name, None)
        return {"results": results, "touched_services": touched, "restarted": restarted, "failure": failure}

    def restart(self, windows_name):
        server = self.server
        server.restarts[windows_name] = server.restarts.get(windows_name, 0) + 1
        server.started[windows_name] = utc_now()
        for service in server.services:
            if WINDOWS_SERVICE[service] == windows_name:
                server.loaded[service] = copy.deepcopy(server.agents[service])
