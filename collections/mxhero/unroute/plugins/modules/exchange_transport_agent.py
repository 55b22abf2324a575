#!/usr/bin/python
# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: exchange_transport_agent
short_description: Disable or uninstall the mxHero transport agent on an Exchange server
version_added: 0.2.0
description:
  - Connects to one Exchange Server (2010 to SE) over WinRM, lists its transport agents in every transport service
    (Transport/Hub, FrontEnd, MailboxSubmission, MailboxDelivery, Edge) and disables or uninstalls those that match.
  - The mxHero agent's display name is not published, so by default an agent matches when its name contains
    C(mxhero) (case-insensitive, plus I(mxhero_name_patterns)); name it exactly with I(name).
  - Every agent is read again right before it is changed; other agents are never touched.
  - Agent changes take effect when the transport service restarts; by default the module restarts only the
    Windows services whose agents changed.
  - Before changing an agent, the module notes on the server (registry values under
    C(HKLM:\SOFTWARE\mxhero-unroute), one per Windows service, with the time) that a restart is owed, and clears the
    note once the restart succeeded. A later run that finds a note newer than the service's process start time
    restarts that service (or, with I(restart_services=false), warns); a note older than the process start (someone
    restarted it by hand) asks for nothing and is cleared the next time the module writes. Only the services of
    I(transport_service) are restarted; an owed restart outside them is a warning.
  - Transport agents are per server; run the task against every transport server (including Edge servers).
options:
  state:
    description:
      - C(disabled) runs Disable-TransportAgent. C(absent) disables, then runs Uninstall-TransportAgent.
    type: str
    default: disabled
    choices: [disabled, absent]
  name:
    description:
      - The agent's display name (case-insensitive, exact), or a pattern with C(*) and C(?).
      - Default is every agent whose name contains one of the fingerprint's name patterns (C(mxhero)).
    type: str
  transport_service:
    description:
      - Transport services to look in. Default is every service the server runs.
    type: list
    elements: str
    choices: [Hub, FrontEnd, MailboxSubmission, MailboxDelivery, Edge]
  restart_services:
    description:
      - Restart the Windows services (C(MSExchangeTransport), C(MSExchangeFrontEndTransport), ...) whose agents
        changed, so that the change takes effect, and those an earlier run left owed (its restart failed or was
        skipped). When false, a warning names the restarts left to do, in this run and in every later one until
        they are done.
    type: bool
    default: true
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
- name: Uninstall the mxHero agent from every transport service of EX01
  mxhero.unroute.exchange_transport_agent:
    host: ex01.contoso.com
    username: CONTOSO\exadmin
    password: "{{ vault_exchange_password }}"
    state: absent

- name: Disable an agent named exactly, only in the FrontEnd service, restart later by hand
  mxhero.unroute.exchange_transport_agent:
    host: ex01.contoso.com
    username: CONTOSO\exadmin
    password: "{{ vault_exchange_password }}"
    name: mxHERO Routing Agent
    transport_service: [FrontEnd]
    restart_services: false
'''

RETURN = r'''
changed:
  description: Whether an agent was disabled or uninstalled (in check mode, whether one would be).
  returned: always
  type: bool
findings:
  description:
    - One finding per matched agent (platform C(exchange), kind C(transport_agent)); the object is
      C(<server> <service> transport agent <name>). Action C(disabled)/C(removed), C(would_disable)/C(would_remove)
      in check mode, C(kept) when already disabled.
  returned: always
  type: list
  elements: dict
removed:
  description:
    - Uninstalled agents (server, transport_service, identity, enabled, priority, factory, assembly_path) and
      C(reinstall), the Exchange Management Shell line that puts each back as it was - Install-TransportAgent,
      Set-TransportAgent -Priority, Enable-TransportAgent when it was enabled (agents install disabled), each with
      -TransportService from Exchange 2013 on (2010 has no such parameter), then Restart-Service.
    - Names are quoted for PowerShell with every single-quote character doubled (C('), U+2018, U+2019, U+201A,
      U+201B), so a name never ends its string.
  returned: always
  type: list
  elements: dict
server:
  description: Name of the Exchange server that answered.
  returned: always
  type: str
transport_services:
  description: Transport services that were searched.
  returned: always
  type: list
  elements: str
restart_needed:
  description: Windows services that must restart for the changes to take effect (including owed restarts).
  returned: always
  type: list
  elements: str
restarted:
  description: Windows services the module restarted.
  returned: always
  type: list
  elements: str
restart_pending:
  description:
    - Windows services an earlier run changed agents for but did not restart (restart failed or
      I(restart_services=false)), read back from the server. This run restarts them when I(restart_services=true).
  returned: always
  type: list
  elements: str
diff:
  description: Matched agents (C(server/service/name)) with their Enabled and Priority before and after.
  returned: when diff mode is on
  type: dict
'''

from ansible_collections.mxhero.unroute.plugins.module_utils import _runner
from ansible_collections.mxhero.unroute.plugins.module_utils._exchange import module as exchange

OPERATION = _runner.Operation(lambda engine, params, ctx: engine.transport_agents(
    params["state"], name=params["name"], services=params["transport_service"],
    restart=params["restart_services"]), remote=False)


def execute(params, ctx):
    return exchange.run(OPERATION, params, ctx)


ARGSPEC = exchange.ARGSPEC.extend(dict(
    state=dict(type="str", default="disabled", choices=["disabled", "absent"]),
    name=dict(type="str"),
    transport_service=dict(type="list", elements="str",
                           choices=["Hub", "FrontEnd", "MailboxSubmission", "MailboxDelivery", "Edge"]),
    restart_services=dict(type="bool", default=True),
))


def main():
    _runner.main(ARGSPEC, execute, name="mxhero.unroute.exchange_transport_agent")


if __name__ == "__main__":
    main()
