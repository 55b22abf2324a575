# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run record (JSON) and the report (one self-contained HTML page) of an audit or a real run."""

from __future__ import annotations

import json

from ansible_collections.mxhero.unroute.plugins.module_utils import _report_html
from ansible_collections.mxhero.unroute.plugins.module_utils._names import to_alabel, to_unicode
from ansible_collections.mxhero.unroute.plugins.module_utils._plan import EMPTY, domain_digest
from ansible_collections.mxhero.unroute.plugins.module_utils._record import (  # noqa: F401
    FORMAT, PREFLIGHT_STATUSES, STATUSES)
_DONE = {"removed", "disabled", "changed", "added", "enabled"}
_PLANNED = {"would_remove", "would_disable", "would_change", "would_add", "would_enable"}
_DROP_KEYS = {"invocation", "_ansible_no_log", "_ansible_verbose_always", "_ansible_item_label", "ansible_loop_var",
              "item", "diff", "_ansible_item_result", "_ansible_ignore_errors", "failed_when_result"}


def _flatten(results):
    """Results keyed by step (``unroute_result_<step>`` in the role), loop results one per item; skipped ones dropped."""
    if isinstance(results, dict):
        results = [dict(r, module=name.replace("unroute_result_", "", 1)) for name, r in sorted(results.items())]
    for result in results:
        name = result.get("module", "?")
        if result.get("skipped"):
            continue
        if isinstance(result.get("results"), list):
            for item in result["results"]:
                if not item.get("skipped"):
                    yield dict(item, module=name)
        else:
            yield result


def domain_record(entry):
    """Fold one domain's module results into its record (what was found, done, planned, left to a person)."""
    findings, removed, added, manual, warnings, errors, modules = [], [], [], [], [], [], []
    verification, checks, preflight = [], [], []
    for result in _flatten(entry.get("results") or []):
        name = result["module"]
        step = {"module": name, "changed": bool(result.get("changed")), "failed": bool(result.get("failed")),
                "skipped": bool(result.get("skipped")), "plan_digest": result.get("plan_digest"),
                "finding_count": len(result.get("findings") or [])}
        if result.get("plan_digest") not in (None, EMPTY):
            # What the digest was computed from besides the findings: a later plan check recomputes the digest
            # from the record's own content instead of trusting the stored one.
            step["plan_state"] = result.get("plan_state")
        modules.append(step)
        for item in result.get("findings") or []:
            findings.append(dict(item, module=name))
        removed.extend(dict(r, module=name) for r in result.get("removed") or [])
        added.extend(dict(r, module=name) for r in result.get("added") or [])
        manual.extend(dict(m, module=name) for m in result.get("manual_actions") or [])
        # What each authoritative server served after the change (verify=authoritative, issue 14).
        verification.extend(dict(v, module=name) for v in result.get("verification") or [])
        # A preflight's checks and the status they give the domain (module_utils/_preflight).
        checks.extend(result.get("checks") or [])
        if result.get("checks") is not None and result.get("status") in PREFLIGHT_STATUSES:
            preflight.append(result["status"])
        # `cautions` is what a module has to say besides its findings (the runner keeps it apart from the
        # Ansible warnings, which also repeat each manual action for the console).
        warnings.extend(str(w) for w in result.get("cautions") or [] if str(w) not in warnings)
        if result.get("failed"):
            errors.append({"module": name, "msg": str(result.get("msg", "failed"))})
    for err in entry.get("errors") or []:
        # The role's own note of a failure only matters when no module result carried the message.
        if not errors:
            errors.append({"module": err.get("task", ""), "msg": str(err.get("msg", ""))})
    # What an audit approves (issue 14): the real run with unroute_plan holds each domain to this digest.
    digest = domain_digest(m["plan_digest"] for m in modules if m["plan_digest"]) if not errors else None
    for item in findings:
        if item.get("action") == "manual" and not any(m.get("object") == item.get("object") for m in manual):
            manual.append({"object": item.get("object"), "steps": item.get("manual_steps", ""),
                           "platform": item.get("platform"), "module": item.get("module")})
    actions = set(f.get("action") for f in findings)
    if entry.get("skipped"):
        status = "skipped"
    elif any(e.get("drifted") for e in entry.get("errors") or []):
        status = "drifted"
    elif errors:
        status = "error"
    elif preflight:
        status = min(preflight, key=PREFLIGHT_STATUSES.index)
    elif manual:
        status = "manual"
    elif actions & _PLANNED:
        status = "would_change"
    elif actions & _DONE:
        status = "changed"
    elif findings:
        status = "reported"
    else:
        status = "clean"
    record = {"domain": entry.get("domain"), "platform": entry.get("platform", "other"), "status": status,
              # Which DNS provider the domain's zone is at, for the report's filter (None before 0.3.0).
              "dns_provider": entry.get("dns_provider"),
              "plan_digest": digest, "evidence_rank": _evidence_rank(findings), "findings": findings,
              "removed": removed, "added": added, "manual_actions": manual, "verification": verification,
              "warnings": warnings, "errors": errors, "modules": modules, "checks": checks}
    record.update(_name_forms(entry.get("domain")))
    if entry.get("dry_run_only"):
        # unroute_dry_run_only: planned in check mode on purpose, never changed (the status says what would be).
        record["dry_run_only"] = True
    mail = [f.get("mail_zone_check") for f in _flatten(entry.get("results") or []) if f.get("mail_zone_check")]
    if mail:
        record["mail_zone_check"] = mail[-1]
    return record


