# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Exchange Server platform (docs/conventions.md, "Platform contract"): ARGSPEC and run(operation, params, ctx).

The connection options, client set-up and the one way an exchange_* module runs.
"""

from __future__ import annotations

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._exchange import client as client_mod
from ansible_collections.mxhero.unroute.plugins.module_utils._exchange import remote as remote_mod
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
        psrp_port=dict(type="int"),
        psrp_scheme=dict(type="str", choices=["http", "https"]),
        psrp_transport=dict(type="str", choices=["negotiate", "kerberos", "ntlm", "basic"]),
        kerberos_hostname_override=dict(type="str"),
    )
    spec.update(fingerprint_argument_spec())
    return spec


# Exchange's /PowerShell/ virtual directory takes Kerberos (Negotiate) and, where enabled, Basic over HTTPS;
# WinRM's transport says which of them the same account uses.
PSRP_TRANSPORT = {"basic": "basic", "kerberos": "kerberos", "ntlm": "negotiate", "credssp": "negotiate",
                  "certificate": "negotiate"}


def psrp_settings(params):
    """(scheme, auth) for Exchange's remote PowerShell: HTTPS for Basic, otherwise HTTP with message encryption."""
    auth = params.get("psrp_transport") or PSRP_TRANSPORT.get(params["transport"], "negotiate")
    scheme = params.get("psrp_scheme") or ("https" if auth == "basic" else "http")
    return scheme, auth


def build_engine(params, check_mode, warn=None, winrm=True, remote=True):
    """An engine with the WinRM client (transport agents) and/or remote PowerShell (connectors, server data)."""
    where = params.get("domain") or params["host"]
    if winrm and not client_mod.HAS_WINRM:
        raise UnrouteError(where, None, missing_required_lib("pywinrm"), "install it on the controller")
    if remote and not remote_mod.HAS_PYPSRP:
        raise UnrouteError(where, None, missing_required_lib("pypsrp"), "install it on the controller")
    try:
        fingerprint = fingerprint_from_params(params)
    except ValueError as err:
        raise UnrouteError(where, None, str(err), "fix the fingerprint options")
    client = shell = None
    if winrm:
        client = client_mod.ExchangeClient(
            host=params["host"], port=params["port"], scheme=params["scheme"], transport=params["transport"],
            username=params["username"], password=params["password"], validate_certs=params["validate_certs"],
            ca_path=params["ca_path"], client_cert=params["client_cert"], client_key=params["client_key"],
            message_encryption=params["message_encryption"], read_timeout=params["read_timeout"],
            operation_timeout=params["operation_timeout"], command_timeout=params["command_timeout"],
            snapin=params["exchange_snapin"], kerberos_hostname_override=params.get("kerberos_hostname_override"))
    if remote:
        scheme, auth = psrp_settings(params)
        if auth == "basic" and scheme != "https":
            raise UnrouteError(where, "remote PowerShell", "psrp_transport=basic over http would send the password "
                               "in clear", "use psrp_scheme=https (the default for basic)")
        shell = remote_mod.ExchangeShell(
            host=params["host"], port=params["psrp_port"], scheme=scheme, auth=auth, username=params["username"],
            password=params["password"], validate_certs=params["validate_certs"], ca_path=params["ca_path"],
            read_timeout=params["read_timeout"], operation_timeout=params["operation_timeout"],
            kerberos_hostname_override=params.get("kerberos_hostname_override"))
    return Engine(client, fingerprint, domain=params["domain"], check_mode=check_mode,
                  secrets=[params["password"]], warn=warn, shell=shell)


def run(operation, params, ctx):
    """The platform contract's run: ``operation(engine, params, ctx)``; every failure leaves as one UnrouteError.

    The operation's needs ``winrm`` (transport agents) and ``remote`` (remote PowerShell) say which connections
    to open; both by default.
    """
    engine = build_engine(params, ctx.check_mode, warn=ctx.warn, winrm=operation.need("winrm", True),
                          remote=operation.need("remote", True))
    try:
        return operation(engine, params, ctx)
    except client_mod.ExchangeError as err:
        raise engine.fail(err)
    finally:
        for connection in (engine.client, engine.shell):
            if connection is not None:
                connection.close()


ARGSPEC = ArgSpec(connection_argument_spec(), **CONSTRAINTS)
