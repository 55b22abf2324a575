# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Exchange Server on-premises: read one server's state, match mxHero, plan, apply.

Transport agents live per server and per transport service; send connectors
are organisation-wide (any server sees them all); receive connectors are per
server. Transport agents go through the shipped scripts over WinRM (the one
supported use of the local snap-in); connectors and the server's own data go
through Exchange's remote PowerShell (``shell``, cmdlets with typed
parameters), and every decision about them is made here. Each write reads its
object again right before changing it.
"""

from __future__ import annotations

import fnmatch
import ipaddress

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError, scrub
from ansible_collections.mxhero.unroute.plugins.module_utils._exchange import objects
from ansible_collections.mxhero.unroute.plugins.module_utils._exchange.client import ExchangeError
from ansible_collections.mxhero.unroute.plugins.module_utils._exchange.commands import (
    CONNECTOR_SETTINGS, WINDOWS_SERVICE, quote, quote_list, recreate_connector, reinstall_agent)
from ansible_collections.mxhero.unroute.plugins.module_utils._findings import GONE, finding, planned
from ansible_collections.mxhero.unroute.plugins.module_utils._fingerprint import normalize_host

PLATFORM = "exchange"
TRANSPORT_SERVICES = ("Hub", "FrontEnd", "MailboxSubmission", "MailboxDelivery", "Edge")
# A receive connector range wider than this is too broad to point at mxHero (0.0.0.0/0 holds everyone).
WIDEST_REPORTED_PREFIX = 16


def as_list(value):
    """ConvertTo-Json turns a one-element array into a scalar and an empty one into null."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


