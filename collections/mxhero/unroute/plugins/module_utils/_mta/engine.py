# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every MTA engine shares: the action word of a finding, refusals that an audit only reports, the undo."""

from __future__ import annotations

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._findings import planned
from ansible_collections.mxhero.unroute.plugins.module_utils._mta import _cmd, _service


class Engine(object):
    """``audit`` (mta_info): findings read ``reported`` and a refusal is kept for the caller to say, not raised."""

    audit = False

    def __init__(self, host, fingerprint, replacement, check_mode, backup):
        self.host = host
        self.fp = fingerprint
        # A relay.Relay, parsed and checked; the text an MTA gets is built from it, never taken as typed.
        self.replacement = replacement
        self.check_mode = check_mode
        self.backup = backup
        self.refusals = []

    def action(self, new):
        if self.audit:
            return "reported"
        return planned("changed" if new else "removed", self.check_mode)

    def refuse(self, err):
        if not self.audit:
            raise err
        if str(err) not in self.refusals:
            self.refusals.append(str(err))

    # Exim and Sendmail: the service told to reload (``verb``) when the configuration in use changed, the pid
    # files that say it runs, and what to do when it refuses. Postfix reloads its own way.
    default_dir = service = verb = fix = None
    pid_files = ()

    def rebuild(self):
        """Build what the MTA reads from the restored source files (nothing to do by default)."""

    def reload(self):
        if self.config_dir != self.default_dir or not _service.running(list(self.pid_files)):
            return False
        rc, out = _service.control(self.service, self.verb)
        if rc != 0:
            raise UnrouteError(self.host, self.service, "%s failed: %s" % (self.verb, _cmd.one_line(out)),
                               self.fix)
        return True

    def undo(self, journal, reloaded, what, problem):
        """A change that took but cannot work (the new smarthost does not resolve): put it all back."""
        journal.restore()
        again = ""
        try:
            self.rebuild()
            if reloaded:
                again = " and %s %sed" % (self.service, self.verb) if self.reload() else ""
        except UnrouteError as err:
            again = "; then %s" % err.cause
        raise UnrouteError(self.host, what, "%s; every file was restored as it was%s" % (problem, again),
                           "give a replacement relay this mail server resolves and reaches, then run again")
