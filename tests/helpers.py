"""Run collection modules in-process, exactly as Ansible would call main(), and read the result."""

from __future__ import annotations

import contextlib
import importlib
import io
import json

from pathlib import Path

from ansible.module_utils import _internal as ansible_internal
from ansible.module_utils.common import warnings as ansible_warnings
from ansible.module_utils.testing import patch_module_args

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ESTATE = ROOT / "lab" / "unroute_lab" / "estates" / "default.yml"


def run_module(name, args, check_mode=False, diff=False):
    """Result dict of ``mxhero.unroute.<name>`` run with ``args``; ``failed`` is set when it failed."""
    module = importlib.import_module("ansible_collections.mxhero.unroute.plugins.modules.%s" % name)
    params = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
    # Warnings live in a process-wide registry: start each in-process run with an empty one.
    ansible_warnings._global_warnings.clear()
    ansible_warnings._global_deprecations.clear()
    out = io.StringIO()
    # Once any controller code is imported in this process (action plugins, the inventory plugin),
    # module warnings would go to the controller's display instead of the result: run as a module does.
    was_controller = ansible_internal.is_controller
    ansible_internal.is_controller = False
    try:
        with patch_module_args(params), contextlib.redirect_stdout(out):
            try:
                module.main()
            except SystemExit:
                pass
    finally:
        ansible_internal.is_controller = was_controller
    text = out.getvalue()
    try:
        result = json.loads(text)
    except ValueError:
        raise AssertionError("module %s printed no JSON result: %r" % (name, text[-2000:]))
    # ansible-core 2.19 modules emit structured warnings; the controller shows their text.
    result["warnings"] = [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]
    return result


def dns_args(lab, zone, **extra):
    """Connection options for a lab's BIND and ``zone``."""
    dns = lab.dns
    args = dict(zone=zone, server=dns["server"], port=dns["port"], key_name=dns["key_name"],
                key_secret=lab.tsig_secret, key_algorithm=dns["key_algorithm"])
    args.update(extra)
    return args
