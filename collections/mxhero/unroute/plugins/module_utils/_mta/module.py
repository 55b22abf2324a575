# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mail-server platform (docs/conventions.md, "Platform contract"): ARGSPEC and run(operation, params, ctx).

Picks the MTA, plans its findings, applies them (or not, in check mode) and reloads it.
"""

from __future__ import annotations

import functools
import socket

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._fingerprint import (
    fingerprint_argument_spec, fingerprint_from_params)
from ansible_collections.mxhero.unroute.plugins.module_utils._mta import _files, queue
from ansible_collections.mxhero.unroute.plugins.module_utils._mta.detect import detect
from ansible_collections.mxhero.unroute.plugins.module_utils._mta.exim import Exim
from ansible_collections.mxhero.unroute.plugins.module_utils._mta.postfix import Postfix
from ansible_collections.mxhero.unroute.plugins.module_utils._mta.relay import (
    exim_host, parse_replacement, resolve_problem, sendmail_host)
from ansible_collections.mxhero.unroute.plugins.module_utils._mta.sendmail import Sendmail
from ansible_collections.mxhero.unroute.plugins.module_utils._runner import ArgSpec

# The options every mta_* module takes, declared once (AnsiballZ ships this file with each of them).
OPTIONS = dict(
    mta=dict(type="str", default="auto", choices=["auto", "postfix", "exim", "sendmail"]),
    config_dir=dict(type="path"),
)
OPTIONS.update(fingerprint_argument_spec())
ARGSPEC = ArgSpec(OPTIONS)


def host_name():
    return socket.gethostname() or "localhost"


def run(operation, params, ctx):
    """The platform contract's run: picks the MTA and builds its engine, then ``operation(engine, params, ctx)``.

    A ``read_only`` operation (mta_info) gets an engine that plans as in check mode whatever the task's mode.
    """
    host = host_name()
    try:
        fp = fingerprint_from_params(params)
    except ValueError as err:
        raise UnrouteError(host, "mxhero_ips", str(err), "list IP addresses or networks only")
    replacement = None
    if params.get("state") == "replaced":
        replacement = parse_replacement(params.get("replacement"), fp, host)
    elif params.get("replacement"):
        raise UnrouteError(host, "replacement", "is only used with state=replaced",
                           "set state=replaced, or drop replacement")
    config_dir = params.get("config_dir")
    mta = params.get("mta") or "auto"
    if mta == "auto":
        mta = detect(host, config_dir)
    common = dict(host=host, config_dir=config_dir, fingerprint=fp,
                  check_mode=ctx.check_mode or operation.need("read_only"),
                  backup=params.get("backup", True), replacement=replacement)
    if mta == "postfix":
        engine = Postfix(**common)
    else:
        engine = Exim(configtype=params.get("exim_configtype"), **common) if mta == "exim" else Sendmail(**common)
    return operation(engine, params, ctx)


def relay(engine, params, ctx):
    """mta_relay: apply the findings (or not, in check mode) and reload the MTA."""
    if engine.name == "postfix":
        return _postfix(engine, ctx)
    return _files_engine(engine, ctx)


def audit(engine, params, ctx):
    """mta_info: the findings mta_relay would act on (``reported``), what it would refuse, and the queue."""
    engine.audit = True
    planned = engine.plan()
    findings = planned[0]
    result = {"changed": False, "findings": findings, "mta": engine.name, "config_dir": engine.config_dir,
              "host": engine.host, "refusals": list(engine.refusals), "queued": []}
    for text in engine.refusals:
        ctx.warn("mta_relay would refuse: %s" % text)
    # Mail that leaves through the main relay: every queued message waits for it.
    routing = [e for f in findings if f["kind"] in ("relayhost", "transport", "smarthost")
               and f["object"].rsplit(" ", 1)[-1] in ("relayhost", "default_transport", "dc_smarthost")
               for e in f["evidence"]]
    reader = {"postfix": queue.postfix, "exim": queue.exim}.get(engine.name)
    if reader:
        result["queued"], caution = reader(engine, routing)
        if caution:
            ctx.warn(caution)
    return result


def _result(engine, findings, files, ctx):
    before, after = _files.diff_text(files)
    return {"changed": bool(findings) and any(old != new for old, new in files.values()), "findings": findings,
            "mta": engine.name, "config_dir": engine.config_dir, "host": engine.host,
            "files": sorted(p for p, (old, new) in files.items() if old != new),
            "backup_files": [], "reloaded": False,
            # What a restore needs: each place as it was (the backups hold the whole files).
            "removed": [f["before"] for f in findings if f["action"] not in ("manual", "reported")],
            # The state read, diff mode or not: the plan digest covers it; the runner shows it as diff only in
            # diff mode.
            "before": before, "after": after}


def _postfix(engine, ctx):
    findings, ops, tables = engine.plan()
    files = engine.simulate(ops, tables) if findings else {}
    result = _result(engine, findings, files, ctx)
    result["changed"] = bool(ops or tables)
    if ctx.check_mode or not result["changed"]:
        _caution_unresolved(engine, result, ctx, engine.nexthop)
        return result
    # Only once Postfix itself reads the new next hop back and it resolves is the change done (else undone).
    return _reload(engine, result, ctx, engine.apply(ops, tables),
                   lambda journal, reloaded: engine.verify(findings, journal, reloaded))


def _reload(engine, result, ctx, journal, verify):
    """After the files are written: reload, ``verify(journal, reloaded)`` (it undoes what fails), then done."""
    edited = "edited %s" % ", ".join(result["files"])
    try:
        reloaded = engine.reload()
    except UnrouteError as err:
        err.partial.append(edited)
        raise
    verify(journal, reloaded)
    ctx.done(edited)
    result["backup_files"] = journal.backup_files
    result["reloaded"] = reloaded
    return result


def _written(engine):
    if not engine.replacement:
        return None
    return (exim_host if engine.name == "exim" else sendmail_host)(engine.replacement)


def _caution_unresolved(engine, result, ctx, written):
    """Check mode cannot reload, but it can say now what the real run's resolution check will refuse."""
    problem = resolve_problem(engine.replacement) if result["changed"] and engine.replacement else None
    if problem:
        ctx.warn("%s: replacement %s: %s; a real run would put every file back" % (engine.host, written, problem))


def _files_engine(engine, ctx):
    findings, files = engine.plan()
    result = _result(engine, findings, files, ctx)
    if ctx.check_mode or not result["changed"]:
        missing = engine.tools_missing() if result["changed"] and hasattr(engine, "tools_missing") else []
        if missing:
            ctx.warn("%s: %s: a real run needs %s to rebuild sendmail.cf; install it first"
                     % (engine.host, engine.mc, ", ".join(missing)))
        _caution_unresolved(engine, result, ctx, _written(engine))
        return result
    return _reload(engine, result, ctx, engine.apply(files), functools.partial(_resolves, engine))


def _resolves(engine, journal, reloaded):
    """The new smarthost must resolve here before the change counts (Postfix is asked in more detail)."""
    problem = resolve_problem(engine.replacement) if engine.replacement else None
    if problem:
        engine.undo(journal, reloaded, "replacement %s" % _written(engine), problem)
