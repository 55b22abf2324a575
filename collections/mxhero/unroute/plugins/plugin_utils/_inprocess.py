# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin base that runs a module through the one runner in the controller's worker process.

The collection's modules only ever run on the controller and talk to remote APIs
themselves. Running them in-process skips starting a new Python and unpacking
AnsiballZ for every domain and task, which is most of what a large audit costs.
Validation, no_log handling and the result shape are the runner's
(module_utils/_runner.py), exactly as when the module runs as a classic module.
"""

from __future__ import annotations

import contextlib
import os

from ansible.module_utils.common.parameters import remove_values
from ansible.plugins.action import ActionBase

from ansible_collections.mxhero.unroute.plugins.module_utils import _budget, _runner

# delegate_to these is still this controller, where the module runs anyway.
_CONTROLLER_NAMES = ("localhost", "127.0.0.1", "::1")


@contextlib.contextmanager
def task_environment(env):
    """The task's ``environment:`` in os.environ for the duration of the call, then put back.

    A classic module gets the task environment in its process; here the module shares
    the worker's process, so proxy variables (HTTPS_PROXY, NO_PROXY...) must be set
    around the call for requests, httplib2 and boto3 to see them. Each task runs in its
    own forked worker, so nothing leaks to other hosts.
    """
    saved = {}
    try:
        for key, value in env.items():
            key = str(key)
            saved[key] = os.environ.get(key)
            os.environ[key] = "" if value is None else str(value)
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def validator_notes(validated):
    """The argument validator's warnings and deprecations, worded as AnsibleModule words them.

    A classic module hears them from ModuleArgumentSpecValidator (an option set together with its
    alias, a deprecated alias or option); the plain validator used here only collects them, so without
    this a play would never see them for the collection's modules.
    """
    notes = {}
    warnings = ["Both option %s and its alias %s are set." % (w["option"], w["alias"]) for w in validated._warnings]
    if warnings:
        notes["warnings"] = warnings
    deprecations = [dict((k, d.get(k)) for k in ("msg", "version", "date", "collection_name"))
                    for d in validated._deprecations]
    if deprecations:
        notes["deprecations"] = deprecations
    return notes


class InProcessAction(ActionBase):
    """Subclasses set ``MODULE``: the module object, with ``ARGSPEC`` and ``execute(params, ctx)``."""

    MODULE = None
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super(InProcessAction, self).run(tmp, task_vars)
        name = self._task.action
        args = self._task.args
        label = _runner.label_of(args)
        head = "%s: " % label if label else ""
        delegate = self._task.delegate_to
        if delegate and str(delegate) not in _CONTROLLER_NAMES:
            result.update(failed=True, msg="%s%s runs on the controller and talks to its API itself, so delegate_to "
                          "(%s) has no meaning for it; remove delegate_to from the task" % (head, name, delegate))
            return result
        try:
            env = self._task_environment()
        except Exception as err:  # pylint: disable=broad-exception-caught
            result.update(failed=True, msg="%s%s: the task's environment could not be read: %s; give environment as a "
                          "mapping of variable names to strings" % (head, name, err))
            return result
        # Options with an environment fallback (CLOUDFLARE_API_TOKEN...) see the task's environment, as a
        # classic module would in its own process.
        with task_environment(env):
            validated = self.MODULE.ARGSPEC.validate(args)
        no_log_values = validated._no_log_values
        notes = remove_values(validator_notes(validated), no_log_values)
        if validated.error_messages:
            msg = "%s%s: %s; fix the task's options" % (head, name, "; ".join(validated.error_messages))
            result.update(failed=True, msg=remove_values(msg, no_log_values), **notes)
            return result
        check_mode, diff_mode = self._modes()
        with task_environment(env), self._budgets(task_vars or {}):
            outcome = _runner.run(self.MODULE.execute, validated.validated_parameters, check_mode, diff_mode,
                                  no_log_values, name=name)
        result.update(outcome)
        # The validator's words come first, as a classic module prints them before its own.
        result["warnings"] = notes.pop("warnings", []) + list(result.get("warnings") or [])
        result.update(notes)
        return result

    def _modes(self):
        """(check mode, diff mode) as the task and the play set them."""
        check_mode = self._task.check_mode if self._task.check_mode is not None else self._play_context.check_mode
        diff_mode = self._task.diff if self._task.diff is not None else self._play_context.diff
        return bool(check_mode), bool(diff_mode)

    @contextlib.contextmanager
    def _budgets(self, task_vars, slices=None):
        """The play's ``unroute_budgets`` and the slice count (``slices``, else the play's ``unroute_job_slices``)
        for the API budgets (_budget.py) while the task runs; a value that is not a mapping / a number is ignored
        (the vendors' defaults hold). Yields the slice count in force."""
        overrides = self._templar.template(task_vars.get("unroute_budgets")) if "unroute_budgets" in task_vars \
            else None
        if slices is None and "unroute_job_slices" in task_vars:
            slices = self._templar.template(task_vars.get("unroute_job_slices"))
        previous = _budget.configure(overrides if isinstance(overrides, dict) else None, slices)
        try:
            yield _budget._slices()  # pylint: disable=protected-access  # the count in force, for a summary
        finally:
            _budget.configure(**previous)

    def _task_environment(self):
        """The task's ``environment:`` keyword, merged and templated as ActionBase does for remote modules."""
        environments = self._task.environment or []
        if not isinstance(environments, list):
            environments = [environments]
        final = {}
        for environment in environments:
            if not environment:
                continue
            value = self._templar.template(environment)
            if not isinstance(value, dict):
                raise TypeError("environment must be a dictionary, got %r" % type(value).__name__)
            final.update(value)
        return final
