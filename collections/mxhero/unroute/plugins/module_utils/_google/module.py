# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Google Workspace platform (docs/conventions.md, "Platform contract"): ARGSPEC and run(operation, params, ctx).

The options every google_* module shares and the operations they hand to ``run``.
"""

from __future__ import annotations

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._fingerprint import fingerprint_argument_spec
from ansible_collections.mxhero.unroute.plugins.module_utils._google import client as client_mod
from ansible_collections.mxhero.unroute.plugins.module_utils._google import engine
from ansible_collections.mxhero.unroute.plugins.module_utils._google import grants
from ansible_collections.mxhero.unroute.plugins.module_utils._google import send_as
from ansible_collections.mxhero.unroute.plugins.module_utils._runner import ArgSpec

CREDENTIALS = ["credentials_file", "credentials_data", "access_token"]
CONSTRAINTS = dict(mutually_exclusive=[CREDENTIALS], required_one_of=[CREDENTIALS])
GRANT_SCOPES = [client_mod.SCOPE_USER_RO, client_mod.SCOPE_USER_SECURITY]


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
        # ca_file: this option's name before 0.3.0 (the other platforms always said ca_path).
        ca_path=dict(type="path", aliases=["ca_file"]),
        token_uri=dict(type="str", no_log=False),
        timeout=dict(type="float", default=30.0),
        mutable_setting_types=dict(type="list", elements="str", default=[]),
        gateway_verified=dict(type="bool", default=False),
    )
    spec.update(fingerprint_argument_spec())
    return spec


def require_libraries(params):
    if client_mod.IMPORT_ERROR is not None:
        raise UnrouteError(params["domain"], None, missing_required_lib(
            "google-api-python-client, google-auth and google-auth-httplib2"), "install them on the controller")


class Google(object):
    """The engine every Google operation gets: the task's parameters and clients made from them on demand.

    Each operation asks for the scopes it needs (a token per scope set), so nothing is built up front; the
    libraries are checked when an operation first needs them.
    """

    def __init__(self, params):
        self.params = params
        self.clients = []

    def require(self):
        require_libraries(self.params)

    def client(self, scopes):
        self.require()
        made = engine.make_client(self.params, scopes)
        self.clients.append(made)
        return made


def run(operation, params, ctx):
    """The platform contract's run: ``operation(Google(params), params, ctx)``; client secrets go to ctx."""
    google = Google(params)
    try:
        return operation(google, params, ctx)
    finally:
        for made in google.clients:
            for value in made.secret_values():
                ctx.secret(value)


def gateway(google, params, ctx):
    write = not ctx.check_mode
    result = engine.run(params, ctx.check_mode, ctx.diff_mode, warn=ctx.warn,
                        client=google.client(engine.scopes_for(params.get("api") or "policy", write)))
    if params.get("on_manual") == "fail":
        msg = engine.manual_failure(result, params["domain"])
        if msg:
            # Failed, but with every finding kept: the run record must show what was done and what is left.
            result.update(failed=True, msg=msg)
    return result


def info(google, params, ctx):
    result = engine.info(params, warn=ctx.warn,
                         client=google.client(engine.scopes_for(params.get("api") or "policy", False)))
    if params.get("app_grants"):
        _info_grants(google, params, result, ctx)
    return result


def _info_grants(google, params, result, ctx):
    """google_info's read-only look at mxHero's OAuth grants; a refusal is a caution, not a failure."""
    try:
        found = grants_run(params, check_mode=True, diff_mode=False, apply=False, warn=ctx.warn,
                           client=google.client(GRANT_SCOPES))
    except UnrouteError as err:
        ctx.warn("%s: mxHero's OAuth grants were not checked: %s" % (params["domain"], err.cause
                 + ("; " + err.fix if err.fix else "")))
        return
    result["findings"].extend(found["findings"])
    result["manual_actions"].extend(found["manual_actions"])
    result["oauth_grants"] = list(found["removed"])
    result["users_read"] = found["users_read"]


def grants_run(params, check_mode=False, diff_mode=False, apply=True, client=None, warn=None):
    client = client or engine.make_client(params, GRANT_SCOPES)
    return grants.GrantsRun(params, check_mode, diff_mode, client, apply=apply, warn=warn).run()


def app_grants(google, params, ctx):
    return grants_run(params, ctx.check_mode, ctx.diff_mode, warn=ctx.warn, client=google.client(GRANT_SCOPES))


def send_as_relays(google, params, ctx):
    return send_as.SendAsRun(params, google.client([client_mod.SCOPE_USER_RO]), warn=ctx.warn).run()


ARGSPEC = ArgSpec(google_argument_spec(), **CONSTRAINTS)
# Reading the admin audit log for evidence about the outbound gateway (google_gateway, google_info).
AUDIT_OPTIONS = dict(audit_log=dict(type="bool", default=True))
GRANT_OPTIONS = dict(
    client_ids=dict(type="list", elements="str", default=[]),
    max_users=dict(type="int", default=5000),
    app_access_steps=dict(type="str", default="when_found", choices=["when_found", "always", "never"]),
)
