# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run record (JSON) and the report (one self-contained HTML page) of an audit or a real run."""

from __future__ import annotations

import html
import json

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
    return {"domain": entry.get("domain"), "platform": entry.get("platform", "other"), "status": status,
            "plan_digest": digest, "evidence_rank": _evidence_rank(findings), "findings": findings, "removed": removed,
            "added": added, "manual_actions": manual, "verification": verification,
            "warnings": warnings, "errors": errors, "modules": modules, "checks": checks}


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


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1d2530;background:#f7f8fa}
h1{font-size:1.5rem;margin:0 0 .3rem} h2{font-size:1.15rem;margin:0} .sub{color:#5b6675;margin-bottom:1.2rem}
.cards{display:flex;flex-wrap:wrap;gap:.6rem;margin:1rem 0 1.6rem}
.card{background:#fff;border:1px solid #dde2e8;border-radius:8px;padding:.6rem .9rem;min-width:7.5rem}
.card b{display:block;font-size:1.5rem} .card span{color:#5b6675;font-size:.85rem}
section.domain{background:#fff;border:1px solid #dde2e8;border-left:6px solid #9aa5b1;border-radius:8px;
 padding:.8rem 1rem;margin:0 0 1rem}
.head{display:flex;gap:.8rem;align-items:center;flex-wrap:wrap;margin-bottom:.5rem}
.badge{border-radius:999px;padding:.1rem .6rem;font-size:.8rem;font-weight:600;color:#fff}
.platform{color:#5b6675;font-size:.9rem}
table{border-collapse:collapse;width:100%;font-size:.88rem;margin:.3rem 0}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #edf0f3;vertical-align:top}
th{color:#5b6675;font-weight:600} code{font-size:.85rem;word-break:break-all}
.manual{background:#fff7e6;border:1px solid #f0c36d;border-radius:6px;padding:.5rem .7rem;margin:.4rem 0}
.error{background:#fdecec;border:1px solid #e59a9a;border-radius:6px;padding:.5rem .7rem;margin:.4rem 0}
.warn{background:#fffbe6;border:1px solid #e6d47a;border-radius:6px;padding:.4rem .7rem;margin:.4rem 0}
.none{color:#5b6675;font-style:italic}
"""
_COLOURS = {"error": "#c62828", "drifted": "#ad1457", "manual": "#d98b00", "would_change": "#1565c0",
            "changed": "#2e7d32", "reported": "#6a4fb3", "skipped": "#8d99a6", "clean": "#607080",
            "ready": "#2e7d32", "unreachable": "#c62828", "needs_credentials": "#c62828", "needs_consent": "#d98b00",
            "needs_role": "#d98b00", "needs_delegation": "#d98b00", "unproven": "#8d99a6"}
_LABELS = {"error": "error", "drifted": "drifted since the audit", "manual": "manual action needed",
           "would_change": "would change", "changed": "changed", "reported": "reported only",
           "skipped": "not in the reviewed plan", "clean": "clean", "ready": "ready", "unreachable": "unreachable",
           "needs_credentials": "needs credentials", "needs_consent": "needs consent", "needs_role": "needs a role",
           "needs_delegation": "needs delegation", "unproven": "unproven"}
_ACTION_COLOURS = {"removed": "#2e7d32", "disabled": "#2e7d32", "added": "#2e7d32", "changed": "#2e7d32",
                   "enabled": "#2e7d32", "would_enable": "#1565c0",
                   "would_remove": "#1565c0", "would_disable": "#1565c0", "would_add": "#1565c0",
                   "would_change": "#1565c0", "manual": "#d98b00", "reported": "#6a4fb3", "kept": "#607080"}


def _e(value):
    return html.escape("" if value is None else str(value))


def to_html(record):
    run, summary = record["run"], record["summary"]
    if run.get("mode") == "preflight":
        title = "mxHero unroute preflight (nothing changed)"
    elif run.get("mode") == "restore":
        # The restore view: what was put back, and what a person must still put back by hand.
        title = "mxHero unroute restore%s" % (" plan (check mode, nothing changed)" if run["check_mode"] else "")
    else:
        title = "mxHero unroute %s" % ("audit (check mode, nothing changed)" if run["check_mode"] else "run")
    out = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
           "<meta name='viewport' content='width=device-width,initial-scale=1'>",
           "<title>%s</title><style>%s</style></head><body>" % (_e(title), _CSS),
           "<h1>%s</h1>" % _e(title),
           "<div class='sub'>%s to %s &middot; %d domains%s</div>"
           % (_e(run["started"]), _e(run["finished"]), summary["domains"],
              # Names the JSON record this page shows, so a reviewer can tell which file to apply.
              " &middot; run <code class='run-id'>%s</code>" % _e(run["id"]) if run.get("id") else "")]
    out.append("<div class='cards' id='summary'>")
    cards = [("domains", "domains"), ("error", "errors"), ("drifted", "drifted"), ("manual", "need manual action"),
             ("would_change", "would change"), ("changed", "changed"), ("reported", "reported only"),
             ("skipped", "not in plan"), ("clean", "clean"), ("removed", "objects removed"),
             ("planned", "changes planned")]
    if run.get("mode") == "preflight":
        cards = [("domains", "domains"), ("ready", "ready")] + [(s, _LABELS[s]) for s in PREFLIGHT_STATUSES[:-1]] \
            + [("error", "errors")]
    for key, label in cards:
        colour = _COLOURS.get(key, "#1d2530")
        out.append("<div class='card' data-key='%s'><b style='color:%s'>%d</b><span>%s</span></div>"
                   % (key, colour, summary.get(key, 0), _e(label)))
    out.append("</div>")
    for dom in record["domains"]:
        colour = _COLOURS[dom["status"]]
        out.append("<section class='domain' id='%s' data-status='%s' style='border-left-color:%s'>"
                   % (_e(dom["domain"]), dom["status"], colour))
        out.append("<div class='head'><h2>%s</h2><span class='badge' style='background:%s'>%s</span>"
                   "<span class='platform'>%s</span>%s</div>" % (
                       _e(dom["domain"]), colour, _e(_LABELS[dom["status"]]), _e(dom["platform"]),
                       "<code class='digest' title='plan digest: unroute.yml -e unroute_plan=... applies this domain "
                       "only while its fresh plan has this digest'>plan %s</code>" % _e(dom["plan_digest"][:12])
                       if dom.get("plan_digest") and run["check_mode"] else ""))
        for err in dom["errors"]:
            out.append("<div class='error'><b>Error</b> (%s): %s</div>" % (_e(err["module"]), _e(err["msg"])))
        for item in dom["manual_actions"]:
            out.append("<div class='manual'><b>Do by hand</b> &ndash; %s: %s</div>"
                       % (_e(item.get("object")), _e(item.get("steps") or item.get("manual_steps"))))
        for warning in dom["warnings"]:
            out.append("<div class='warn'>Warning: %s</div>" % _e(warning))
        if dom["findings"]:
            out.append("<table><thead><tr><th>Object</th><th>Kind</th><th>Evidence</th><th>Action</th></tr>"
                       "</thead><tbody>")
            for f in dom["findings"]:
                action = f.get("action", "")
                out.append("<tr><td><code>%s</code></td><td>%s</td><td>%s</td>"
                           "<td><span class='badge' style='background:%s'>%s</span>%s</td></tr>"
                           % (_e(f.get("object")), _e(f.get("kind")), _e("; ".join(f.get("evidence") or [])),
                              _ACTION_COLOURS.get(action, "#607080"), _e(action),
                              (" <small>%s</small>" % _e(f["why"])) if f.get("why") else ""))
            out.append("</tbody></table>")
        elif not dom["errors"] and run.get("mode") != "preflight":
            out.append("<p class='none'>No mxHero leftovers found.</p>")
        out.extend(_verification_html(dom.get("verification") or []))
        out.extend(_checks_html(dom.get("checks") or []))
        out.append("</section>")
    out.append("</body></html>")
    return "\n".join(out)


_STATE_COLOURS = {"current": "#2e7d32", "stale": "#c62828", "unreachable": "#d98b00"}


def _verification_html(rows):
    """The domain's authoritative servers after the change: which serve it, which do not (yet)."""
    if not rows:
        return []
    out = ["<table class='verification'><thead><tr><th>Nameserver</th><th>Address</th><th>Serves the change"
           "</th><th>Waited</th><th>RRsets</th></tr></thead><tbody>"]
    for row in rows:
        state = row.get("state", "")
        out.append("<tr data-state='%s'><td><code>%s</code></td><td><code>%s</code></td>"
                   "<td><span class='badge' style='background:%s'>%s</span>%s</td><td>%ss</td><td>%s</td></tr>"
                   % (_e(state), _e(row.get("server")), _e(row.get("address") or "-"),
                      _STATE_COLOURS.get(state, "#607080"), _e(state),
                      (" <small>%s</small>" % _e(row["detail"])) if row.get("detail") else "",
                      _e(row.get("waited")), _e(", ".join(row.get("rrsets") or []))))
    out.append("</tbody></table>")
    return out


def _checks_html(rows):
    """A preflight's checks: what was proven, what is missing and its fix, what could not be proven."""
    if not rows:
        return []
    out = ["<table class='checks'><thead><tr><th>Platform</th><th>Object</th><th>Check</th><th>Result</th>"
           "<th>Detail</th><th>Fix</th></tr></thead><tbody>"]
    for row in rows:
        state = "ok" if row.get("ok") and row.get("proven") else "unproven" if row.get("ok") else row.get("status")
        out.append("<tr data-state='%s'><td>%s</td><td><code>%s</code></td><td>%s</td>"
                   "<td><span class='badge' style='background:%s'>%s</span></td><td>%s</td><td>%s</td></tr>"
                   % (_e(state), _e(row.get("platform")), _e(row.get("object")), _e(row.get("check")),
                      _COLOURS.get(state, "#2e7d32"), _e(state), _e(row.get("detail")), _e(row.get("fix"))))
    out.append("</tbody></table>")
    return out
