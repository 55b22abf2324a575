# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Put back what a run disabled or removed in Exchange Online, in the reverse order of the run.

Allow-list entries first, then connectors, then rules (Exchange refuses to enable a rule
whose connector is disabled). An object is changed only while it reads as the run left it
(its finding's ``after``); one already back is left alone, so a second restore changes
nothing. A removed rule or connector is not recreated: the record holds its properties,
and the manual step names them (New-* cmdlets take dozens of parameters whose defaults
differ between tenants, so a person should look before it returns).
"""

from __future__ import annotations

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._exo.engine import FILTER, KINDS, NOUNS, PLATFORM, RULE
from ansible_collections.mxhero.unroute.plugins.module_utils._findings import finding, planned

_NOUN_OF_KIND = {KINDS["outbound"]: NOUNS["outbound"], KINDS["inbound"]: NOUNS["inbound"], KINDS["rule"]: RULE}
_DONE = ("disabled", "removed")


def restore(engine, findings, check_mode):
    out, before, after = [], [], []
    done = [f for f in findings or [] if f.get("platform") == PLATFORM and f.get("action") in _DONE]
    order = (KINDS["filter"], KINDS["outbound"], KINDS["inbound"], KINDS["rule"])
    for kind in order:
        for item in [f for f in done if f.get("kind") == kind]:
            if kind == KINDS["filter"]:
                step = _allow_entry(engine, item, check_mode)
            elif item["action"] == "removed":
                step = _removed(item)
            else:
                step = _disabled(engine, kind, item, check_mode)
            if step is None:
                continue
            out.append(step[0])
            before.append(step[1])
            after.append(step[2])
    return dict(changed=any(f["action"] in ("enabled", "would_enable", "added", "would_add") for f in out),
                findings=out, before={"objects": before}, after={"objects": after})


def _disabled(engine, kind, item, check_mode):
    noun = _NOUN_OF_KIND[kind]
    name = (item.get("before") or {}).get("Name") or item["object"]
    current = engine._read("%s '%s'" % (noun, name), engine.client.get, noun, name)
    if current is None:
        raise UnrouteError(engine.label, "%s '%s'" % (noun, name), "is gone since the run, so it is not enabled",
                           "recreate it by hand from the run record if it is still wanted")
    is_rule = kind == KINDS["rule"]
    enabled = str(current.get("State")).lower() == "enabled" if is_rule else current.get("Enabled") is True
    state = {"Name": name, "State": current.get("State")} if is_rule else {"Name": name, "Enabled": current.get("Enabled")}
    if enabled:
        return None  # already back as it was before the run
    if not check_mode:
        if is_rule:
            engine._write(noun, name, "enabled rule '%s'" % name, lambda: engine.client.enable_rule(name),
                          check=lambda o: str(o.get("State")).lower() == "enabled")
        else:
            engine._write(noun, name, "enabled %s '%s'" % (noun, name),
                          lambda: engine.client.set_enabled(noun, name, True), check=lambda o: o.get("Enabled") is True)
    back = dict(state, State="Enabled") if is_rule else dict(state, Enabled=True)
    return (finding(PLATFORM, kind, name, ["disabled by the run (run record)"], planned("enabled", check_mode),
                    before=state, after=back), state, back)


def _allow_entry(engine, item, check_mode):
    name = (item.get("before") or {}).get("Identity")
    entry = item["object"].split(": ", 1)[1] if ": " in item["object"] else None
    if not name or not entry:
        return None
    policy = engine._read("%s '%s'" % (FILTER, name), engine.client.get, FILTER, name)
    if policy is None:
        raise UnrouteError(engine.label, "%s '%s'" % (FILTER, name), "is gone since the run",
                           "add %s to its IP allow list by hand if it is still wanted" % entry)
    entries = policy.get("IPAllowList") or []
    if isinstance(entries, str):
        entries = [entries]
    if entry.lower() in (e.lower() for e in entries):
        return None
    if not check_mode:
        engine._write(FILTER, name, "added %s to the IP allow list of %s '%s'" % (entry, FILTER, name),
                      lambda: engine.client.add_values(FILTER, name, "IPAllowList", [entry]),
                      check=lambda o: entry.lower() in (str(e).lower() for e in (o.get("IPAllowList") or [])))
    return (finding(PLATFORM, KINDS["filter"], item["object"], ["removed by the run (run record)"],
                    planned("added", check_mode), before={"Identity": name, "IPAllowList": entries},
                    after={"Identity": name, "IPAllowList": entries + [entry]}),
            {"Identity": name, "IPAllowList": entries}, {"Identity": name, "IPAllowList": entries + [entry]})


def _removed(item):
    noun = _NOUN_OF_KIND[item["kind"]]
    steps = ("The run removed %s '%s'; the run record's `removed` entry holds all its properties. To bring it back, "
             "in Exchange Online PowerShell run New-%s -Name '%s' with the properties you still want, then check it "
             "in the Exchange admin center (Mail flow)." % (noun, item["object"], noun, item["object"].replace("'", "''")))
    return (finding(PLATFORM, item["kind"], item["object"], ["removed by the run (run record)"], "manual",
                    before=None, after=None, manual_steps=steps), {"Name": item["object"]}, None)
