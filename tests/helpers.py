"""Run collection modules the way plays do (through their action plugins) or as classic modules (main())."""

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


def run_module(name, args, check_mode=False, diff=False, environment=None, delegate_to=None, action_class=None):
    """Result of task ``mxhero.unroute.<name>`` with ``args``, run through the collection's action plugin,
    the path every play takes (validation, check/diff mode, environment, no_log scrubbing).
    ``action_class``: another InProcessAction to drive the same way (a module made up by a test)."""
    from ansible.parsing.dataloader import DataLoader
    from ansible.playbook.play_context import PlayContext
    from ansible.playbook.task import Task
    from ansible.plugins.loader import connection_loader
    from ansible.template import Templar

    if action_class is None:
        plugin_module = importlib.import_module("ansible_collections.mxhero.unroute.plugins.action.%s" % name)
        action_class = plugin_module.ActionModule
    task = Task()
    task.action = "mxhero.unroute.%s" % name
    task.args = dict(args)
    task.check_mode = check_mode
    task.diff = diff
    task.environment = [environment] if environment else []
    task.delegate_to = delegate_to
    loader = DataLoader()
    context = PlayContext()
    # The inventory's hosts use connection local; the action never uses it but ActionBase looks at its shell.
    connection = connection_loader.get("local", context)
    plugin = action_class(task, connection, context, loader, Templar(loader=loader), None)
    result = plugin.run(task_vars={})
    json.dumps(result)  # a result Ansible could not serialise would fail the play
    result["warnings"] = [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]
    return result


def run_classic_module(name, args, check_mode=False, diff=False, module=None):
    """Result dict of ``mxhero.unroute.<name>`` run as a classic module (main()); ``failed`` set on failure.
    ``module``: another object with ``main()`` to run the same way (a module made up by a test)."""
    module = module or importlib.import_module("ansible_collections.mxhero.unroute.plugins.modules.%s" % name)
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


def provider_args(lab, zone, **extra):
    """Options for whichever lab service hosts ``zone`` (BIND over RFC 2136, Route 53, Cloudflare, PowerDNS, Azure
    DNS, Google Cloud DNS, or PowerDNS through dns-lexicon)."""
    provider = lab.provider_of(zone)
    if provider == "bind":
        return dns_args(lab, zone, **extra)
    svc = lab.service(provider) if provider != "lexicon" else None
    if provider == "route53":
        args = dict(provider="route53", aws_endpoint_url=svc["url"], aws_access_key=svc["aws_access_key_id"],
                    aws_secret_key=Path(svc["secret_key_file"]).read_text().strip())
    elif provider == "cloudflare":
        args = dict(provider="cloudflare", cloudflare_api_url=svc["url"],
                    cloudflare_api_token=Path(svc["api_token_file"]).read_text().strip())
    elif provider == "azure":
        args = dict(provider="azure", azure_subscription_id=svc["subscription_id"], azure_tenant_id=svc["tenant_id"],
                    azure_client_id=svc["client_id"],
                    azure_client_secret=Path(svc["client_secret_file"]).read_text().strip(),
                    azure_authority_host=svc["authority_host"], azure_resource_manager_url=svc["resource_manager_url"],
                    ca_path=svc["ca"])
    elif provider == "google_cloud_dns":
        args = dict(provider="google_cloud_dns", gcp_service_account_file=svc["service_account_file"],
                    gcp_api_endpoint=svc["api_endpoint"], ca_path=svc["ca"])
    elif provider == "lexicon":
        # dns-lexicon's own powerdns provider against the lab's real PowerDNS.
        pdns = lab.service("powerdns")
        args = dict(provider="lexicon", lexicon_provider="powerdns",
                    lexicon_options={"pdns_server": pdns["url"],
                                     "auth_token": Path(pdns["api_key_file"]).read_text().strip()})
    else:
        args = dict(provider="powerdns", powerdns_api_url=svc["url"],
                    powerdns_api_key=Path(svc["api_key_file"]).read_text().strip())
    args.update(zone=zone)
    args.update(extra)
    return args
