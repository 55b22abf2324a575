# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    # Descriptions only; each module states its own level of support.
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
  idempotent:
    description:
      - When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change.
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
    details:
      - The module runs whole in the controller's worker process, through the collection's action plugin and the
        same runner as the module file; the task's C(environment) (for example C(HTTPS_PROXY)) applies for the call.
  async:
    description: Supports being used with the C(async) keyword.
    support: none
  delegation:
    description: Can be used in conjunction with delegate_to and related keywords.
    support: none
    details:
      - The module always runs on the controller and talks to its API itself; C(delegate_to) a host other than
        V(localhost) is refused with an error.
"""

    ACTIONGROUP_DNS = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/mxhero.unroute.dns) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - mxhero.unroute.dns
"""
