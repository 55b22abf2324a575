# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin base that runs a module's ``execute`` in the controller's worker process.

The collection's modules only ever run on the controller (connection local) and
talk to remote APIs themselves. Running them in-process skips starting a new
Python and unpacking AnsiballZ for every domain and task, which is most of what a
large audit costs. Validation, no_log handling and results are the same as for
the module (the module file is the single source of spec and logic).
"""

from __future__ import annotations

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.plugins.action import ActionBase

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError, scrub


class InProcessAction(ActionBase):
    """Subclasses set ``MODULE``: the module object, with ``argument_spec()`` and ``execute()``."""

    MODULE = None
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super(InProcessAction, self).run(tmp, task_vars)
        constraints = getattr(self.MODULE, "CONSTRAINTS", {})
        validated = ArgumentSpecValidator(self.MODULE.argument_spec(), **constraints).validate(self._task.args)
        no_log_values = validated._no_log_values
        if validated.error_messages:
            result.update(failed=True, msg=remove_values("; ".join(validated.error_messages), no_log_values))
            return result
        check_mode = bool(self._task.check_mode if self._task.check_mode is not None else
                          self._play_context.check_mode)
        diff_mode = bool(self._task.diff if self._task.diff is not None else self._play_context.diff)
        try:
            outcome = self.MODULE.execute(validated.validated_parameters, check_mode, diff_mode)
        except UnrouteError as err:
            result.update(failed=True, msg=scrub(str(err), no_log_values))
            if err.partial:
                result["partial"] = err.partial
            return result
        result.update(remove_values(outcome, no_log_values))
        return result
