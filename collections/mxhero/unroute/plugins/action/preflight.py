# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs mxhero.unroute.preflight in the controller process (see plugin_utils/_inprocess.py)."""

from __future__ import annotations

from ansible_collections.mxhero.unroute.plugins.modules import preflight
from ansible_collections.mxhero.unroute.plugins.plugin_utils._inprocess import InProcessAction


class ActionModule(InProcessAction):
    MODULE = preflight
