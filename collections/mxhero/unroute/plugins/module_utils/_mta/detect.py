# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which MTA a host runs (mta=auto): what is configured, and of those what is running."""

from __future__ import annotations

import os

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._mta import _cmd, _service

# A configuration file that only that MTA has, in config_dir or in its default directory.
_MARKERS = (
    ("postfix", "main.cf", "/etc/postfix"),
    ("exim", "update-exim4.conf.conf", "/etc/exim4"),
    ("exim", "exim4.conf", "/etc/exim4"),
    ("sendmail", "sendmail.mc", "/etc/mail"),
)
_PIDS = {
    "postfix": ["/var/spool/postfix/pid/master.pid"],
    "exim": ["/run/exim4/exim.pid", "/var/run/exim4/exim.pid"],
    "sendmail": ["/run/sendmail/mta/sendmail.pid", "/var/run/sendmail.pid"],
}


def detect(host, config_dir=None):
    found = []
    for mta, marker, default in _MARKERS:
        directory = config_dir or default
        if os.path.isfile(os.path.join(directory, marker)) and mta not in found:
            if mta == "postfix" and not _cmd.which("postconf"):
                continue
            found.append(mta)
    if len(found) == 1:
        return found[0]
    if not found:
        raise UnrouteError(host, config_dir or "/etc/postfix, /etc/exim4, /etc/mail",
                           "no Postfix, Exim or Sendmail configuration found",
                           "set mta and config_dir to the mail server this host runs")
    live = [mta for mta in found if _service.running(_PIDS[mta])]
    if len(live) == 1:
        return live[0]
    raise UnrouteError(host, config_dir or "/etc", "found the configuration of %s and cannot tell which one "
                       "handles mail (%s running)" % (", ".join(found), ", ".join(live) or "none"),
                       "set mta to postfix, exim or sendmail")
