# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What google_gateway and google_info share: argument spec, library check, error handling."""

from __future__ import annotations

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError, scrub
from ansible_collections.mxhero.unroute.plugins.module_utils._fingerprint import fingerprint_argument_spec
from ansible_collections.mxhero.unroute.plugins.module_utils._google import client as client_mod
from ansible_collections.mxhero.unroute.plugins.module_utils._google import engine

CREDENTIALS = ["credentials_file", "credentials_data", "access_token"]


def google_argument_spec():
    spec = dict(
        domain=dict(type="str", required=True),
        api=dict(type="str", default="policy", choices=["policy", "admin_settings"]),
        customer=dict(type="str", default="my_customer"),
        credentials_file=dict(type="path"),
        credentials_data=dict(type="str", no_log=True),
        subject=dict(type="str"),
        access_token=dict(type="str", no_log=True),
        api_endpoint=dict(type="str"),
        admin_settings_endpoint=dict(type="str"),
        ca_file=dict(type="path"),
        token_uri=dict(type="str", no_log=False),
        timeout=dict(type="float", default=30.0),
        mutable_setting_types=dict(type="list", elements="str", default=[]),
        gateway_verified=dict(type="bool", default=False),
    )
    spec.update(fingerprint_argument_spec())
    return spec


def module_kwargs():
    return dict(supports_check_mode=True, mutually_exclusive=[CREDENTIALS], required_one_of=[CREDENTIALS])


def execute(module, action):
    """Run ``action()`` -> result dict; exit with it, or fail with one clean line."""
    if client_mod.IMPORT_ERROR is not None:
        module.fail_json(msg=missing_required_lib("google-api-python-client, google-auth and google-auth-httplib2"),
                         exception=str(client_mod.IMPORT_ERROR))
    secrets = [module.params.get("access_token"), module.params.get("credentials_data")]
    try:
        result = action()
    except UnrouteError as err:
        msg = str(err)
        extra = {}
        if err.partial:
            # Never let a half-applied run read as if nothing happened.
            msg += " (already done before the error: %s)" % "; ".join(err.partial)
            extra["partial"] = err.partial
        module.fail_json(msg=scrub(msg, secrets), **extra)
    for warning in result.pop("warnings", []):
        module.warn(scrub(warning, secrets))
    for item in result["manual_actions"]:
        module.warn("%s: manual action needed - %s: %s" % (module.params["domain"], item["object"], item["steps"]))
    return result


def run_gateway(module):
    result = execute(module, lambda: engine.run(module.params, module.check_mode, module._diff))
    if module.params.get("on_manual") == "fail":
        msg = engine.manual_failure(result, module.params["domain"])
        if msg:
            module.fail_json(msg=msg, **result)
    module.exit_json(**result)


def run_info(module):
    module.exit_json(**execute(module, lambda: engine.info(module.params)))
