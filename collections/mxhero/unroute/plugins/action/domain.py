# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""mxhero.unroute.domain: one domain's platform and DNS steps in one call (see plugin_utils/_domain_run.py)."""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.mxhero.unroute.plugins.plugin_utils import _domain_run


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = self._task.args
        unknown = sorted(set(args) - {"planned", "restoring"})
        if unknown:
            result.update(failed=True, msg="mxhero.unroute.domain: unknown option(s) %s; it takes planned and "
                          "restoring" % ", ".join(unknown))
            return result
        check_mode = bool(self._task.check_mode if self._task.check_mode is not None else self._play_context.check_mode)
        diff_mode = bool(self._task.diff if self._task.diff is not None else self._play_context.diff)
        dv = _domain_run.domain_vars(self._templar, task_vars)
        entry = _domain_run.run_domain(dv, check_mode, diff_mode, planned=args.get("planned", _domain_run.ABSENT),
                                       restoring=args.get("restoring", _domain_run.ABSENT))
        result.update(changed=_domain_run.entry_status(entry) == "changed", entry=entry,
                      warnings=_domain_run.warnings_of(entry))
        if entry["errors"]:
            # The domain's error is in its entry (and so in the report); the play goes on with the other domains.
            result["msg"] = entry["errors"][0]["msg"]
        return result
