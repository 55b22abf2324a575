# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the three DNS modules share: argument spec and the provider/engine built from parameters."""

from __future__ import annotations

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError, scrub
from ansible_collections.mxhero.unroute.plugins.module_utils._fingerprint import (
    fingerprint_argument_spec, fingerprint_from_params)
from ansible_collections.mxhero.unroute.plugins.module_utils._dns import rfc2136
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.engine import DnsEngine


def dns_argument_spec(server_required=False):
    spec = dict(
        zone=dict(type="str", required=True),
        record=dict(type="str"),
        server=dict(type="str", required=server_required),
        port=dict(type="int", default=53),
        key_name=dict(type="str"),
        key_secret=dict(type="str", no_log=True),
        key_algorithm=dict(type="str", default="hmac-sha256", choices=list(rfc2136.ALGORITHMS)),
        protocol=dict(type="str", default="tcp", choices=["tcp", "udp"]),
        timeout=dict(type="float", default=10.0),
    )
    spec.update(fingerprint_argument_spec())
    return spec


def require_dnspython(module):
    if not rfc2136.HAS_DNSPYTHON:
        module.fail_json(msg=missing_required_lib("dnspython"), exception=str(rfc2136.DNSPYTHON_ERROR))


def build_engine(module, read_only=False):
    """Engine for the module's parameters; fails the module with one clear line on bad input."""
    params = module.params
    require_dnspython(module)
    try:
        fingerprint = fingerprint_from_params(params)
    except ValueError as err:
        module.fail_json(msg="%s: %s" % (params["zone"], err))
    if bool(params.get("key_name")) != bool(params.get("key_secret")):
        module.fail_json(msg="%s: key_name and key_secret go together; give both or neither" % params["zone"])
    if read_only and not params.get("server"):
        from ansible_collections.mxhero.unroute.plugins.module_utils._dns.resolver import ResolverProvider
        provider = ResolverProvider(params["zone"], timeout=params["timeout"])
    else:
        provider = rfc2136.Rfc2136Provider(
            params["zone"], server=params.get("server"), port=params["port"], key_name=params.get("key_name"),
            key_secret=params.get("key_secret"), key_algorithm=params["key_algorithm"],
            protocol=params["protocol"], timeout=params["timeout"])
    return DnsEngine(provider, params["zone"], fingerprint)


def run(module, action, read_only=False):
    """Run ``action(engine)`` and exit the module with its result or one clean error line."""
    secrets = [module.params.get("key_secret")]
    try:
        engine = build_engine(module, read_only=read_only)
        outcome = action(engine)
    except UnrouteError as err:
        module.fail_json(msg=scrub(str(err), secrets))
    for warning in engine.warnings:
        module.warn("%s: %s" % (module.params["zone"], warning))
    before = outcome.pop("before", None)
    after = outcome.pop("after", None)
    if module._diff and before is not None:
        outcome["diff"] = {"before": before, "after": after}
    module.exit_json(**outcome)
