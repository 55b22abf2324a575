# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a person must do to put back what a run changed where no module restores it.

Google Workspace and Exchange Server changes are put back by hand from the run record:
the exact command or console step, built from what the forward modules recorded
(recreate/reinstall commands, the policy as read, the gateway as it was). What cannot
be put back at all (a revoked OAuth grant) says so.
"""

from __future__ import annotations

import json

from ansible_collections.mxhero.unroute.plugins.module_utils._exchange.commands import WINDOWS_SERVICE, quote
from ansible_collections.mxhero.unroute.plugins.module_utils._findings import finding

_DONE = ("removed", "disabled", "changed")
PLATFORMS = ("google", "exchange", "mta")


def steps(findings, removed):
    """Manual findings for every done google/exchange finding of one domain's run record."""
    out = []
    used = set()
    for item in findings or []:
        if item.get("platform") not in PLATFORMS or item.get("action") not in _DONE:
            continue
        text, restorable = _step(item, removed or [], used)
        out.append(finding(item["platform"], item.get("kind"), item.get("object"),
                           ["%s by the run (run record)" % item.get("action")], "manual" if restorable else "reported",
                           before=item.get("after"), after=item.get("before"), manual_steps=text if restorable else None,
                           why=None if restorable else text))
    return out


def _match(removed, used, **keys):
    for index, entry in enumerate(removed):
        if index not in used and all(entry.get(k) == v for k, v in keys.items()):
            used.add(index)
            return entry
    return None


def _mta_step(obj, before):
    host = obj.split(": ", 1)[0]
    folder = str(before.get("file") or "").rsplit("/", 1)[0] or "/etc/postfix"
    if before.get("parameter") and "main.cf" in str(before.get("file")):
        return ("On %s: postconf -c %s -e '%s=%s', then postfix -c %s reload"
                % (host, folder, before["parameter"], before.get("value"), folder))
    if before.get("table") and before.get("key"):
        return ("On %s: put the line '%s %s' back in %s, then postmap %s and postfix -c %s reload"
                % (host, before["key"], before.get("value"), before["file"], before["file"], folder))
    as_was = json.dumps(before, sort_keys=True, default=str)
    return "On %s: put %s back as it was before the run: %s" % (host, obj, as_was)


def _step(item, removed, used):
    kind, obj = item.get("kind"), str(item.get("object"))
    if kind == "send_connector":
        name = obj.split("send connector ", 1)[-1]
        if item["action"] == "disabled":
            return ("In the Exchange Management Shell: Set-SendConnector -Identity %s -Enabled $true" % quote(name),
                    True)
        entry = _match(removed, used, name=name)
        if entry and entry.get("recreate"):
            return "In the Exchange Management Shell: %s" % entry["recreate"], True
    if kind == "transport_agent":
        head, _sep, name = obj.partition(" transport agent ")
        service = head.split()[-1] if head.split() else ""
        if item["action"] == "disabled":
            where = " -TransportService %s" % service if service in WINDOWS_SERVICE else ""
            restart = "; Restart-Service %s" % WINDOWS_SERVICE[service] if service in WINDOWS_SERVICE else ""
            return ("On %s, in the Exchange Management Shell: Enable-TransportAgent -Identity %s%s%s"
                    % (head.split()[0] if head.split() else "the server", quote(name), where, restart), True)
        entry = _match(removed, used, identity=name)
        if entry and entry.get("reinstall"):
            return "On %s, in the Exchange Management Shell: %s" % (entry.get("server"), entry["reinstall"]), True
        return ("Not restorable from the record: the agent's factory or assembly path was not recorded; reinstall "
                "it from the vendor's package", False)
    if item.get("platform") == "mta":
        return _mta_step(obj, item.get("before") or {}), True
    if kind == "oauth_grant":
        return "Not restorable: a revoked OAuth grant comes back only when the user consents to the app again", False
    if kind == "gmail_policy":
        entry = _match(removed, used, kind="gmail_policy_entries")
        entries = ", ".join(entry.get("entries") or []) if entry else "the entries listed in the run record"
        return ("In the Google Admin console, open the setting of %s and add back %s (the run record's removed "
                "entry holds the whole policy as it was)" % (obj, entries), True)
    if kind == "outbound_gateway":
        entry = _match(removed, used, kind="outbound_gateway") or {}
        gateway = (entry.get("smartHost", "its old value"), entry.get("smtpMode", "as it was"))
        return ("In the Google Admin console > Apps > Google Workspace > Gmail > Routing > Outbound gateway, set "
                "the gateway back to %s (SMTP mode %s)" % gateway, True)
    as_was = json.dumps(item.get("before"), sort_keys=True, default=str)
    return "Put %s back as it was before the run: %s" % (obj, as_was), True
