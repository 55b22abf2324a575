# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Finding record every module returns (contract shared with the role and the report)."""

from __future__ import annotations

PLATFORMS = ("dns", "google", "microsoft365", "exchange", "mta")
# Why an object a run meant to change was left alone: it vanished between our read and our write. Another run
# or a person took it out; this run's record must not claim it (its restore would put it back).
GONE = "already gone (changed by someone else)"

# What a real run does -> what check mode says it would do. Everything else
# (manual, reported, kept) reads the same in both modes.
_PLANNED = {
    "removed": "would_remove",
    "disabled": "would_disable",
    "changed": "would_change",
    "added": "would_add",
    "enabled": "would_enable",
}


def planned(action, check_mode):
    """The action word for this mode: ``removed`` in a real run is ``would_remove`` in check mode."""
    if check_mode:
        return _PLANNED.get(action, action)
    return action


def finding(platform, kind, obj, evidence, action, before=None, after=None, manual_steps=None, why=None):
    """One finding. ``evidence`` is a list of strings saying what matched and how."""
    if platform not in PLATFORMS:
        raise ValueError("unknown platform %r" % platform)
    if isinstance(evidence, str):
        evidence = [evidence]
    record = {
        "platform": platform,
        "kind": kind,
        "object": obj,
        "evidence": list(evidence or []),
        "action": action,
        "before": before,
        "after": after,
    }
    if manual_steps:
        record["manual_steps"] = manual_steps
    if why:
        record["why"] = why
    return record
