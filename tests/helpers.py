"""Run collection modules in-process, exactly as Ansible would call main(), and read the result."""

from __future__ import annotations

import contextlib
import importlib
import io
import json

from ansible.module_utils.testing import patch_module_args


def run_module(name, args, check_mode=False, diff=False):
    """Result dict of ``mxhero.unroute.<name>`` run with ``args``; ``failed`` is set when it failed."""
    module = importlib.import_module("ansible_collections.mxhero.unroute.plugins.modules.%s" % name)
    params = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
    out = io.StringIO()
    with patch_module_args(params), contextlib.redirect_stdout(out):
        try:
            module.main()
        except SystemExit:
            pass
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
