# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Exchange Server: WinRM reachable and authenticated with the Exchange snap-in loaded (the transport agents are
read on each transport server, as the run reads them), and Exchange's remote PowerShell answering
Get-ExchangeServer for the account (its Exchange role) on the server the connectors are changed through."""

from __future__ import annotations

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._exchange import client as client_mod
from ansible_collections.mxhero.unroute.plugins.module_utils._exchange import module as common
from ansible_collections.mxhero.unroute.plugins.module_utils._preflight.common import check, classify, failed, options

P = "exchange"


def probe(domain, given, ctx, servers):
    """``servers``: the role's unroute_exchange_servers ({host, port, fqdn}); none means the host in ``given``."""
    out = []
    servers = servers or [{}]
    for index, server in enumerate(servers):
        one = dict(given or {})
        one.update(dict((k, v) for k, v in (("host", server.get("host")), ("port", server.get("port")),
                                            ("psrp_port", server.get("psrp_port")),
                                            ("kerberos_hostname_override", server.get("fqdn"))) if v is not None))
        params, bad = options(domain, P, common.ARGSPEC, one, ctx)
        if bad:
            return out + [bad]
        # The connectors are changed through the first server only (exchange_send_connector in the role).
        out.extend(_server(domain, params, ctx, remote=index == 0))
    return out


def _server(domain, params, ctx, remote):
    obj = "server %s" % params["host"]
    try:
        engine = common.build_engine(params, True, warn=ctx.warn, winrm=True, remote=remote)
    except UnrouteError as err:
        return [failed(P, obj, "connection options", err, "needs_credentials")]
    out = []
    try:
        try:
            state = engine.read()
        except (UnrouteError, client_mod.ExchangeError) as err:
            out.append(failed(P, obj, "WinRM and the Exchange snap-in", err, _status(err)))
        else:
            out.append(check(P, obj, "WinRM and the Exchange snap-in", True, True, "WinRM answered as %s; the "
                             "snap-in %s listed %d transport agent(s)" % (params.get("username") or "the account",
                                                                          state.get("snapin") or "",
                                                                          len(state.get("agents") or []))))
        if remote:
            try:
                found = engine.read_server()
            except (UnrouteError, client_mod.ExchangeError) as err:
                out.append(failed(P, obj, "remote PowerShell (Get-ExchangeServer)", err, _status(err)))
            else:
                out.append(check(P, obj, "remote PowerShell (Get-ExchangeServer)", True, True,
                                 "Exchange's remote PowerShell answered: server %s %s"
                                 % (found.get("name"), found.get("version") or "")))
    finally:
        for connection in (engine.client, engine.shell):
            if connection is not None:
                connection.close()
    return out


def _status(err):
    text = "%s %s" % (getattr(err, "cause", err), type(err).__name__)
    status = classify(text, "needs_role")
    return status
