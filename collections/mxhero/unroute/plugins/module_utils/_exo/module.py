# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Exchange Online platform (docs/conventions.md, "Platform contract"): ARGSPEC and run(operation, params, ctx)."""

from __future__ import annotations

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._exo import client as exo_client
from ansible_collections.mxhero.unroute.plugins.module_utils._exo import partner
from ansible_collections.mxhero.unroute.plugins.module_utils._exo.engine import ExoEngine
from ansible_collections.mxhero.unroute.plugins.module_utils._fingerprint import (
    fingerprint_argument_spec, fingerprint_from_params)
from ansible_collections.mxhero.unroute.plugins.module_utils._runner import ArgSpec

# Passed to AnsibleModule and to the in-process action plugin alike.
CONSTRAINTS = dict(
    mutually_exclusive=[("certificate_path", "client_secret")],
    required_one_of=[("certificate_path", "client_secret"), ("tenant_id", "domain")],
)


def exo_argument_spec():
    spec = dict(
        # Partner mode: without tenant_id, the domain's tenant is looked up (module_utils/_exo/partner.py).
        tenant_id=dict(type="str"),
        client_id=dict(type="str", required=True),
        certificate_path=dict(type="path"),
        certificate_password=dict(type="str", no_log=True),
        client_secret=dict(type="str", no_log=True),
        domain=dict(type="str"),
        authority_host=dict(type="str", default=exo_client.DEFAULT_AUTHORITY_HOST),
        api_endpoint=dict(type="str", default=exo_client.DEFAULT_API_ENDPOINT),
        ca_path=dict(type="path"),
        validate_certs=dict(type="bool", default=True),
        timeout=dict(type="float", default=60.0),
    )
    spec.update(fingerprint_argument_spec())
    return spec


def _label(params):
    return params.get("domain") or params.get("tenant_id")


def build_engine(params, check_mode, warn=None):
    """Engine for the parameters; raises UnrouteError (one clear line) on bad input."""
    if not exo_client.HAS_DEPS:
        missing = missing_required_lib("msal and requests")
        raise UnrouteError(_label(params), None, "%s (%s)" % (missing, exo_client.IMPORT_ERROR))
    try:
        fingerprint = fingerprint_from_params(params)
    except ValueError as err:
        raise UnrouteError(_label(params), None, str(err), "fix the fingerprint options")
    for option in ("authority_host", "api_endpoint"):
        if not str(params[option]).lower().startswith("https://"):
            raise UnrouteError(_label(params), None, "%s must be an https:// URL, got %r" % (option, params[option]))
    if not params.get("tenant_id"):
        try:
            params["tenant_id"] = partner.tenant_for_domain(
                params["domain"], params["authority_host"], ca_path=params.get("ca_path"),
                validate_certs=params["validate_certs"], timeout=params["timeout"])
        except partner.PartnerError as err:
            raise UnrouteError(_label(params), "tenant of %s" % params["domain"], err.cause, err.fix)
    try:
        client = exo_client.ExoClient(
            params["tenant_id"], params["client_id"], certificate_path=params.get("certificate_path"),
            certificate_password=params.get("certificate_password"), client_secret=params.get("client_secret"),
            authority_host=params["authority_host"], api_endpoint=params["api_endpoint"],
            ca_path=params.get("ca_path"), validate_certs=params["validate_certs"], timeout=params["timeout"])
    except exo_client.ExoError as err:
        raise UnrouteError(_label(params), "tenant %s, app %s" % (params["tenant_id"], params["client_id"]), str(err),
                           "check certificate_path and certificate_password")
    return ExoEngine(client, fingerprint, _label(params), check_mode=check_mode, warn=warn)


def run(operation, params, ctx):
    """The platform contract's run: ``operation(engine, params, ctx)``; the tokens the client learnt go to ctx."""
    engine = None
    try:
        engine = build_engine(params, ctx.check_mode, warn=ctx.warn)
        outcome = operation(engine, params, ctx)
    finally:
        if engine is not None:
            for value in engine.client.secret_values():
                ctx.secret(value)
    return outcome


ARGSPEC = ArgSpec(exo_argument_spec(), **CONSTRAINTS)