def would_change(entry):
    """Whether a domain's check-mode results plan a change (the estate brake counts these). A domain in error
    changes nothing, and a dry-run-only one is never changed."""
    if entry.get("dry_run_only"):
        return False
    record = domain_record(entry)
    return not record["errors"] and any(f.get("action") in _PLANNED for f in record["findings"])


def _name_forms(domain):
    """Both forms of a unicode domain (bücher.test and xn--bcher-kva.test), whichever the inventory gave."""
    try:
        alabel = to_alabel(str(domain or "")).rstrip(".")
    except ValueError:
        return {}
    shown = to_unicode(alabel)
    return {"domain_alabel": alabel, "domain_unicode": shown} if shown != alabel else {}


def _evidence_rank(findings):
    """How strongly a domain's findings point at a live mxHero setting nobody can read (0 strongest).

    Findings that carry ``audit_log`` (the Google outbound gateway) rank by what the admin audit log shows:
    an mxHero gateway set and never cleared first, no evidence next, cleared last. Others rank in the middle.
    """
    ranks = [f["audit_log"].get("rank", 1) for f in findings if isinstance(f.get("audit_log"), dict)]
    return min(ranks) if ranks else 1


def build_record(entries, mode, started, finished, check_mode, extra=None):
    domains = sorted((domain_record(e) for e in entries),
                     key=lambda d: (STATUSES.index(d["status"]), d["evidence_rank"], d["domain"]))
    summary = {"domains": len(domains)}
    for status in STATUSES:
        summary[status] = sum(1 for d in domains if d["status"] == status)
    summary["findings"] = sum(len(d["findings"]) for d in domains)
    # An audit removes nothing: its modules' `removed` lists are what a real run would remove.
    summary["removed"] = 0 if check_mode else sum(len(d["removed"]) for d in domains)
    summary["planned"] = sum(1 for d in domains for f in d["findings"] if f.get("action") in _PLANNED)
    summary["manual_actions"] = sum(len(d["manual_actions"]) for d in domains)
    run = {"mode": mode, "check_mode": bool(check_mode), "started": started, "finished": finished}
    run.update(extra or {})
    return {"format": FORMAT, "run": run, "summary": summary, "domains": domains}


def to_json(record):
    return json.dumps(record, indent=2, sort_keys=True, default=str)


_COLOURS = {"error": "#c62828", "drifted": "#ad1457", "manual": "#d98b00", "would_change": "#1565c0",
            "changed": "#2e7d32", "reported": "#6a4fb3", "skipped": "#8d99a6", "clean": "#607080",
            "ready": "#2e7d32", "unreachable": "#c62828", "needs_credentials": "#c62828", "needs_consent": "#d98b00",
            "needs_role": "#d98b00", "needs_delegation": "#d98b00", "unproven": "#8d99a6"}
_LABELS = {"error": "error", "drifted": "drifted since the audit", "manual": "manual action needed",
           "would_change": "would change", "changed": "changed", "reported": "reported only",
           "skipped": "not in the reviewed plan", "clean": "clean", "ready": "ready", "unreachable": "unreachable",
           "needs_credentials": "needs credentials", "needs_consent": "needs consent", "needs_role": "needs a role",
           "needs_delegation": "needs delegation", "unproven": "unproven"}
# The summary cards at the top of the page: (summary key, label).
_CARDS = [("domains", "domains"), ("error", "errors"), ("drifted", "drifted"), ("manual", "need manual action"),
          ("would_change", "would change"), ("changed", "changed"), ("reported", "reported only"),
          ("skipped", "not in plan"), ("clean", "clean"), ("removed", "objects removed"),
          ("planned", "changes planned")]


# A preflight's cards: ready, then what is missing (most serious first), then errors.
_PREFLIGHT_CARDS = [("domains", "domains"), ("ready", "ready")] + [(s, _LABELS[s]) for s in PREFLIGHT_STATUSES[:-1]] \
    + [("error", "errors")]


def to_html(record):
    """The report page (module_utils/_report_html.py draws it)."""
    cards = _PREFLIGHT_CARDS if record["run"].get("mode") == "preflight" else _CARDS
    return _report_html.render(record, _COLOURS, _LABELS, cards)
