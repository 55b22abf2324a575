# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Put back what a run disabled or removed in Exchange Online, in the reverse order of the run.

Allow-list entries first, then connectors, then rules (Exchange refuses to enable a rule
whose connector is disabled). A run record can be edited, so it is checked whole before
anything is read or written (docs/report.md, "What a restore accepts"):

- a rule or connector is enabled only when its finding says the run disabled it, its
  ``before`` shows it enabled (State Enabled / Enabled true) and its ``after`` disabled -
  one the run found disabled already is ``kept`` in the record and stays off;
- the object must still be mxHero's by the fingerprint, read now (a customer's own rule
  renamed into the record is refused);
- an allow-list entry put back must be an mxHero address the fingerprint matches, listed in
  the finding's ``before`` and absent from its ``after``.

Then every object is read and planned; only when all pass is anything written. Check mode
returns the same plan. A removed rule or connector is not recreated: the record holds its
properties, and restore_steps' manual step (recreate_steps) names them (New-* cmdlets take
dozens of parameters whose defaults differ between tenants, so a person should look first).
"""

from __future__ import annotations

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._exo.client import ExoError, ExoUnknownOutcome
from ansible_collections.mxhero.unroute.plugins.module_utils._exo.engine import FILTER, KINDS, NOUNS, PLATFORM, RULE
from ansible_collections.mxhero.unroute.plugins.module_utils._exo.matching import (
    as_list, match_inbound, match_outbound, match_rule)
from ansible_collections.mxhero.unroute.plugins.module_utils._findings import finding, planned

_NOUN_OF_KIND = {KINDS["outbound"]: NOUNS["outbound"], KINDS["inbound"]: NOUNS["inbound"], KINDS["rule"]: RULE}
# The kinds whose removal restore_steps turns into a recreate step.
EXO_KINDS = tuple(_NOUN_OF_KIND)
# A removed rule or connector comes back by hand: restore_steps says how (recreate_steps).
_DONE = ("disabled", "removed")
_ORDER = (KINDS["filter"], KINDS["outbound"], KINDS["inbound"], KINDS["rule"])
_REFUSED = "restore it by hand from the run record if the record is genuine; nothing was written"
# Microsoft's Inbound connector FAQ: for some service offerings (tenants created after 2023) Exchange Online keeps
# an inbound connector disabled - a new one is created disabled, and enabling one answers "For this service
# offering, you can't enable an inbound connector. Contact Support to enable it."
HELD = ("in tenants created after 2023 Exchange Online may hold an inbound connector disabled until Microsoft "
        "allows it (Microsoft's 'Inbound connector: FAQ'): if it reads disabled, open a service request in the "
        "Microsoft 365 admin center (Support > New service request) asking Microsoft to enable inbound connector "
        "%s, then check it in the Exchange admin center > Mail flow > Connectors")


def held_steps(name):
    return HELD % _ps(name)


# PowerShell's tokenizer reads the typographic single quotes as ' too: each is doubled inside '...'.
_QUOTES = u"'\u2018\u2019\u201a\u201b"


def _ps(text):
    """A PowerShell single-quoted string: embedded quotes doubled, so the step parses as one argument."""
    return "'%s'" % "".join(ch * 2 if ch in _QUOTES else ch for ch in str(text))


def _refuse(engine, what, cause):
    return UnrouteError(engine.label, what, "the run record is refused: %s" % cause, _REFUSED)


def check(engine, findings):
    """The findings exo_restore acts on, in restore order; refuses the first a run cannot have recorded."""
    done = [f for f in findings or [] if isinstance(f, dict) and f.get("platform") == PLATFORM
            and f.get("action") in _DONE]
    for item in done:
        kind, obj = item.get("kind"), item.get("object")
        what = "%s '%s'" % (kind, obj)
        if kind not in _ORDER or not isinstance(obj, str) or not obj:
            raise _refuse(engine, what, "an Exchange Online run changes no %s" % kind)
        before, after = item.get("before") or {}, item.get("after") or {}
        if kind == KINDS["filter"]:
            policy, _sep, entry = obj.partition(": ")
            if not entry or before.get("Identity") != policy:
                raise _refuse(engine, what, "an allow-list finding names its policy and entry as 'Policy: entry'")
            if not engine.fp.ip(entry):
                raise _refuse(engine, what, "it would add %s to the IP allow list, which the fingerprint does not "
                              "match: a run removes only mxHero's addresses" % entry)
            if entry not in as_list(before.get("IPAllowList")) or entry in as_list(after.get("IPAllowList")):
                raise _refuse(engine, what, "its before/after do not show the run removing %s" % entry)
            continue
        if item["action"] == "removed" and kind != KINDS["filter"]:
            continue  # restore_steps' manual step: nothing is written here
        if before.get("Name") != obj:
            raise _refuse(engine, what, "its before names another object (%r)" % before.get("Name"))
        if kind == KINDS["rule"]:
            was_on = str(before.get("State")).lower() == "enabled"
            now_off = str(after.get("State")).lower() == "disabled"
        else:
            was_on, now_off = before.get("Enabled") is True, after.get("Enabled") is False
        if not (was_on and now_off):
            raise _refuse(engine, what, "its before/after do not show the run disabling an enabled object, so it "
                          "is not enabled (an object disabled before the run stays disabled)")
    done = [f for f in done if f["action"] == "disabled" or f["kind"] == KINDS["filter"]]
    return sorted(done, key=lambda f: _ORDER.index(f["kind"]))


def restore(engine, findings, check_mode):
    items = check(engine, findings)
    plans = []
    mx = shared = None
    for item in items:
        if item["kind"] == KINDS["rule"] and item["action"] == "disabled" and mx is None:
            connectors = engine._read("outbound connectors", engine.client.list, NOUNS["outbound"])
            mx, shared = engine._mx_outbound(connectors)
        plan = _plan(engine, item, mx, shared)
        if plan is not None:
            plans.append(plan)
    out, before, after = [], [], []
    for plan in plans:
        step = plan["write"](check_mode) if plan.get("write") else plan["finding"]
        out.append(step)
        before.append(plan["before"])
        after.append(plan["after"])
    return dict(changed=any(f["action"] in ("enabled", "would_enable", "added", "would_add") for f in out),
                findings=out, before={"objects": before}, after={"objects": after})


def _plan(engine, item, mx, shared):
    if item["kind"] == KINDS["filter"]:
        return _allow_entry(engine, item)
    return _disabled(engine, item, mx, shared)


def _disabled(engine, item, mx, shared):
    kind, name = item["kind"], item["object"]
    noun = _NOUN_OF_KIND[kind]
    what = "%s '%s'" % (noun, name)
    current = engine._read(what, engine.client.get, noun, name)
    if current is None:
        raise UnrouteError(engine.label, what, "is gone since the run, so it is not enabled",
                           "recreate it by hand from the run record if it is still wanted; nothing was written")
    is_rule = kind == KINDS["rule"]
    if is_rule:
        enabled = str(current.get("State")).lower() == "enabled"
        match = match_rule(engine.fp, current, mx or {}, shared)
        state = {"Name": name, "State": current.get("State")}
        back = dict(state, State="Enabled")
    else:
        enabled = current.get("Enabled") is True
        match = (match_outbound if kind == KINDS["outbound"] else match_inbound)(engine.fp, current)
        state = {"Name": name, "Enabled": current.get("Enabled")}
        back = dict(state, Enabled=True)
    if enabled:
        return None  # already back as it was before the run
    if match.decision != "act":
        raise _refuse(engine, what, "the fingerprint does not match it as it reads now (%s), so it is not the "
                      "mxHero object the run disabled" % ("; ".join(match.evidence) or "no mxHero evidence"))

    def write(check_mode):
        evidence = ["disabled by the run (run record)"]
        if not check_mode:
            if is_rule:
                engine._write(noun, name, "enabled rule '%s'" % name, lambda: engine.client.enable_rule(name),
                              check=lambda o: str(o.get("State")).lower() == "enabled")
            elif kind == KINDS["inbound"]:
                held = _enable_inbound(engine, name)
                if held:
                    return finding(PLATFORM, kind, name, evidence + ["Exchange Online: %s" % held], "manual",
                                   before=state, after=state, manual_steps=held_steps(name),
                                   why="Microsoft holds the connector disabled")
            else:
                engine._write(noun, name, "enabled %s '%s'" % (noun, name),
                              lambda: engine.client.set_enabled(noun, name, True),
                              check=lambda o: o.get("Enabled") is True)
        why = None
        if kind == KINDS["inbound"]:
            why = held_steps(name)
        return finding(PLATFORM, kind, name, evidence, planned("enabled", check_mode), before=state, after=back,
                       why=why)
    return {"write": write, "before": state, "after": back}


def _enable_inbound(engine, name):
    """Enable an inbound connector; the warning text when Microsoft keeps it disabled, else None."""
    noun = NOUNS["inbound"]
    warnings = []
    try:
        try:
            engine.client.set_enabled(noun, name, True)
            warnings = list(getattr(engine.client, "last_warnings", []) or [])
        except ExoUnknownOutcome:
            pass  # read below before anything is repeated
        if engine._confirm(noun, name, False, lambda o: o.get("Enabled") is True):
            engine.done.append("enabled %s '%s'" % (noun, name))
            return None
    except ExoError as err:
        raise engine._fail("%s '%s'" % (noun, name), err)
    said = [w for w in warnings if "support" in w.lower()]
    if said:
        engine.warn("%s: inbound connector '%s' stays disabled: %s; %s"
                    % (engine.label, name, said[0], held_steps(name)))
        return said[0]
    raise UnrouteError(engine.label, "%s '%s'" % (noun, name),
                       "Exchange accepted enabling it but it still reads disabled after %.0fs"
                       % sum(engine.confirm_delays), "re-run in a few minutes (replication lag); " + held_steps(name),
                       partial=list(engine.done))


def _allow_entry(engine, item):
    name = item["before"]["Identity"]
    entry = item["object"].split(": ", 1)[1]
    what = "%s '%s'" % (FILTER, name)
    policy = engine._read(what, engine.client.get, FILTER, name)
    if policy is None:
        raise UnrouteError(engine.label, what, "is gone since the run",
                           "add %s to its IP allow list by hand if it is still wanted; nothing was written" % entry)
    entries = as_list(policy.get("IPAllowList"))
    if entry.lower() in (str(e).lower() for e in entries):
        return None
    state = {"Identity": name, "IPAllowList": entries}
    back = {"Identity": name, "IPAllowList": entries + [entry]}

    def write(check_mode):
        if not check_mode:
            engine._write(FILTER, name, "added %s to the IP allow list of %s '%s'" % (entry, FILTER, name),
                          lambda: engine.client.add_values(FILTER, name, "IPAllowList", [entry]),
                          check=lambda o: entry.lower() in (str(e).lower() for e in as_list(o.get("IPAllowList"))))
        return finding(PLATFORM, KINDS["filter"], item["object"], ["removed by the run (run record)"],
                       planned("added", check_mode), before=state, after=back)
    return {"write": write, "before": state, "after": back}


def recreate_steps(kind, name):
    """The manual step for a rule or connector the run removed (restore_steps returns it)."""
    noun = _NOUN_OF_KIND[kind]
    steps = ("The run removed %s %s; the run record's `removed` entry holds all its properties. To bring it back, "
             "in Exchange Online PowerShell run New-%s -Name %s with the properties you still want, then check it "
             "in the Exchange admin center (Mail flow)." % (noun, _ps(name), noun, _ps(name)))
    if kind == KINDS["inbound"]:
        steps += " A re-created inbound connector: %s." % held_steps(name)
    return steps