class Engine(object):
    def __init__(self, client, fingerprint, domain=None, check_mode=False, secrets=(), warn=None, shell=None):
        self.client = client
        self.shell = shell
        self.fp = fingerprint
        self.domain = domain or (client or shell).host
        self.check_mode = check_mode
        self.secrets = [s for s in secrets if s]
        self.server = (client or shell).where
        # The runner's warn callback; without one (unit tests) warnings are kept and returned.
        self.warnings = []
        self.warn = warn or self.warnings.append

    # -- errors ----------------------------------------------------------------
    def fail(self, err, obj=None, partial=None):
        where = "server %s" % self.server
        if obj or getattr(err, "obj", None):
            where += " %s" % (obj or err.obj)
        cause = scrub(getattr(err, "cause", str(err)), self.secrets)
        fix = scrub(getattr(err, "fix", None) or "", self.secrets) or None
        done = list(partial or []) + list(getattr(err, "partial", []) or [])
        if done:
            cause += " (already done: %s)" % "; ".join(done)
        return UnrouteError(self.domain, where, cause, fix, partial=done)

    # -- reading ---------------------------------------------------------------
    def read(self, services=None):
        """This server's transport agents and owed restarts, over WinRM (get_state.ps1)."""
        data = {"agents": True, "transport_services": list(services or [])}
        try:
            out = self.client.run("get_state.ps1", data)
        except ExchangeError as err:
            raise self.fail(err)
        state = dict(out.get("result") or {})
        self.server = state.get("server") or out.get("server") or self.server
        state["snapin"] = out.get("snapin")
        for key in ("agents", "transport_services", "restart_markers"):
            state[key] = as_list(state.get(key))
        return state

    def invoke(self, cmdlet, parameters=(), write=False):
        try:
            return self.shell.invoke(cmdlet, parameters, write=write)
        except ExchangeError as err:
            raise self.fail(err)

    def records(self, parse, cmdlet, parameters=()):
        """The records ``parse`` makes of what ``cmdlet`` returns; a property it cannot read stops the run."""
        rows = self.invoke(cmdlet, parameters)
        try:
            return [parse(o) for o in rows]
        except ExchangeError as err:
            raise self.fail(err)

    def read_server(self, name=None):
        """This server (``name``, else the host as given) from Get-ExchangeServer: its name and version."""
        servers = self.records(objects.exchange_server, "Get-ExchangeServer")
        found = objects.pick_server(servers, name or self.shell.host)
        if found:
            self.server = found["name"]
        return found or {"name": self.server, "fqdn": "", "version": ""}

    def read_send_connectors(self):
        return self.records(objects.send_connector, "Get-SendConnector")

    def read_receive_connectors(self, server):
        return self.records(objects.receive_connector, "Get-ReceiveConnector", [("Server", server)])

    # -- transport agents -----------------------------------------------------
    def agent_evidence(self, agent, name=None):
        identity = agent.get("identity") or ""
        if name:
            if any(ch in name for ch in "*?["):
                if fnmatch.fnmatchcase(identity.lower(), name.lower()):
                    return ["name matches pattern %s (given by the user)" % name]
                return []
            if identity.lower() == name.lower():
                return ["name equals %s (given by the user)" % name]
            return []
        evidence = self.fp.name(identity)
        return [evidence] if evidence else []

    def agent_key(self, agent):
        return "%s/%s/%s" % (self.server, agent.get("transport_service"), agent.get("identity"))

    def agent_object(self, agent):
        return "%s %s transport agent %s" % (self.server, agent.get("transport_service"), agent.get("identity"))

    def agent_finding(self, agent, evidence, action, after, why=None, manual_steps=None):
        before = {"enabled": agent.get("enabled"), "priority": agent.get("priority")}
        return finding(PLATFORM, "transport_agent", self.agent_object(agent), evidence, action,
                       before=before, after=after, why=why, manual_steps=manual_steps)

    def transport_agents(self, state_wanted, name=None, services=None, restart=True):
        state = self.read(services=services)
        findings, ops, removed = [], [], []
        before, after = {}, {}
        for agent in state["agents"]:
            evidence = self.agent_evidence(agent, name)
            if not evidence:
                continue
            key = self.agent_key(agent)
            before[key] = {"enabled": agent.get("enabled"), "priority": agent.get("priority")}
            if state_wanted == "absent":
                ops.append({"identity": agent["identity"], "transport_service": agent["transport_service"],
                            "action": "uninstall"})
                removed.append(self.removed_agent(agent, state.get("per_service", True)))
                findings.append(self.agent_finding(agent, evidence, planned("removed", self.check_mode), None))
            elif agent.get("enabled"):
                ops.append({"identity": agent["identity"], "transport_service": agent["transport_service"],
                            "action": "disable"})
                after[key] = {"enabled": False, "priority": agent.get("priority")}
                findings.append(self.agent_finding(agent, evidence, planned("disabled", self.check_mode),
                                                   after[key]))
            else:
                after[key] = dict(before[key])
                findings.append(self.agent_finding(agent, evidence, "kept", after[key], why="already disabled"))
        services_touched = []
        for op in ops:
            if op["transport_service"] not in services_touched:
                services_touched.append(op["transport_service"])
        windows = []
        for service in services_touched:
            if WINDOWS_SERVICE.get(service) not in windows:
                windows.append(WINDOWS_SERVICE.get(service))
        # Restarts an earlier run owed (its restart failed or was skipped): the agent change
        # is configured but not loaded, and nothing else would ever say so.
        markers = [m for m in state["restart_markers"] if isinstance(m, dict) and m.get("service")]
        in_scope = set(WINDOWS_SERVICE.get(s) for s in state["transport_services"])
        for marker in markers:
            if not marker.get("done") and marker["service"] not in in_scope:
                self.warn("%s: an earlier run changed transport agents on %s but %s never restarted; it is "
                          "outside transport_service, so run the task for its service or Restart-Service %s"
                          % (self.domain, self.server, marker["service"], marker["service"]))
        markers = [m for m in markers if m["service"] in in_scope]
        owed = [m["service"] for m in markers if not m.get("done")]
        stale = [m["service"] for m in markers if m.get("done")]
        if owed:
            since = ", ".join("%s (agents changed %s)" % (m["service"], m.get("since")) for m in markers
                              if not m.get("done"))
            if not restart:
                then = "run %s" % "; ".join("Restart-Service %s" % w for w in owed)
            else:
                then = "would restart it now" if self.check_mode else "restarting it now"
            self.warn("%s: an earlier run changed transport agents on %s but the restart never happened: "
                      "%s; %s" % (self.domain, self.server, since, then))
        for name in owed:
            if name not in windows:
                windows.append(name)
        restarted = []
        changed = bool(ops) or bool(owed and restart)
        if (ops or (owed and restart)) and not self.check_mode:
            changed, restarted = self.apply_agents(ops, restart, owed, stale)
        if ops and not restart:
            self.warn("%s: the agent changes take effect only after a restart: %s on %s"
                      % (self.domain, "; ".join("Restart-Service %s" % w for w in windows), self.server))
        return dict(changed=changed, findings=findings, removed=removed, before=before, after=after,
                    server=self.server, transport_services=state["transport_services"],
                    restart_needed=windows, restarted=restarted, restart_pending=owed, warnings=list(self.warnings))

    def removed_agent(self, agent, per_service):
        record = {"server": self.server, "transport_service": agent.get("transport_service"),
                  "identity": agent.get("identity"), "enabled": agent.get("enabled"),
                  "priority": agent.get("priority"), "factory": agent.get("factory") or None,
                  "assembly_path": agent.get("assembly_path") or None}
        if record["factory"] and record["assembly_path"]:
            record["reinstall"] = reinstall_agent(record, per_service)
        return record

    def apply_agents(self, ops, restart, owed=(), stale=()):
        try:
            out = self.client.run("set_transport_agents.ps1", {"operations": ops, "restart": bool(restart),
                                                               "owed": list(owed), "clear": list(stale)},
                                  write=True)
        except ExchangeError as err:
            raise self.fail(err)
        result = out.get("result") or {}
        results = as_list(result.get("results"))
        done = ["%s %s %s" % ({"disable": "disabled", "uninstall": "uninstalled"}[op["action"]],
                              op["transport_service"], op["identity"])
                for op, res in zip(ops, results) if res.get("changed")]
        restarted = as_list(result.get("restarted"))
        done += ["restarted %s" % name for name in restarted]
        failure = result.get("failure")
        if failure:
            obj = failure.get("object")
            service = failure.get("transport_service")
            label = ("%s transport agent %s" % (service, obj)) if service else ("service %s" % obj)
            fix = "fix the cause and run the task again; it only does what is left"
            if not service:
                fix = ("the agent change is made but takes effect only after %s restarts; fix the cause and run the "
                       "task again (it remembers the restart) or run Restart-Service %s" % (obj, obj))
            raise self.fail(ExchangeError(failure.get("message") or "unknown error", fix), obj=label, partial=done)
        return any(res.get("changed") for res in results) or bool(restarted), restarted

    # -- send connectors --------------------------------------------------------
    def host_evidence(self, value):
        name = normalize_host(value)
        return self.fp.host(name) or self.fp.ip(name)

    def classify_connector(self, connector):
        """(mxHero smart-host evidence, other smart hosts, name evidence) of one send connector."""
        matched, others = [], []
        for smart_host in connector.get("smart_hosts") or []:
            evidence = self.host_evidence(smart_host)
            if evidence:
                # "host smtp.mxhero.com" -> "smart host smtp.mxhero.com"; "ip 1.2.3.4" -> "smart host ip 1.2.3.4"
                matched.append("smart host %s" % (evidence[5:] if evidence.startswith("host ") else evidence))
            else:
                others.append(smart_host)
        name_evidence = self.fp.name(connector.get("name"))
        return matched, others, name_evidence

    @staticmethod
    def connector_before(connector):
        keys = ("enabled", "address_spaces", "smart_hosts", "dns_routing_enabled", "source_transport_servers")
        return {k: connector.get(k) for k in keys}

    @staticmethod
    def connector_object(connector):
        return "send connector %s" % connector.get("name")

    def send_connectors(self, state_wanted, name=None, include_mixed=False, allow_no_outbound=False):
        self.read_server()
        state = {"send_connectors": self.read_send_connectors()}
        findings, ops, removed = [], [], []
        before, after = {}, {}
        for connector in state["send_connectors"]:
            if name and str(connector.get("name", "")).lower() != name.lower():
                continue
            matched, others, name_evidence = self.classify_connector(connector)
            key = connector.get("name")
            obj = self.connector_object(connector)
            snapshot = self.connector_before(connector)
            if not matched:
                if name_evidence:
                    findings.append(finding(PLATFORM, "send_connector", obj, [name_evidence], "reported",
                                            before=snapshot, after=snapshot,
                                            why="its name suggests mxHero but no smart host is an mxHero host"))
                continue
            evidence = matched + ([name_evidence] if name_evidence else [])
            before[key] = snapshot
            if others and not include_mixed:
                after[key] = snapshot
                keep = ", ".join(others)
                findings.append(finding(
                    PLATFORM, "send_connector", obj, evidence, "reported", before=snapshot, after=snapshot,
                    why="it also routes through non-mxHero smart hosts (%s)" % keep,
                    manual_steps="In the Exchange Management Shell: Set-SendConnector -Identity %s -SmartHosts %s "
                                 "(keeps the other hosts), or rerun with include_mixed=true to %s the whole "
                                 "connector" % (quote(connector.get("identity") or key), quote_list(others),
                                                "remove" if state_wanted == "absent" else "disable")))
                continue
            op = {"identity": connector.get("identity") or key, "smart_hosts": connector.get("smart_hosts"),
                  "action": "remove" if state_wanted == "absent" else "disable"}
            if state_wanted == "absent":
                ops.append(op)
                removed.append(self.removed_connector(connector))
                findings.append(finding(PLATFORM, "send_connector", obj, evidence,
                                        planned("removed", self.check_mode), before=snapshot, after=None))
                op.update(finding=findings[-1], removed=removed[-1])
            elif connector.get("enabled"):
                ops.append(op)
                after[key] = dict(snapshot, enabled=False)
                findings.append(finding(PLATFORM, "send_connector", obj, evidence,
                                        planned("disabled", self.check_mode), before=snapshot, after=after[key]))
                op.update(finding=findings[-1])
            else:
                after[key] = snapshot
                findings.append(finding(PLATFORM, "send_connector", obj, evidence, "kept", before=snapshot,
                                        after=snapshot, why="already disabled"))
        uncovered = self.uncovered_address_spaces(state["send_connectors"], ops)
        if uncovered:
            text = ("no enabled send connector would be left for %s, so mail to those destinations would queue"
                    % ", ".join(uncovered))
            if not allow_no_outbound:
                raise UnrouteError(self.domain, "server %s send connectors" % self.server, text,
                                   "create a send connector for those address spaces first (DNS routing or "
                                   "your new smart host), or set allow_no_outbound=true")
            self.warn("%s: %s" % (self.domain, text))
        changed = bool(ops)
        if ops and not self.check_mode:
            changed = self.apply_connectors(ops)
            for op in ops:
                if op.get("left"):
                    # Someone else changed it between our read and our write: this run did nothing to it, so
                    # its record must not claim the change (a restore of this run would undo theirs).
                    op["finding"].update(action="kept", why=op["left"])
                    if op["left"] == GONE:
                        op["finding"]["after"] = None
                    if op.get("removed") in removed:
                        removed.remove(op["removed"])
                    self.warn("%s: %s: %s" % (self.domain, op["finding"]["object"], op["left"]))
        return dict(changed=changed, findings=findings, removed=removed, before=before, after=after,
                    server=self.server, warnings=list(self.warnings))

    @staticmethod
    def uncovered_address_spaces(connectors, ops):
        """SMTP address spaces that only the connectors being changed serve among enabled connectors."""
        touched = set(op["identity"] for op in ops)
        remaining = []
        for connector in connectors:
            if connector.get("enabled") and (connector.get("identity") or connector.get("name")) not in touched:
                remaining.extend(_address(a) for a in connector.get("address_spaces") or [])
        uncovered = []
        for connector in connectors:
            if (connector.get("identity") or connector.get("name")) not in touched or not connector.get("enabled"):
                continue
            for space in connector.get("address_spaces") or []:
                address = _address(space)
                if address and address not in remaining and "*" not in remaining and address not in uncovered:
                    uncovered.append(address)
        return uncovered

    def removed_connector(self, connector):
        record = dict(self.connector_before(connector), name=connector.get("name"),
                      identity=connector.get("identity"), fqdn=connector.get("fqdn") or None,
                      port=connector.get("port"), max_message_size=connector.get("max_message_size"))
        for key, _parameter, _default in CONNECTOR_SETTINGS:
            record[key] = connector.get(key)
        record["recreate"] = recreate_connector(record)
        return record

    def apply_connectors(self, ops):
        """Each connector is read again right before it changes and left alone if its smart hosts moved.

        The first failure stops the run and names what was already done.
        """
        done, changed = [], False
        for op in ops:
            identity = op["identity"]
            obj = "send connector %s" % identity
            fix = "check the connector and run the task again; it only does what is left"
            try:
                current = [objects.send_connector(o)
                           for o in self.shell.invoke("Get-SendConnector", [("Identity", identity)])]
            except ExchangeError as err:
                if getattr(err, "not_found", False):
                    op["left"] = GONE
                    continue
                raise self.fail(err, obj=obj, partial=done)
            if not current:
                op["left"] = GONE
                continue
            hosts = current[0]["smart_hosts"]
            if hosts != list(op["smart_hosts"] or []):
                raise self.fail(ExchangeError("its smart hosts changed since it was read (now: %s)"
                                              % ", ".join(hosts), fix), obj=obj, partial=done)
            try:
                if op["action"] == "remove":
                    self.shell.invoke("Remove-SendConnector", [("Identity", identity), ("Confirm", False)],
                                      write=True)
                    done.append("removed send connector %s" % identity)
                elif current[0]["enabled"]:
                    self.shell.invoke("Set-SendConnector", [("Identity", identity), ("Enabled", False)], write=True)
                    done.append("disabled send connector %s" % identity)
                else:
                    op["left"] = "already disabled (changed by someone else)"
                    continue
            except ExchangeError as err:
                if getattr(err, "not_found", False):
                    # Vanished between the re-read and the write: not a permissions problem.
                    op["left"] = GONE
                    continue
                raise self.fail(ExchangeError(getattr(err, "cause", str(err)), err.fix or fix), obj=obj,
                                partial=done)
            changed = True
        return changed

    # -- receive connectors (report only) --------------------------------------
    def range_evidence(self, value):
        """Evidence that a RemoteIPRanges entry (address, CIDR or a-b range) holds an mxHero address."""
        text = str(value).strip()
        networks = []
        if "-" in text:
            first, last = text.split("-", 1)
            try:
                networks = list(ipaddress.summarize_address_range(ipaddress.ip_address(first.strip()),
                                                                  ipaddress.ip_address(last.strip())))
            except (ValueError, TypeError):
                return None
        else:
            try:
                networks = [ipaddress.ip_network(text, strict=False)]
            except ValueError:
                return None
        for net in networks:
            evidence = self.fp.ip(str(net))
            if evidence:
                return "remote ip range %s: %s" % (text, evidence)
            if net.prefixlen >= WIDEST_REPORTED_PREFIX:
                evidence = self.fp.ip_overlap(str(net))
                if evidence:
                    return "remote ip range %s: %s" % (text, evidence)
        return None

    def receive_findings(self, connectors):
        findings = []
        for connector in connectors:
            evidence = [e for e in (self.range_evidence(r) for r in connector.get("remote_ip_ranges") or []) if e]
            if not evidence:
                continue
            snapshot = {k: connector.get(k) for k in ("enabled", "bindings", "remote_ip_ranges")}
            findings.append(finding(
                PLATFORM, "receive_connector", "%s receive connector %s" % (self.server, connector.get("name")),
                evidence, "manual", before=snapshot, after=snapshot,
                manual_steps="Once no mail arrives from mxHero any more, remove its addresses from the connector: "
                             "Set-ReceiveConnector -Identity %s -RemoteIPRanges @{Remove=<the ranges above>}, "
                             "or Remove-ReceiveConnector if it only served mxHero" % quote(
                                 connector.get("identity") or connector.get("name"))))
        return findings

    # -- everything, read-only ----------------------------------------------------
    def info(self, services=None):
        state = self.read(services=services)
        # The agents' server (WinRM's $env:COMPUTERNAME) is the one whose receive connectors count.
        server = self.server
        state["version"] = self.read_server(server).get("version") or state.get("version")
        self.server = server
        state["send_connectors"] = self.read_send_connectors()
        state["receive_connectors"] = self.read_receive_connectors(server)
        findings = []
        for agent in state["agents"]:
            evidence = self.agent_evidence(agent)
            if evidence:
                findings.append(self.agent_finding(agent, evidence, "reported",
                                                   {"enabled": agent.get("enabled"),
                                                    "priority": agent.get("priority")}))
        for connector in state["send_connectors"]:
            matched, others, name_evidence = self.classify_connector(connector)
            evidence = matched + ([name_evidence] if name_evidence else [])
            if not evidence:
                continue
            snapshot = self.connector_before(connector)
            why = None
            if matched and others:
                why = "it also routes through non-mxHero smart hosts (%s)" % ", ".join(others)
            elif not matched:
                why = "its name suggests mxHero but no smart host is an mxHero host"
            findings.append(finding(PLATFORM, "send_connector", self.connector_object(connector), evidence,
                                    "reported", before=snapshot, after=snapshot, why=why))
        findings.extend(self.receive_findings(state["receive_connectors"]))
        owed = [m.get("service") for m in state["restart_markers"] if isinstance(m, dict) and not m.get("done")]
        return dict(changed=False, findings=findings, server=self.server, version=state.get("version"),
                    snapin=state.get("snapin"), transport_services=state["transport_services"], restart_pending=owed,
                    agents=state["agents"], send_connectors=state["send_connectors"],
                    receive_connectors=state["receive_connectors"])


def _address(space):
    """'SMTP:*;1' -> '*' ; 'smtp:contoso.com;10' -> 'contoso.com' ; non-SMTP spaces -> None."""
    text = str(space or "").strip()
    kind, sep, rest = text.partition(":")
    if not sep:
        kind, rest = "smtp", text
    if kind.lower() != "smtp":
        return None
    return rest.split(";", 1)[0].strip().lower() or None
