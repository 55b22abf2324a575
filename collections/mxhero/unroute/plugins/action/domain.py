# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""mxhero.unroute.domain: one domain's platform and DNS steps in one call (see plugin_utils/_domain_run.py)."""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.mxhero.unroute.plugins.module_utils import _domain
from ansible_collections.mxhero.unroute.plugins.plugin_utils import _domain_run
from ansible_collections.mxhero.unroute.plugins.plugin_utils._inprocess import InProcessAction, task_environment

# Loaded in the controller's main process before the per-host workers fork: they inherit the step modules.
_domain_run.import_step_modules()

MAIL_SERVERS_SKIP = ("its platform steps run on its mail servers over SSH (unroute_mta_hosts): they are tasks of "
                     "the role (tasks/task_path.yml), not part of this action")


class ActionModule(InProcessAction):
    # The task's environment and the play's budgets reach the steps as they reach each module's own action.
    def run(self, tmp=None, task_vars=None):
        result = ActionBase.run(self, tmp, task_vars)
        task_vars = task_vars or {}
        args = self._task.args
        unknown = sorted(set(args) - {"planned", "restoring"})
        if unknown:
            result.update(failed=True, msg="mxhero.unroute.domain: unknown option(s) %s; it takes planned and "
                          "restoring" % ", ".join(unknown))
            return result
        check_mode, diff_mode = self._modes()
        dv = _domain_run.domain_vars(self._templar, task_vars)
        try:
            mail_servers = _domain.needs_mail_servers(dv)
        except Exception:  # pylint: disable=broad-exception-caught
            mail_servers = False  # prepare() words the template error as this domain's error
        if mail_servers:
            # Never DNS alone: the mail servers must stop relaying through mxHero first.
            result.update(changed=False, skipped=True, skip_reason=MAIL_SERVERS_SKIP)
            return result
        planned, restoring = args.get("planned", _domain_run.ABSENT), args.get("restoring", _domain_run.ABSENT)
        try:
            env = self._task_environment()
        except Exception as err:  # pylint: disable=broad-exception-caught
            entry = _domain_run.prepare(dv, check_mode, planned, restoring)["entry"]
            entry["errors"] = [{"task": "Platform and DNS", "drifted": False,
                                "msg": "%s: the task's environment could not be read: %s; give environment as a "
                                       "mapping of variable names to strings" % (entry["domain"], err)}]
        else:
            with task_environment(env), self._budgets(task_vars):
                entry = _domain_run.run_domain(dv, check_mode, diff_mode, planned=planned, restoring=restoring)
        result.update(changed=_domain_run.entry_status(entry) == "changed", entry=entry,
                      warnings=_domain_run.warnings_of(entry))
        diffs = _diffs(entry) if diff_mode else []
        if diffs:
            result["diff"] = diffs
        if entry["errors"]:
            # The domain stops at its first error, as a task of its own would: failed, with that error's one line.
            # Its entry still carries the error (and whatever ran before it) for the report.
            result.update(failed=True, msg=entry["errors"][0]["msg"])
        return result


def _diffs(entry):
    """Every step's diff, each headed by the step, as the callback shows a list of diffs (``--diff``)."""
    out = []
    for name, result in (entry.get("results") or {}).items():
        step = name[len("unroute_result_"):] if name.startswith("unroute_result_") else name
        items = result.get("results") if isinstance(result.get("results"), list) else [result]
        for item in items:
            diff = item.get("diff") if isinstance(item, dict) and item.get("changed") else None
            for one in diff if isinstance(diff, list) else [diff] if isinstance(diff, dict) else []:
                out.append(dict(one, before_header=one.get("before_header", step),
                                after_header=one.get("after_header", step)))
    return out
