# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs one domain's steps (module_utils/_domain.py) through the one runner and returns its report entry.

Shared by the ``domain`` action (one host, the role) and the ``estate`` action (every target domain
from one task), so both engines stop at the same first error, check a reviewed plan the same way and
hand the report the same entry: the keys and values ``unroute_report_entry`` had when the role built
it from registered task results.
"""

from __future__ import annotations

import functools
import importlib
import os
import re

import jinja2
import jinja2.meta

from ansible.module_utils.common.parameters import remove_values
from ansible.template import is_trusted_as_template

from ansible_collections.mxhero.unroute.plugins.module_utils import _domain, _runner
from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.plugin_utils._inprocess import validator_notes

ABSENT = object()
_SKIPPED = {"skipped": True, "skip_reason": "reviewed plan check"}
_ROLE_DEFAULTS = os.path.join(os.path.dirname(__file__), "..", "..", "roles", "unroute", "defaults", "main.yml")
_MODULES = {}


def role_defaults(loader):
    """The role's defaults, read as Ansible reads them (templates trusted), under every host's own variables."""
    return dict(loader.load_from_file(os.path.normpath(_ROLE_DEFAULTS), trusted_as_template=True) or {})


# The role's default for unroute_dns_customer_zones: every inventory host. Templated per domain it cost
# O(hosts) each, O(hosts^2) for the estate; the inventory's names are taken once instead.
_ALL_HOSTS = "{{ groups['all'] | default([]) }}"


_JINJA = jinja2.Environment()
_ALIAS = re.compile(r"^\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$")


class InventoryZones(tuple):
    """The inventory's host names as customer zones: validated once for the whole run (run_module passes
    them by, as the argument spec would only check thousands of strings again for every module call)."""


def inventory_zones(variables):
    return InventoryZones(str.__str__(h) for h in (variables.get("groups") or {}).get("all") or ())


def _native(value):
    """A value as plain Python types: datatag-tagged strings and containers cost a deep copy each time a
    module's argument spec copies its parameters."""
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, dict):
        return dict((_native(k), _native(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)) and not isinstance(value, InventoryZones):
        return [_native(v) for v in value]
    return value


def _plain(value):
    """Whether a raw value holds no template at all (then templating it would return it unchanged)."""
    if isinstance(value, str):
        return "{" not in value
    if isinstance(value, dict):
        return all(_plain(k) and _plain(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return isinstance(value, InventoryZones) or all(_plain(v) for v in value)
    return value is None or isinstance(value, (bool, int, float))


# Names a template may call that depend on no host: lookup('file', ...) of the lab's and many users' TSIG secret.
_HOST_FREE = frozenset(("lookup", "query", "q"))


@functools.lru_cache(maxsize=256)
def _host_independent(text):
    """Whether a template names no variable at all (literals, filters, lookups): its value is the same for
    every host of a run, so the estate works it out once (a lookup per domain was a tenth of an audit)."""
    try:
        names = jinja2.meta.find_undeclared_variables(_JINJA.parse(text))
    except jinja2.TemplateError:
        return False
    return names <= _HOST_FREE


def domain_vars(templar, variables, zones=None, memo=None):
    """A domain's ``unroute_*`` variables, each templated (with everything the host sees) when first used.
    ``zones``: the inventory's names (InventoryZones) when the caller has them already (the estate, once);
    ``memo``: a dict the caller keeps for a run, where host-independent templates keep their value."""
    if str(variables.get("unroute_dns_customer_zones", "")).strip() == _ALL_HOSTS:
        variables = dict(variables, unroute_dns_customer_zones=zones if zones is not None
                         else inventory_zones(variables))
    templar = templar.copy_with_new_env(available_variables=variables)
    omit = variables.get("omit")

    def resolve(value, depth=0):
        shared = False
        if not _plain(value):
            trusted = isinstance(value, str) and is_trusted_as_template(value)
            # `{{ name }}` (the role's unroute_domain and unroute_dns_zone defaults) is that variable's value:
            # compiling the same template again for every domain was most of the engine's templating time.
            alias = _ALIAS.match(value) if trusted and depth < 8 else None
            if alias and alias.group(1) in variables:
                return resolve(variables[alias.group(1)], depth + 1)
            shared = memo is not None and trusted and _host_independent(str.__str__(value))
            if shared and value in memo:
                return memo[value]
            raw, value = value, templar.template(value)
        result = _domain.OMITTED if omit is not None and value == omit else _native(value)
        if shared:
            memo[raw] = result
        return result

    return _domain.DomainVars(variables, resolve)


def _module(name):
    if name not in _MODULES:
        _MODULES[name] = importlib.import_module("ansible_collections.mxhero.unroute.plugins.modules." + name)
    return _MODULES[name]


# Every module a domain's steps may call (module_utils/_domain.py), and the reviewed plan's check.
STEP_MODULES = ("dns_mx", "dns_spf", "dns_info", "dns_restore", "plan_check", "restore_steps", "exo_transport_rule",
                "exo_connector", "exo_info", "exo_restore", "google_gateway", "google_app_grants", "google_send_as",
                "google_restore", "exchange_transport_agent", "exchange_send_connector")


def import_step_modules():
    """Import every step's module now (once per process), not at a domain's first call.

    The strategy loads an action's class in the controller's main process before it forks a worker per host and
    task; what that import pulls in, every worker inherits. Imported lazily instead, each host's worker would
    import the DNS stack (dnspython, boto3, requests...) afresh: about 0.4 s of CPU a domain, more than the
    domain's own work. A module that cannot be imported here is imported, and fails in its own words, when a
    step calls it.
    """
    for name in STEP_MODULES:
        try:
            _module(name)
        except Exception:  # pylint: disable=broad-exception-caught
            pass


def run_module(module_name, args, check_mode, diff_mode):
    """One module call, validated and run exactly as its in-process action runs it."""
    module = _module(module_name)
    name = "mxhero.unroute." + module_name
    zones = args.get("customer_zones")
    if isinstance(zones, InventoryZones):
        args = dict(args)
        del args["customer_zones"]
    else:
        zones = None
    validated = module.ARGSPEC.validate(args)
    if zones is not None:
        validated.validated_parameters["customer_zones"] = zones
    no_log_values = validated._no_log_values
    notes = remove_values(validator_notes(validated), no_log_values)
    if validated.error_messages:
        label = _runner.label_of(args)
        head = "%s: " % label if label else ""
        msg = "%s%s: %s; fix the task's options" % (head, name, "; ".join(validated.error_messages))
        return dict(failed=True, changed=False, msg=remove_values(msg, no_log_values), **notes)
    result = _runner.run(module.execute, validated.validated_parameters, check_mode, diff_mode, no_log_values,
                         name=name)
    result["warnings"] = notes.pop("warnings", []) + list(result.get("warnings") or [])
    result.update(notes)
    return result


# What Ansible registers for a task whose condition is false (the role's mail-zone check, nothing written).
_CONDITION_FALSE = {"changed": False, "skipped": True, "skip_reason": "Conditional result was False"}


def run_step(step, check_mode, diff_mode, results=None):
    """A step's result; a list of options is one call per item, shaped as a registered loop result."""
    if isinstance(step.params, _domain.MailZoneCheck):
        params = step.params.complete(results or {})
        return dict(_CONDITION_FALSE) if params is None else run_module(step.module, params, check_mode, diff_mode)
    if not isinstance(step.params, list):
        return run_module(step.module, step.params, check_mode, diff_mode)
    items = [run_module(step.module, params, check_mode, diff_mode) for params in step.params]
    failed = any(r.get("failed") for r in items)
    return {"results": items, "changed": any(r.get("changed") for r in items), "failed": failed,
            "msg": "One or more items failed" if failed else "All items completed", "skipped": False}


def _steps_through(steps, check_mode, diff_mode, results, task_of=None):
    """Run steps in order into ``results``; the first failure (not ignored) stops them: its note, or None."""
    seen = {}
    for step in steps:
        result = run_step(step, check_mode, diff_mode, seen)
        seen["unroute_result_" + step.name] = result
        if results is not None:
            results["unroute_result_" + step.name] = result
        if result.get("failed") and not step.ignore_errors:
            return {"task": task_of(step) if task_of else step.task, "msg": result.get("msg", "failed"),
                    "drifted": bool(result.get("drifted", False))}
    return None


def prepare(dv, check_mode=False, planned=ABSENT, restoring=ABSENT):
    """What a domain will run, built from its variables (templating happens here, on the caller's thread).

    ``planned``: the reviewed plan's entry for this domain (None: not in the plan), ABSENT without a plan.
    ``restoring``: the run record's entry (None: not in the record), ABSENT unless this is a restore.
    """
    job = {"entry": None, "steps": [], "restore": restoring is not ABSENT, "planned": ABSENT, "failure": None,
           "dry_run": False}
    try:
        # The keys, in the order, of the role's unroute_report_entry (tasks/main.yml).
        entry = {"domain": dv.domain, "platform": dv.platform, "dns_provider": dv.get("dns_provider"),
                 "results": {}, "errors": [], "dry_run_only": _domain.dry_run_only(dv), "skipped": False}
        job["entry"] = entry
        job["dry_run"] = entry["dry_run_only"]
        planning = planned is not ABSENT and not check_mode
        if (restoring is not ABSENT and restoring is None) or (planning and planned is None):
            entry["skipped"] = True
            job["steps"] = None
        elif restoring is not ABSENT:
            job["steps"] = _domain.restore_steps(dv, restoring)
        else:
            job["steps"] = _domain.domain_steps(dv)
            if planning:
                job["planned"] = planned
    except UnrouteError as err:
        job["failure"] = {"task": "Platform and DNS", "msg": str(err), "drifted": False}
    except Exception as err:  # pylint: disable=broad-exception-caught
        # A variable that does not template is this domain's error, never the estate's.
        text = str(err).splitlines()[0] if str(err) else type(err).__name__
        job["failure"] = {"task": "Platform and DNS", "drifted": False,
                          "msg": "%s: its variables could not be templated: %s; fix the inventory" % (
                              dv.raw.get("inventory_hostname", "?"), text)}
    if job["entry"] is None:
        host = str(dv.raw.get("inventory_hostname", "?"))
        job["entry"] = {"domain": host, "platform": str(dv.raw.get("unroute_platform", "other")),
                        "dns_provider": str(dv.raw.get("unroute_dns_provider", "rfc2136")), "results": {},
                        "errors": [], "dry_run_only": False, "skipped": False}
    return job


def execute(job, check_mode=False, diff_mode=False):
    """Run a prepared domain: its report entry (``domain``, ``platform``, ``results``, ``errors``, ``skipped``)."""
    entry, steps, failure = job["entry"], job["steps"], job["failure"]
    results = entry["results"]
    if failure is None and steps is not None:
        if job["restore"]:
            if not check_mode:
                # Every restore in check mode first: an entry any module refuses stops the domain before any write.
                failure = _steps_through(steps, True, diff_mode, None, _domain.restore_check_task)
            if failure is None:
                failure = _steps_through(steps, check_mode, diff_mode, results)
        else:
            if job["planned"] is not ABSENT:
                failure = _steps_through(steps, True, diff_mode, results)
                if failure is None:
                    check = run_module("plan_check", {"domain": entry["domain"], "results": dict(results),
                                                      "approved": job["planned"]}, False, False)
                    if check.get("failed"):
                        failure = {"task": _domain.PLAN_CHECK_TASK, "msg": check.get("msg", "failed"),
                                   "drifted": bool(check.get("drifted", False))}
                    else:
                        # Only the real run's results are reported.
                        for name in list(results):
                            results[name] = dict(_SKIPPED)
            if failure is None:
                # unroute_dry_run_only: always audited, never changed, even in a real run.
                failure = _steps_through(steps, check_mode or job["dry_run"], diff_mode, results)
    if failure is not None:
        entry["errors"] = [failure]
    return entry


def run_domain(dv, check_mode=False, diff_mode=False, planned=ABSENT, restoring=ABSENT):
    """One domain, start to end, on this thread: its report entry."""
    return execute(prepare(dv, check_mode, planned, restoring), check_mode, diff_mode)


# The options that say which API account a step spends (a DNS provider's credentials, a tenant's app): domains
# of one account are spread among those of the others (interleaved), so that every account's budget is spent
# side by side instead of one account after the other.
_ACCOUNT_OPTIONS = ("provider", "server", "port", "cloudflare_api_token", "cloudflare_api_url", "aws_access_key",
                    "aws_profile", "aws_endpoint_url", "powerdns_api_url", "azure_subscription_id",
                    "azure_client_id", "gcp_project", "gcp_service_account_file", "lexicon_provider", "tenant_id",
                    "client_id", "credentials_file", "api_endpoint")


def account_of(job):
    """Which accounts a prepared domain spends: its first platform step's and its first DNS step's options."""
    steps = job.get("steps") or []
    chosen = steps[:1] + [s for s in steps if s.module.startswith("dns_")][:1]
    key = []
    for step in chosen:
        params = step.params[0] if isinstance(step.params, list) and step.params else step.params
        key.append(tuple(str((params or {}).get(option)) for option in _ACCOUNT_OPTIONS))
    return tuple(key)


def interleaved(jobs):
    """The jobs, round-robin over their accounts (each account's own order kept): an estate lists its domains
    by customer or provider, and run in that order the threads would wait on one account's budget at a time."""
    groups = {}
    for job in jobs:
        groups.setdefault(account_of(job), []).append(job)
    out = []
    for rank in range(max((len(g) for g in groups.values()), default=0)):
        out.extend(group[rank] for group in groups.values() if rank < len(group))
    return out


def entry_status(entry):
    """changed / error / ok, for the progress line."""
    if entry.get("errors"):
        return "error"
    flat = []
    for result in (entry.get("results") or {}).values():
        flat.extend(result.get("results") if isinstance(result.get("results"), list) else [result])
    if any(r.get("failed") for r in flat):
        return "error"
    if any(r.get("changed") for r in flat):
        return "changed"
    return "ok"


def warnings_of(entry):
    out = []
    for result in (entry.get("results") or {}).values():
        for item in result.get("results") if isinstance(result.get("results"), list) else [result]:
            out.extend(w for w in item.get("warnings") or [] if w not in out)
    return out
