# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the exo_* modules share: argument spec, the client and engine built from parameters, the exit."""

from __future__ import annotations

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError, scrub
from ansible_collections.mxhero.unroute.plugins.module_utils._exo import client as exo_client
from ansible_collections.mxhero.unroute.plugins.module_utils._exo.engine import ExoEngine
from ansible_collections.mxhero.unroute.plugins.module_utils._fingerprint import (
    fingerprint_argument_spec, fingerprint_from_params)

# Passed to AnsibleModule and to the in-process action plugin alike.
CONSTRAINTS = dict(
    mutually_exclusive=[("certificate_path", "client_secret")],
    required_one_of=[("certificate_path", "client_secret")],
)


def exo_argument_spec():
    spec = dict(
        tenant_id=dict(type="str", required=True),
        client_id=dict(type="str", required=True),
        certificate_path=dict(type="path"),
        certificate_password=dict(type="str", no_log=True),
        client_secret=dict(type="str", no_log=True),
        domain=dict(type="str"),
        authority_host=dict(type="str", default=exo_client.DEFAULT_AUTHORITY_HOST),
        api_endpoint=dict(type="str", default=exo_client.DEFAULT_API_ENDPOINT),
        ca_path=dict(type="path"),
        validate_certs=dict(type="bool", default=True),
        timeout=dict(type="int", default=60),
    )
    spec.update(fingerprint_argument_spec())
    return spec


def _label(params):
    return params.get("domain") or params["tenant_id"]


def build_engine(params, check_mode):
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
    try:
        client = exo_client.ExoClient(
            params["tenant_id"], params["client_id"], certificate_path=params.get("certificate_path"),
            certificate_password=params.get("certificate_password"), client_secret=params.get("client_secret"),
            authority_host=params["authority_host"], api_endpoint=params["api_endpoint"],
            ca_path=params.get("ca_path"), validate_certs=params["validate_certs"], timeout=params["timeout"])
    except exo_client.ExoError as err:
        raise UnrouteError(_label(params), "tenant %s, app %s" % (params["tenant_id"], params["client_id"]), str(err),
                           "check certificate_path and certificate_password")
    return ExoEngine(client, fingerprint, _label(params), check_mode=check_mode)


def execute(params, check_mode, diff_mode, action):
    """Run ``action(engine)``; shape its outcome as a module result, with every secret scrubbed."""
    secrets = [params.get("client_secret"), params.get("certificate_password")]
    engine = None
    try:
        engine = build_engine(params, check_mode)
        outcome = action(engine)
    except UnrouteError as err:
        if engine is not None:
            secrets.extend(engine.client.secret_values())
        raise UnrouteError(None, None, scrub(str(err), secrets), partial=err.partial)
    secrets.extend(engine.client.secret_values())
    before = outcome.pop("before", None)
    after = outcome.pop("after", None)
    outcome.setdefault("removed", [])
    if diff_mode and before is not None:
        outcome["diff"] = {"before": before, "after": after}
    # Ansible consumes `warnings` when it shows them; `cautions` stays in the registered result for the report.
    outcome["cautions"] = [scrub(w, secrets) for w in engine.warnings]
    outcome["warnings"] = list(outcome["cautions"])
    return outcome
