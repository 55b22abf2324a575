# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a person must do to put back what a run changed where no module restores it.

Exchange Server, mail server and Google changes no API can undo are put back by hand from
the run record: the exact command or console step. A run record can be edited and a person
pastes these steps into a shell, so nothing recorded is handed on as it stands:

- every command is built here from the recorded properties, each argument quoted for the
  shell the step names (POSIX sh: ``shlex.quote``; PowerShell: single quotes, embedded
  quotes doubled) - a recorded ``recreate``/``reinstall`` string is never passed on;
- the value a step puts back must be one the fingerprint matches (a run only removes or
  rewrites mxHero's), or the record is refused in one line (docs/report.md).

What cannot be put back at all (a revoked OAuth grant) says so.
"""

from __future__ import annotations

import json
import re
import shlex

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._exchange.commands import (
    WINDOWS_SERVICE, quote, recreate_connector, reinstall_agent)
from ansible_collections.mxhero.unroute.plugins.module_utils._exo.matching import match_inbound, match_outbound
from ansible_collections.mxhero.unroute.plugins.module_utils._exo.restore import EXO_KINDS, recreate_steps
from ansible_collections.mxhero.unroute.plugins.module_utils._findings import finding
from ansible_collections.mxhero.unroute.plugins.module_utils._fingerprint import Fingerprint, normalize_host

_DONE = ("removed", "disabled", "changed")
PLATFORMS = ("google", "exchange", "mta", "microsoft365")
# Changed through an API, and put back through it by another module (google_restore), not by hand.
API_KINDS = ("gmail_policy",)
_REFUSED = "put it back by hand from the run record if the record is genuine; nothing was changed"


# What a host, server or gateway name may hold where a step names it in prose (no spaces, quotes or commands).
_PLAIN = re.compile(r"[A-Za-z0-9_.:\[\]-]{1,255}")


def _refuse(domain, obj, cause):
    return UnrouteError(domain, obj, "the run record is refused: %s" % cause, _REFUSED)


def _plain(domain, obj, what, text):
    """``text`` where a step names it in prose; refused unless it is a plain host-like name."""
    if not _PLAIN.fullmatch(str(text)):
        raise _refuse(domain, obj, "its %s %r is not a plain name, so no step names it" % (what, text))
    return str(text)


def steps(findings, removed, fp=None, domain=None):
    """Manual findings for every done google/exchange/mta finding of one domain's run record."""
    fp = fp or Fingerprint()
    out = []
    used = set()
    for item in findings or []:
        if not isinstance(item, dict) or item.get("platform") not in PLATFORMS or item.get("action") not in _DONE:
            continue
        if item.get("kind") in API_KINDS or (item["platform"] == "microsoft365" and (
                item["action"] != "removed" or item.get("kind") not in EXO_KINDS)):
            continue  # put back through an API (google_restore, exo_restore)
        text, restorable = _step(item, removed or [], used, fp, domain)
        out.append(finding(item["platform"], item.get("kind"), item.get("object"),
                           ["%s by the run (run record)" % item.get("action")], "manual" if restorable else "reported",
                           before=item.get("after"), after=item.get("before"), manual_steps=text if restorable else None,
                           why=None if restorable else text))
    return out


def _match(removed, used, **keys):
    for index, entry in enumerate(removed):
        if index not in used and isinstance(entry, dict) and all(entry.get(k) == v for k, v in keys.items()):
            used.add(index)
            return entry
    return None


def _sh(*args):
    return " ".join(shlex.quote(str(a)) for a in args)


def _mxhero_value(fp, value):
    text = str(value or "")
    return fp.host(normalize_host(text)) or fp.ip(normalize_host(text)) or (fp.scan_text(text) or [None])[0]


def _mta_step(obj, before, fp, domain):
    host = _plain(domain, obj, "mail server", obj.split(": ", 1)[0])
    value = before.get("value", before.get("dc_smarthost", before.get("route_list")))
    if not _mxhero_value(fp, value):
        raise _refuse(domain, obj, "the value it would put back (%r) is not one the fingerprint matches: a run "
                      "removes only mxHero's relays" % (value,))
    path = str(before.get("file") or "")
    folder = path.rsplit("/", 1)[0] if "/" in path else "/etc/postfix"
    reload_ = _sh("postfix", "-c", folder, "reload")
    if before.get("parameter") and path.endswith("main.cf"):
        return ("On %s, run: %s, then: %s" % (host, _sh("postconf", "-c", folder, "-e", "%s=%s" % (
            before["parameter"], value)), reload_))
    if before.get("parameter") and before.get("service") and path.endswith("master.cf"):
        return ("On %s, run: %s, then: %s" % (host, _sh("postconf", "-c", folder, "-P", "%s/%s=%s" % (
            before["service"], before["parameter"], value)), reload_))
    if before.get("table") and before.get("key"):
        line = "%s %s" % (before["key"], value)
        return ("On %s, put the line %s back in %s (its old place if the table is ordered), then run: %s && %s"
                % (host, shlex.quote(line), shlex.quote(path), _sh("postmap", path), reload_))
    # Exim and Sendmail settings: the recorded setting as data (JSON), never as a command.
    as_was = json.dumps(before, sort_keys=True, default=str)
    return "On %s, put back the setting %s as it was before the run: %s" % (host, json.dumps(obj), as_was)


def _step(item, removed, used, fp, domain):
    kind, obj = item.get("kind"), str(item.get("object"))
    before = item.get("before") if isinstance(item.get("before"), dict) else {}
    if kind == "send_connector":
        name = obj.split("send connector ", 1)[-1]
        if not any(fp.host(normalize_host(h)) or fp.ip(normalize_host(h)) for h in before.get("smart_hosts") or []):
            raise _refuse(domain, obj, "the send connector it would put back has no smart host the fingerprint "
                          "matches: a run changes only connectors that send to mxHero")
        if item["action"] == "disabled":
            return ("In the Exchange Management Shell: Set-SendConnector -Identity %s -Enabled $true" % quote(name),
                    True)
        entry = _match(removed, used, name=name)
        if entry and entry.get("smart_hosts") == before.get("smart_hosts"):
            # Built again from the recorded properties, each quoted: a recorded command is never passed on.
            return "In the Exchange Management Shell: %s" % recreate_connector(entry), True
        return "Not restorable from the record: the connector's properties were not recorded; recreate it by hand", \
            False
    if kind == "transport_agent":
        head, _sep, name = obj.partition(" transport agent ")
        if not fp.name(name):
            raise _refuse(domain, obj, "the transport agent it would put back is not one the fingerprint's name "
                          "patterns match")
        words = head.split()
        server, service = (words[0] if words else "the server"), (words[-1] if len(words) > 1 else "")
        server = _plain(domain, obj, "server", server)
        if item["action"] == "disabled":
            where = " -TransportService %s" % service if service in WINDOWS_SERVICE else ""
            restart = "; Restart-Service %s" % WINDOWS_SERVICE[service] if service in WINDOWS_SERVICE else ""
            return ("On %s, in the Exchange Management Shell: Enable-TransportAgent -Identity %s%s%s"
                    % (server, quote(name), where, restart), True)
        entry = _match(removed, used, identity=name)
        if entry and entry.get("factory") and entry.get("assembly_path"):
            per_service = entry.get("transport_service") in WINDOWS_SERVICE
            return ("On %s, in the Exchange Management Shell: %s"
                    % (server, reinstall_agent(entry, per_service)), True)
        return ("Not restorable from the record: the agent's factory or assembly path was not recorded; reinstall "
                "it from the vendor's package", False)
    if item.get("platform") == "mta":
        return _mta_step(obj, before, fp, domain), True
    if item.get("platform") == "microsoft365" and kind in EXO_KINDS:
        entry = _match(removed, used, kind=kind, object=obj)
        properties = (entry or {}).get("properties")
        if not isinstance(properties, dict):
            raise _refuse(domain, obj, "the record holds no properties of the %s the run removed" % kind)
        matcher = {"outbound_connector": match_outbound, "inbound_connector": match_inbound}.get(kind)
        if matcher and matcher(fp, properties).decision != "act":
            raise _refuse(domain, obj, "the connector it would have a person re-create is not mxHero's by the "
                          "fingerprint")
        return recreate_steps(kind, obj), True
    if kind == "oauth_grant":
        return "Not restorable: a revoked OAuth grant comes back only when the user consents to the app again", False
    if kind == "outbound_gateway":
        entry = _match(removed, used, kind="outbound_gateway") or {}
        host = entry.get("smartHost")
        if host is not None and not (fp.host(host) or fp.ip(normalize_host(host))):
            raise _refuse(domain, obj, "the outbound gateway it would put back (%r) is no mxHero host" % (host,))
        mode = entry.get("smtpMode")
        if host is not None:
            _plain(domain, obj, "outbound gateway", host)
        if mode is not None and mode not in ("SMTP", "SMTP_TLS"):
            raise _refuse(domain, obj, "its SMTP mode %r is neither SMTP nor SMTP_TLS" % (mode,))
        gateway = (host or "its old value", mode or "as it was")
        return ("In the Google Admin console > Apps > Google Workspace > Gmail > Routing > Outbound gateway, set "
                "the gateway back to %s (SMTP mode %s)" % gateway, True)
    raise _refuse(domain, obj, "a run records no %s %s change that a person puts back" % (item.get("platform"), kind))
