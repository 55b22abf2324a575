# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the three DNS modules share: argument spec, and the engine built from parameters."""

from __future__ import annotations

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._runner import ArgSpec
from ansible_collections.mxhero.unroute.plugins.module_utils._fingerprint import (
    fingerprint_argument_spec, fingerprint_from_params)
from ansible_collections.mxhero.unroute.plugins.module_utils._dns import rfc2136
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.engine import DnsEngine


def dns_argument_spec():
    spec = dict(
        zone=dict(type="str", required=True),
        record=dict(type="str"),
        server=dict(type="str"),
        port=dict(type="int", default=53),
        key_name=dict(type="str"),
        key_secret=dict(type="str", no_log=True),
        key_algorithm=dict(type="str", default="hmac-sha256", choices=list(rfc2136.ALGORITHMS)),
        protocol=dict(type="str", default="tcp", choices=["tcp", "udp"]),
        timeout=dict(type="float", default=10.0),
    )
    spec.update(fingerprint_argument_spec())
    return spec


def build_engine(params, read_only=False):
    """Engine for the parameters; raises UnrouteError (one clear line) on bad input."""
    zone = params["zone"]
    if not rfc2136.HAS_DNSPYTHON:
        raise UnrouteError(zone, None, missing_required_lib("dnspython"))
    try:
        fingerprint = fingerprint_from_params(params)
    except ValueError as err:
        raise UnrouteError(zone, None, str(err), "fix the fingerprint options")
    if bool(params.get("key_name")) != bool(params.get("key_secret")):
        raise UnrouteError(zone, None, "key_name and key_secret go together", "give both or neither")
    if read_only and not params.get("server"):
        from ansible_collections.mxhero.unroute.plugins.module_utils._dns.resolver import ResolverProvider
        provider = ResolverProvider(zone, timeout=params["timeout"])
    else:
        provider = rfc2136.Rfc2136Provider(
            zone, server=params.get("server"), port=params["port"], key_name=params.get("key_name"),
            key_secret=params.get("key_secret"), key_algorithm=params["key_algorithm"],
            protocol=params["protocol"], timeout=params["timeout"])
    return DnsEngine(provider, zone, fingerprint)


def execute(params, ctx, operation, read_only=False):
    """Run ``operation(engine)``; the runner shapes the result (diff, warnings, scrubbing)."""
    engine = build_engine(params, read_only=read_only)
    outcome = operation(engine)
    for text in engine.warnings:
        ctx.warn("%s: %s" % (params["zone"], text))
    return outcome


ARGSPEC = ArgSpec(dns_argument_spec())
