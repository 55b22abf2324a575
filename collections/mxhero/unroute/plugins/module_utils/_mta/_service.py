# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Is a daemon running (by its pid file), and reload or restart it through the init system."""

from __future__ import annotations

import os

from ansible_collections.mxhero.unroute.plugins.module_utils._mta import _cmd


def running(pid_files):
    for path in pid_files:
        try:
            with open(path) as handle:
                pid = int(handle.read().split()[0])
            os.kill(pid, 0)
            return True
        except (OSError, ValueError, IndexError):
            continue
    return False


def control(service, verb):
    """``invoke-rc.d``/``service``/``systemctl``, the first the host has; (rc, output)."""
    for tool, argv in (("systemctl", [verb, service]), ("invoke-rc.d", [service, verb]), ("service", [service, verb])):
        path = _cmd.which(tool)
        if path:
            return _cmd.run([path] + argv)
    return 127, "no systemctl, invoke-rc.d or service command"
