# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every MTA engine shares: the action word of a finding, and refusals that an audit only reports."""

from __future__ import annotations

from ansible_collections.mxhero.unroute.plugins.module_utils._findings import planned


class Engine(object):
    """``audit`` (mta_info): findings read ``reported`` and a refusal is kept for the caller to say, not raised."""

    audit = False

    def action(self, new):
        if self.audit:
            return "reported"
        return planned("changed" if new else "removed", self.check_mode)

    def refuse(self, err):
        if not self.audit:
            raise err
        if str(err) not in self.refusals:
            self.refusals.append(str(err))
