# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan digests: what a reviewed audit approved, in a form a later real run can be held to.

A module's digest covers its intended changes (kind, object, action, the object as
read) and the whole state they were computed from (the RRset or the objects as read,
the ``before`` of its diff). A module that intends no change has the empty digest, so
state nobody touches never counts as drift. A domain's digest combines its modules'.
"""

from __future__ import annotations

import hashlib
import json

# A real run's action word -> check mode's; digests compare plans, so both read the same.
_AS_PLANNED = {"removed": "would_remove", "disabled": "would_disable", "changed": "would_change",
               "added": "would_add", "enabled": "would_enable"}
PLANNED_ACTIONS = frozenset(_AS_PLANNED.values())
EMPTY = "0" * 64


def changes(findings):
    """The intended changes among ``findings``, canonical and sorted: what an approval is about."""
    out = []
    for item in findings or []:
        action = _AS_PLANNED.get(item.get("action"), item.get("action"))
        if action in PLANNED_ACTIONS:
            out.append({"kind": item.get("kind"), "object": item.get("object"), "action": action,
                        "before": item.get("before")})
    return sorted(out, key=_canonical)


def module_digest(findings, state):
    planned = changes(findings)
    if not planned:
        return EMPTY
    return _sha({"changes": planned, "state": state})


def domain_digest(module_digests):
    """One digest for a domain from its modules' digests (order-free; modules without changes drop out)."""
    kept = sorted(d for d in module_digests if d and d != EMPTY)
    return _sha(kept) if kept else EMPTY


def recorded_digest(entry):
    """A domain's digest recomputed from its record's own content: ``(digest, what does not add up)``.

    Each step in ``modules`` owns the next ``finding_count`` findings; its digest is computed again from
    those findings (what the report shows) and the ``plan_state`` it recorded, never taken from the stored
    field. A record from before plan states were kept (no ``plan_state`` where a digest is) gives ``None``.
    """
    findings = list(entry.get("findings") or [])
    steps = list(entry.get("modules") or [])
    digests, problems, at = [], [], 0
    for step in steps:
        count = step.get("finding_count")
        if not isinstance(count, int) or count < 0:
            return None, []
        own, at = findings[at:at + count], at + count
        stored = step.get("plan_digest")
        if "plan_state" in step:
            digest = module_digest(own, step.get("plan_state"))
        elif changes(own):
            return None, []
        else:
            digest = EMPTY
        if stored not in (None, EMPTY, digest) or (stored in (None, EMPTY) and digest != EMPTY):
            problems.append("the digest recorded for %s is not the one of its findings and state"
                            % step.get("module"))
        digests.append(digest)
    if at != len(findings):
        problems.append("%d finding(s) belong to no module" % (len(findings) - at))
    digest = domain_digest(digests)
    if entry.get("plan_digest") != digest and not problems:
        problems.append("the domain's recorded digest is not the one of its findings")
    return digest, problems


def differences(approved, now):
    """Human words for how two change lists differ (first few), for the one-line drift error."""
    approved_keys = dict((_key(c), c) for c in approved)
    now_keys = dict((_key(c), c) for c in now)
    words = []
    for key in sorted(set(now_keys) - set(approved_keys)):
        words.append("new: %s %s" % (now_keys[key]["action"], now_keys[key]["object"]))
    for key in sorted(set(approved_keys) - set(now_keys)):
        words.append("gone: %s %s" % (approved_keys[key]["action"], approved_keys[key]["object"]))
    for key in sorted(set(approved_keys) & set(now_keys)):
        if _canonical(approved_keys[key]) != _canonical(now_keys[key]):
            words.append("changed: %s" % now_keys[key]["object"])
    return words


def _key(change):
    return "%s|%s|%s" % (change.get("kind"), change.get("object"), change.get("action"))


def _canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _sha(value):
    return hashlib.sha256(_canonical(value).encode("utf-8")).hexdigest()
