# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One error type whose text names the domain, the object, the cause and the fix."""

from __future__ import annotations


class UnrouteError(Exception):
    """Raised by engines and clients; modules turn it into ``fail_json(msg=str(err))``.

    ``partial`` lists what was already done when the error struck, so that a
    module never reports a half-applied change as success and the user can see
    what to undo or redo.
    """

    def __init__(self, domain, obj, cause, fix=None, partial=None):
        self.domain = domain
        self.obj = obj
        self.cause = cause
        self.fix = fix
        self.partial = list(partial or [])
        super(UnrouteError, self).__init__(self.message())

    def message(self):
        head = "%s: " % self.domain if self.domain else ""
        where = "%s: " % self.obj if self.obj else ""
        text = "%s%s%s" % (head, where, self.cause)
        if self.fix:
            text += "; %s" % self.fix
        return text


def scrub(text, secrets):
    """Remove every secret value from ``text`` (errors may quote server replies)."""
    out = str(text)
    for secret in secrets or ():
        if secret and len(str(secret)) >= 4:
            out = out.replace(str(secret), "********")
    return out
