# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Preflight: prove, for one domain and without changing anything, what its real run will need.

``preflight(params, ctx)`` is the one entry point (the module calls it per host; the estate engine can call it
per domain). Each platform file returns checks; the domain's status is the most serious check that failed.
"""

from __future__ import annotations

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import scrub
# Imported with the module, not per call: Ansible loads the action plugin in its main process before forking a
# worker per task, so the platforms' libraries (googleapiclient, msal, pypsrp, boto3...) load once per run.
from ansible_collections.mxhero.unroute.plugins.module_utils._preflight import (
    dns, exchange, google, microsoft365, mta)
from ansible_collections.mxhero.unroute.plugins.module_utils._preflight.common import (  # noqa: F401
    ALL_STATUSES, READY, STATUSES, check, line, status_of)


def preflight(params, ctx):
    """Every check the domain's run needs, by platform; ``ctx`` is the runner's RunContext (warn, secret).

    ``params`` holds ``domain``, ``platform`` and one mapping of connection options per platform that applies
    (``dns``, ``microsoft365``, ``google``, ``exchange``), already validated, plus ``mta_results``.
    """
    domain = params["domain"]
    platform = params.get("platform") or "other"
    checks = []
    if platform == "microsoft365" and params.get("microsoft365") is not None:
        checks.extend(microsoft365.probe(domain, params["microsoft365"], ctx))
    if platform == "google" and params.get("google") is not None:
        checks.extend(google.probe(domain, params["google"], ctx, params.get("google_features") or {}))
    if platform == "exchange" and params.get("exchange") is not None:
        checks.extend(exchange.probe(domain, params["exchange"], ctx, params.get("exchange_servers") or []))
    checks.extend(mta.probe(domain, params.get("mta_results") or []))
    if params.get("dns") is not None:
        checks.extend(dns.probe(domain, params["dns"], ctx))
    for item in checks:
        for key in ("detail", "fix"):
            item[key] = scrub(item[key], ctx.secrets)
    status = status_of(checks)
    for item in checks:
        if not item["ok"]:
            ctx.warn(line(domain, item))
    unproven = [line(domain, c) for c in checks if c["ok"] and not c["proven"]]
    missing = [line(domain, c) for c in checks if not c["ok"]]
    return {"changed": False, "status": status, "checks": checks, "missing": missing, "unproven": unproven}
