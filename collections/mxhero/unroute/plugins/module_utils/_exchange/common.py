# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every exchange_* module shares: connection options, client set-up, the run wrapper.

Modules expose ``ARGSPEC`` and ``execute(params, ctx)`` for the one runner
(module_utils/_runner.py).
"""

from __future__ import annotations

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._exchange import client as client_mod
from ansible_collections.mxhero.unroute.plugins.module_utils._exchange.engine import Engine
from ansible_collections.mxhero.unroute.plugins.module_utils._fingerprint import (
    fingerprint_argument_spec, fingerprint_from_params)
from ansible_collections.mxhero.unroute.plugins.module_utils._runner import ArgSpec

CONSTRAINTS = dict(required_if=[("transport", "certificate", ("client_cert", "client_key"))])


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


def build_engine(params, check_mode, warn=None):
    where = params.get("domain") or params["host"]
    if not client_mod.HAS_WINRM:
        raise UnrouteError(where, None, missing_required_lib("pywinrm"), "install it on the controller")
    try:
        fingerprint = fingerprint_from_params(params)
    except ValueError as err:
        raise UnrouteError(where, None, str(err), "fix the fingerprint options")
    client = client_mod.ExchangeClient(
        host=params["host"], port=params["port"], scheme=params["scheme"], transport=params["transport"],
        username=params["username"], password=params["password"], validate_certs=params["validate_certs"],
        ca_path=params["ca_path"], client_cert=params["client_cert"], client_key=params["client_key"],
        message_encryption=params["message_encryption"], read_timeout=params["read_timeout"],
        operation_timeout=params["operation_timeout"], command_timeout=params["command_timeout"],
        snapin=params["exchange_snapin"])
    return Engine(client, fingerprint, domain=params["domain"], check_mode=check_mode,
                  secrets=[params["password"]], warn=warn)


def execute(params, ctx, action):
    """Run ``action(engine)``; every failure leaves as one UnrouteError with no secret in it."""
    engine = build_engine(params, ctx.check_mode, warn=ctx.warn)
    try:
        out = action(engine)
    except client_mod.ExchangeError as err:
        raise engine.fail(err)
    finally:
        engine.client.close()
    for text in out.pop("warnings", None) or []:
        ctx.warn(text)
    return out


ARGSPEC = ArgSpec(connection_argument_spec(), **CONSTRAINTS)
