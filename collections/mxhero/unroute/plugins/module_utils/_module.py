# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a module's ``execute(params, check_mode, diff_mode)`` under AnsibleModule.

Every module of the collection is written as a pure ``execute`` function plus its
argument spec, so that the same code runs as a classic module and, through the
collection's action plugins, in-process on the controller (plugin_utils/_inprocess.py).
"""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError, scrub


def run_module(spec, execute, **constraints):
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True, **constraints)
    try:
        result = execute(module.params, module.check_mode, module._diff)
    except UnrouteError as err:
        module.fail_json(msg=scrub(str(err), module.no_log_values), **_partial(err))
    for warning in result.pop("warnings", []):
        module.warn(warning)
    module.exit_json(**result)


def _partial(err):
    return {"partial": err.partial} if err.partial else {}
