# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Put back, through the Cloud Identity Policy API, the Gmail list entries a run removed through it.

A run changes a policy only by taking mxHero's own entries out of a list (engine.plan_policy,
mode ``change``), for a setting type the inventory names in ``mutable_setting_types``. The
record's ``removed`` entry (kind ``gmail_policy_entries``) holds the policy as the run read it
and the entries it took out. The restore holds a record to the same guards before it reads
anything (docs/report.md, "What a restore accepts"):

- planning the recorded policy again with the fingerprint gives exactly those entries: they
  are mxHero's, in a list the run may change (never a block list, never a SYSTEM policy, a
  type in ``mutable_setting_types``);
- the policy, read now, holds exactly what the run left (the recorded value without the
  entries), or already the recorded value (nothing to do).

Only when every entry passes is anything patched; the patch writes the recorded value back
and is read back like a forward change. Check mode returns the same plan. A setting Google
answers it cannot change comes back as a manual step.
"""

from __future__ import annotations

import copy

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._findings import finding, planned
from ansible_collections.mxhero.unroute.plugins.module_utils._google import client as client_mod
from ansible_collections.mxhero.unroute.plugins.module_utils._google import settings
from ansible_collections.mxhero.unroute.plugins.module_utils._google.engine import plan_policy

KIND = "gmail_policy_entries"
_REFUSED = "put the entries back by hand from the run record if it is genuine; nothing was changed"


def _refuse(domain, what, cause):
    return UnrouteError(domain, what, "the run record is refused: %s" % cause, _REFUSED)


def check(domain, removed, fp, mutable):
    """[(policy as recorded, entries, value the run left)] for every policy entry; refuses a forged one."""
    out = []
    for index, entry in enumerate(removed or []):
        if not isinstance(entry, dict) or entry.get("kind") != KIND:
            continue
        policy = entry.get("policy")
        name = policy.get("name") if isinstance(policy, dict) else None
        what = "policy %s" % (name or "removed[%d]" % index)
        if not isinstance(name, str) or not name.startswith("policies/"):
            raise _refuse(domain, what, "the entry does not hold the policy as the run read it")
        entries = entry.get("entries")
        if not isinstance(entries, list) or not entries:
            raise _refuse(domain, what, "the entry lists no removed entries")
        plan = plan_policy(policy, fp, mutable)
        if plan is None or plan["mode"] != "change":
            why = (plan or {}).get("why") or "the fingerprint finds nothing of mxHero's in it"
            raise _refuse(domain, what, "a run does not change this policy (%s)" % why)
        if sorted(map(str, entries)) != sorted(map(str, plan["removed_values"])):
            raise _refuse(domain, what, "it would add back %s, but the entries a run removes from this policy are "
                          "%s (mxHero's only)" % (", ".join(map(str, entries)),
                                                  ", ".join(map(str, plan["removed_values"]))))
        out.append((policy, list(entries), plan["new_value"]))
    return out


def _object(findings, name, setting_type):
    """The run's own name for the policy (it says where the policy applies), else name and type."""
    for item in findings or []:
        if isinstance(item, dict) and item.get("kind") == "gmail_policy" and \
                str(item.get("object") or "").startswith("%s %s " % (name, setting_type)):
            return item["object"]
    return "%s %s" % (name, setting_type)


def restore(client, domain, removed, fp, mutable, check_mode=False, done=None, warn=None, findings=None):
    """Check every entry, read every policy, then patch; returns the module outcome."""
    mutable = set(settings.bare(t) for t in mutable or [])
    checked = check(domain, removed, fp, mutable)
    plans = []
    for policy, entries, left in checked:
        name = policy["name"]
        setting = policy.get("setting") or {}
        current = client.get_policy(name)
        value = (current.get("setting") or {}).get("value") or {}
        if value == setting.get("value"):
            continue  # already as before the run
        if value != left:
            raise UnrouteError(domain, "policy %s" % name, "changed since the run, so the entries are not added "
                               "back: it holds %s, the run left %s" % (value, left),
                               "compare it with the run record and add %s back by hand; nothing was changed"
                               % ", ".join(entries))
        plans.append((policy, entries, value))
    named = findings
    findings, before, after = [], {}, {}
    for policy, entries, value in plans:
        name = policy["name"]
        setting = policy["setting"]
        obj = _object(named, name, setting.get("type"))
        state = {"type": setting.get("type"), "value": value}
        back = {"type": setting.get("type"), "value": copy.deepcopy(setting.get("value"))}
        before[name], after[name] = state, back
        evidence = ["removed by the run (run record): %s" % ", ".join(entries)]
        if not check_mode:
            try:
                client.patch_policy(name, {"type": setting.get("type"), "value": setting.get("value")})
            except client_mod.MutateUnsupported as err:
                steps = ("Go to %s, open the policy %s and add back %s; keep every other entry; save."
                         % (settings.place(setting.get("type")), name, ", ".join(entries)))
                if warn:
                    warn("%s: Google refused to change %s (%s); adding the entries back is left to a person"
                         % (domain, name, err))
                findings.append(finding("google", "gmail_policy", obj, evidence, "manual", before=state,
                                        after=state, manual_steps=steps,
                                        why="Google answered that %s cannot be changed through the API"
                                            % setting.get("type")))
                after[name] = state
                continue
            reread = (client.get_policy(name).get("setting") or {}).get("value")
            if reread != setting.get("value"):
                raise UnrouteError(domain, "policy %s" % name, "Google accepted the change but the policy reads %s"
                                   % (reread,), "check the policy in the Admin console")
            if done:
                done("policy %s: added back %s" % (name, ", ".join(entries)))
        findings.append(finding("google", "gmail_policy", obj, evidence, planned("added", check_mode),
                                before=state, after=back))
    return dict(changed=any(f["action"] in ("added", "would_add") for f in findings), findings=findings,
                before=before, after=after)
