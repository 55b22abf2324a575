#!/usr/bin/python
# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: exchange_send_connector
short_description: Disable or remove Exchange send connectors that relay through mxHero
version_added: 0.2.0
description:
  - Connects to Exchange's remote PowerShell (C(http(s)://SERVER/PowerShell/), configuration C(Microsoft.Exchange))
    and reads the organisation's send connectors (Get-SendConnector). Only cmdlets with typed parameters are sent.
  - A connector matches when its smart hosts are mxHero hosts or addresses (the fingerprint). A connector whose name
    merely contains C(mxhero) is reported, not changed.
  - A connector that routes through mxHero and through other smart hosts too is reported with the command that keeps
    the other hosts, and left alone unless I(include_mixed=true).
  - The module refuses when the change would leave an address space (for example C(*), the internet) with no
    enabled send connector, unless I(allow_no_outbound=true).
  - Each connector is read again right before it is changed and skipped with an error if its smart hosts changed.
options:
  state:
    description:
      - C(disabled) runs C(Set-SendConnector -Enabled $false); C(absent) runs Remove-SendConnector.
    type: str
    default: absent
    choices: [disabled, absent]
  name:
    description:
      - Only consider the send connector with this name (case-insensitive). It must still route through mxHero.
    type: str
  include_mixed:
    description:
      - Also disable or remove connectors whose smart hosts mix mxHero and other hosts.
    type: bool
    default: false
  allow_no_outbound:
    description:
      - Go ahead even when no enabled send connector would be left for an address space the changed connectors
        served (mail there would queue). A warning says which.
    type: bool
    default: false
extends_documentation_fragment:
  - mxhero.unroute.exchange
  - mxhero.unroute.fingerprint
  - mxhero.unroute.attributes
  - mxhero.unroute.exchange.ACTIONGROUP
attributes:
  check_mode:
    support: full
    details:
      - Reads the server and returns the same findings, removed objects and diff as a real run; actions read
        C(would_disable) / C(would_remove).
  diff_mode:
    support: full
  idempotent:
    support: full
author:
  - mxhero-unroute developers (@mxhero-unroute)
'''

EXAMPLES = r'''
- name: Remove the send connector that relays through mxHero
  mxhero.unroute.exchange_send_connector:
    host: ex01.contoso.com
    username: CONTOSO\exadmin
    password: "{{ vault_exchange_password }}"
    state: absent

- name: Only disable it (keeps the object for a quick roll-back)
  mxhero.unroute.exchange_send_connector:
    host: ex01.contoso.com
    username: CONTOSO\exadmin
    password: "{{ vault_exchange_password }}"
    state: disabled
'''

RETURN = r'''
changed:
  description: Whether a connector was disabled or removed (in check mode, whether one would be).
  returned: always
  type: bool
findings:
  description:
    - One finding per matching connector (platform C(exchange), kind C(send_connector)). Action C(removed) or
      C(disabled) (C(would_...) in check mode), C(kept) when already disabled, C(reported) for mixed smart hosts
      or a name-only match.
  returned: always
  type: list
  elements: dict
removed:
  description:
    - Removed connectors with their settings (enabled, port, fqdn, address_spaces, smart_hosts, dns_routing_enabled,
      source_transport_servers, max_message_size, require_tls, tls_auth_level, tls_domain, ...) and C(recreate), the
      New-SendConnector line that puts each back as it was, disabled if it was disabled. It always names -Enabled,
      -Port and -MaxMessageSize and adds every other setting that differs from the cmdlet's default; a connector that
      authenticated to its smart host with a password asks for it (C(-AuthenticationCredential (Get-Credential))).
    - Names are quoted for PowerShell with every single-quote character doubled (C('), U+2018, U+2019, U+201A,
      U+201B), here and in manual steps.
  returned: always
  type: list
  elements: dict
server:
  description: Name of the Exchange server that answered.
  returned: always
  type: str
diff:
  description: Matching connectors by name, before and after.
  returned: when diff mode is on
  type: dict
'''

from ansible_collections.mxhero.unroute.plugins.module_utils import _runner
from ansible_collections.mxhero.unroute.plugins.module_utils._exchange import module as exchange

OPERATION = _runner.Operation(lambda engine, params, ctx: engine.send_connectors(
    params["state"], name=params["name"], include_mixed=params["include_mixed"],
    allow_no_outbound=params["allow_no_outbound"]), winrm=False)


def execute(params, ctx):
    return exchange.run(OPERATION, params, ctx)


ARGSPEC = exchange.ARGSPEC.extend(dict(
    state=dict(type="str", default="absent", choices=["disabled", "absent"]),
    name=dict(type="str"),
    include_mixed=dict(type="bool", default=False),
    allow_no_outbound=dict(type="bool", default=False),
))


def main():
    _runner.main(ARGSPEC, execute, name="mxhero.unroute.exchange_send_connector")


if __name__ == "__main__":
    main()
