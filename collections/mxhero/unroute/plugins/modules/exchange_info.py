#!/usr/bin/python
# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: exchange_info
short_description: Report mxHero leftovers on an Exchange server
version_added: 0.2.0
description:
  - Reads one Exchange Server's transport agents (per transport service) over WinRM, and the organisation's send
    connectors and the server's receive connectors through Exchange's remote PowerShell (C(/PowerShell/),
    configuration C(Microsoft.Exchange)), with a finding for each that matches mxHero.
  - Receive connectors whose RemoteIPRanges hold mxHero addresses are reported with manual steps; a range wider
    than a /16 is not reported (the default C(0.0.0.0-255.255.255.255) holds every address).
  - Changes nothing.
options:
  transport_service:
    description:
      - Transport services to list agents of. Default is every service the server runs.
    type: list
    elements: str
    choices: [Hub, FrontEnd, MailboxSubmission, MailboxDelivery, Edge]
extends_documentation_fragment:
  - mxhero.unroute.exchange
  - mxhero.unroute.fingerprint
  - mxhero.unroute.attributes
  - mxhero.unroute.exchange.ACTIONGROUP
attributes:
  check_mode:
    support: full
    details:
      - Read-only; the same in check mode.
  diff_mode:
    support: none
  idempotent:
    support: full
author:
  - mxhero-unroute developers (@mxhero-unroute)
'''

EXAMPLES = r'''
- name: What does mxHero still touch on EX01?
  mxhero.unroute.exchange_info:
    host: ex01.contoso.com
    username: CONTOSO\exadmin
    password: "{{ vault_exchange_password }}"
  register: ex01

- name: Show the findings
  ansible.builtin.debug:
    var: ex01.findings
'''

RETURN = r'''
changed:
  description: Always false.
  returned: always
  type: bool
findings:
  description: Matching agents, send connectors and receive connectors (action C(reported) or C(manual)).
  returned: always
  type: list
  elements: dict
server:
  description: Name of the Exchange server that answered.
  returned: always
  type: str
version:
  description: The server's AdminDisplayVersion.
  returned: always
  type: str
snapin:
  description: The Exchange snap-in that was loaded.
  returned: always
  type: str
transport_services:
  description: Transport services that were listed.
  returned: always
  type: list
  elements: str
agents:
  description: Every transport agent (identity, transport_service, enabled, priority, factory, assembly_path).
  returned: always
  type: list
  elements: dict
send_connectors:
  description: Every send connector of the organisation (name, identity, enabled, address_spaces, smart_hosts, ...).
  returned: always
  type: list
  elements: dict
receive_connectors:
  description: This server's receive connectors (name, identity, enabled, bindings, remote_ip_ranges).
  returned: always
  type: list
  elements: dict
restart_pending:
  description: Windows services whose transport agents an earlier exchange_transport_agent run changed without a
    successful restart since (the change is configured but not in effect).
  returned: always
  type: list
  elements: str
removed:
  description: Always empty.
  returned: always
  type: list
  elements: dict
'''

from ansible_collections.mxhero.unroute.plugins.module_utils import _runner
from ansible_collections.mxhero.unroute.plugins.module_utils._exchange import module as exchange

OPERATION = _runner.Operation(lambda engine, params, ctx: engine.info(services=params["transport_service"]))


def execute(params, ctx):
    return exchange.run(OPERATION, params, ctx)


ARGSPEC = exchange.ARGSPEC.extend(dict(
    transport_service=dict(type="list", elements="str",
                           choices=["Hub", "FrontEnd", "MailboxSubmission", "MailboxDelivery", "Edge"]),
))


def main():
    _runner.main(ARGSPEC, execute, name="mxhero.unroute.exchange_info")


if __name__ == "__main__":
    main()
