# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every exchange_* module shares: connection options, client set-up, error handling."""

from __future__ import annotations

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError, scrub
from ansible_collections.mxhero.unroute.plugins.module_utils._exchange import client as client_mod
from ansible_collections.mxhero.unroute.plugins.module_utils._exchange.engine import Engine
from ansible_collections.mxhero.unroute.plugins.module_utils._fingerprint import (
    fingerprint_argument_spec, fingerprint_from_params)


def connection_argument_spec():
    """Options of the ``mxhero.unroute.exchange`` doc fragment (keep both in step)."""
    spec = dict(
        host=dict(type="str", required=True),
        port=dict(type="int"),
        scheme=dict(type="str", choices=["http", "https"]),
        transport=dict(type="str", default="ntlm", choices=["ntlm", "kerberos", "credssp", "basic", "certificate"]),
        username=dict(type="str"),
        password=dict(type="str", no_log=True),
        validate_certs=dict(type="bool", default=True),
        ca_path=dict(type="path"),
        client_cert=dict(type="path"),
        client_key=dict(type="path", no_log=False),
        message_encryption=dict(type="str", default="auto", choices=["auto", "always", "never"]),
        read_timeout=dict(type="int", default=30),
        operation_timeout=dict(type="int", default=20),
        command_timeout=dict(type="int", default=300),
        exchange_snapin=dict(type="str", default="auto", choices=["auto", "2013", "2010"]),
        domain=dict(type="str"),
    )
    spec.update(fingerprint_argument_spec())
    return spec


def build_engine(module):
    if not client_mod.HAS_WINRM:
        module.fail_json(msg=missing_required_lib("pywinrm"), exception=str(client_mod.WINRM_IMPORT_ERROR))
    params = module.params
    try:
        fingerprint = fingerprint_from_params(params)
    except ValueError as err:
        module.fail_json(msg=str(err))
    if params["transport"] == "certificate" and not params["client_cert"]:
        module.fail_json(msg="transport=certificate needs client_cert and client_key")
    client = client_mod.ExchangeClient(
        host=params["host"], port=params["port"], scheme=params["scheme"], transport=params["transport"],
        username=params["username"], password=params["password"], validate_certs=params["validate_certs"],
        ca_path=params["ca_path"], client_cert=params["client_cert"], client_key=params["client_key"],
        message_encryption=params["message_encryption"], read_timeout=params["read_timeout"],
        operation_timeout=params["operation_timeout"], command_timeout=params["command_timeout"],
        snapin=params["exchange_snapin"])
    return Engine(client, fingerprint, domain=params["domain"], check_mode=module.check_mode,
                  secrets=[params["password"]])


def run(module, action):
    """Run ``action(engine)`` and exit; every failure leaves as one line with no secret in it."""
    engine = build_engine(module)
    try:
        out = action(engine)
    except UnrouteError as err:
        module.fail_json(msg=scrub(str(err), engine.secrets), partial=err.partial)
    except client_mod.ExchangeError as err:
        module.fail_json(msg=scrub(str(engine.fail(err)), engine.secrets))
    finally:
        engine.client.close()
    for warning in out.pop("warnings", []) or []:
        module.warn(warning)
    before = out.pop("before", None)
    after = out.pop("after", None)
    if module._diff and before is not None:
        out["diff"] = {"before": before, "after": after}
    out.setdefault("removed", [])
    module.exit_json(**out)
