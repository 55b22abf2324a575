# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one runner behind every module of the collection.

A module is DOCUMENTATION plus an ``ArgSpec`` and ``execute(params, ctx)``. The same
runner serves the module as a classic module (``main``) and in-process through the
collection's action plugins (plugin_utils/_inprocess.py), so validation, the result
shape (findings, diff, warnings, ``partial``) and secret scrubbing are built in one
place for every platform.
"""

from __future__ import annotations

import copy

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError, scrub
from ansible_collections.mxhero.unroute.plugins.module_utils._plan import EMPTY, module_digest

_CONSTRAINTS = ("mutually_exclusive", "required_together", "required_one_of", "required_if", "required_by")
_DONE = ("removed", "disabled", "changed", "added", "enabled")
# Options that name the customer domain (or, failing that, the object) a module works on, best first.
_LABEL_OPTIONS = ("domain", "zone", "host", "tenant_id")


class ArgSpec(object):
    """Options and the constraints between them, as one object.

    AnsibleModule and the in-process action validate with the same object, so a
    constraint can never hold in one path and not the other.
    """

    def __init__(self, options, **constraints):
        unknown = set(constraints) - set(_CONSTRAINTS)
        if unknown:
            raise TypeError("unknown constraint(s): %s" % ", ".join(sorted(unknown)))
        self.options = copy.deepcopy(dict(options))
        # required_by is a mapping (option -> options it needs); the others are lists.
        self.constraints = dict((k, dict(v) if k == "required_by" else list(v)) for k, v in constraints.items() if v)

    def extend(self, options=None, **constraints):
        """A new ArgSpec with more options and constraints (a module on top of its platform's spec)."""
        merged = copy.deepcopy(self.constraints)
        for key, value in constraints.items():
            if key == "required_by":
                merged.setdefault(key, {}).update(value or {})
            else:
                merged[key] = list(merged.get(key, [])) + list(value or [])
        spec = dict(self.options)
        spec.update(options or {})
        return ArgSpec(spec, **merged)

    def validate(self, args):
        # One validator per spec: it only reads the spec, and building it again for every domain's every
        # module was a tenth of an estate run.
        validator = self.__dict__.get("_validator")
        if validator is None:
            validator = self.__dict__["_validator"] = ArgumentSpecValidator(self.options, **self.constraints)
        return validator.validate(args)

    def module(self):
        return AnsibleModule(argument_spec=self.options, supports_check_mode=True, **self.constraints)


class RunContext(object):
    """What an engine gets from the runner, the same way on every platform.

    Callbacks, not collected state: an engine calls ``warn`` for what a mail
    administrator must hear, ``done`` after every write that took effect (so a later
    failure can say what was already changed), and ``secret`` for credentials it
    learns at run time (access tokens) so they are scrubbed like ``no_log`` options.
    """

    def __init__(self, check_mode=False, diff_mode=False, label=None):
        self.check_mode = bool(check_mode)
        self.diff_mode = bool(diff_mode)
        self.label = label
        self.cautions = []
        self.partial = []
        self.secrets = set()

    def warn(self, text):
        text = str(text)
        if text not in self.cautions:
            self.cautions.append(text)

    def done(self, what):
        self.partial.append(str(what))

    def secret(self, value):
        if value:
            self.secrets.add(str(value))


class Operation(object):
    """One module's work on its platform, as data rather than as a signature.

    A module declares its operation once and hands it to its platform's
    ``run(operation, params, ctx)``; the platform builds what every one of its
    modules needs (clients, fingerprint, engine), then calls
    ``perform(engine, params, ctx)``. ``needs`` are the platform's own switches
    for building less (``read_only``; Exchange's ``winrm`` and ``remote``), read
    with ``operation.need(name, default)``.
    """

    def __init__(self, perform, **needs):
        self.perform = perform
        self.needs = dict(needs)

    def need(self, name, default=False):
        return self.needs.get(name, default)

    def __call__(self, engine, params, ctx):
        return self.perform(engine, params, ctx)


def label_of(params):
    for option in _LABEL_OPTIONS:
        if (params or {}).get(option):
            return str(params[option]).rstrip(".")
    return None


def run(execute, params, check_mode=False, diff_mode=False, no_log_values=(), name="module"):
    """Call ``execute(params, ctx)`` and return the module result; never raises.

    The result always has ``changed``, ``findings``, ``removed``, ``added``, ``cautions``
    and ``warnings``; ``plan_digest`` unless it failed; ``diff`` in diff mode;
    ``failed``/``msg`` and, when something had already changed, ``partial`` on failure. Every ``no_log`` value and every secret an
    engine declared is scrubbed from all of it.
    """
    label = label_of(params)
    ctx = RunContext(check_mode, diff_mode, label)
    try:
        outcome = execute(params, ctx) or {}
        result = _shape(outcome, ctx)
    except UnrouteError as err:
        result = _failure(str(err), list(err.partial), ctx)
    except Exception as err:  # pylint: disable=broad-exception-caught
        # A library error nobody mapped, or a bug: still one line with the domain, never a traceback.
        head = "%s: " % label if label else ""
        result = _failure("%s%s failed unexpectedly: %s: %s; run again with -vvv and report this as a bug "
                          "of mxhero.unroute if it persists" % (head, name, type(err).__name__, err), [], ctx)
    secrets = set(str(v) for v in no_log_values or () if v) | ctx.secrets
    result = remove_values(result, secrets)
    for key in ("msg",):
        if key in result:
            result[key] = scrub(result[key], secrets)
    return result


def _shape(outcome, ctx):
    outcome = dict(outcome)
    before = outcome.pop("before", None)
    after = outcome.pop("after", None)
    for text in outcome.pop("warnings", None) or []:
        ctx.warn(text)
    result = dict(outcome)
    result["changed"] = bool(outcome.get("changed"))
    for key in ("findings", "removed", "added"):
        result[key] = list(outcome.get(key) or [])
    if ctx.diff_mode and before is not None:
        result["diff"] = {"before": before, "after": after}
    if not result.get("failed"):
        # Over the intended changes and the whole state read (diff mode or not): what an audit approves.
        result["plan_digest"] = module_digest(result["findings"], before)
        if result["plan_digest"] != EMPTY:
            # Kept in the audit record so that a plan check can recompute the digest from what the report shows.
            result["plan_state"] = before
    result["cautions"] = list(ctx.cautions)
    result["warnings"] = list(ctx.cautions) + _manual_warnings(result["findings"], ctx.label)
    if result.get("failed"):
        # A module may fail on purpose after doing part of its work (on_manual: fail): say what was done.
        done = ctx.partial or ["%s %s" % (f.get("action"), f.get("object")) for f in result["findings"]
                               if f.get("action") in _DONE]
        if done:
            result["partial"] = done
        result.setdefault("msg", "failed")
    return result


def _failure(msg, partial, ctx):
    done = list(partial)
    for item in ctx.partial:
        if item not in done:
            done.append(item)
    result = {"failed": True, "changed": bool(done), "msg": msg, "cautions": list(ctx.cautions),
              "warnings": list(ctx.cautions)}
    if done:
        result["partial"] = done
    return result


def _manual_warnings(findings, label):
    head = "%s: " % label if label else ""
    return ["%smanual action needed - %s: %s" % (head, f.get("object"), f.get("manual_steps"))
            for f in findings if f.get("action") == "manual" and f.get("manual_steps")]


def main(argspec, execute, name="module"):
    """Entry point of a classic module: the same runner, under AnsibleModule."""
    module = argspec.module()
    result = run(execute, module.params, module.check_mode, module._diff, module.no_log_values, name=name)
    for text in result.pop("warnings", []):
        module.warn(text)
    if result.pop("failed", False):
        msg = result.pop("msg")
        module.fail_json(msg=msg, **result)
    module.exit_json(**result)
