#!/usr/bin/python
# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: exo_connector
short_description: Disable or remove Exchange Online connectors to and from mxHero
version_added: 0.2.0
description:
  - Lists the tenant's outbound and/or inbound connectors, following paging to the end, and acts on the connectors
    that point at mxHero, that is outbound C(SmartHosts) (or C(TlsDomain)) that are mxHero hosts or IPs; inbound
    C(SenderIPAddresses) that are mxHero IPs or a C(TlsSenderCertificateName) under an mxHero domain.
  - V(disabled) (the default) sets C(Enabled) to false; V(absent) removes the connector and returns it in
    RV(removed).
  - Enabled mail flow rules that route through an outbound connector about to be changed are disabled first,
    because Exchange refuses to disable or remove a connector that an enabled rule routes through.
    Outbound connectors are handled before inbound ones.
  - A connector that lists mxHero next to other smart hosts or sender IPs is not touched; it is returned with action
    C(manual) and the steps to edit it. A connector that only has mxHero in its name is C(reported).
  - Connectors in test mode are read too (C(-IncludeTestModeConnectors $true)); Exchange leaves them out otherwise.
  - With O(direction) V(inbound) or V(both), mxHero's own addresses are also taken out of every hosted connection
    filter policy's IP allow list (C(Set-HostedConnectionFilterPolicy -IPAllowList @{Remove=...})), whatever
    O(state); nothing else in the list is touched. An entry that is a wider network or an C(a-b) range merely
    containing an mxHero address stays and is C(reported), unless O(match_cidrs) is set. When the app may not read
    the policies, a warning says so and the connectors are still handled.
  - A rule disabled first that also has other actions (a disclaimer, a header...) is named in a warning and its
    finding's C(why), since those actions stop too.
  - Each change is read back, tolerating Exchange's replication delay, before it is reported done.
author:
  - mxhero-unroute developers (@mxhero-unroute)
extends_documentation_fragment:
  - mxhero.unroute.microsoft365
  - mxhero.unroute.fingerprint
  - mxhero.unroute.attributes
  - mxhero.unroute.microsoft365.ACTIONGROUP
attributes:
  check_mode:
    support: full
    details:
      - Returns the same findings and diff as a real run; actions read C(would_disable) or C(would_remove).
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  direction:
    description:
      - Which connectors to work on. V(both) handles outbound connectors first.
    type: str
    default: both
    choices: [outbound, inbound, both]
  state:
    description:
      - V(disabled) switches matching connectors off; V(absent) removes them.
    type: str
    default: disabled
    choices: [disabled, absent]
"""

EXAMPLES = r"""
- name: Disable mxHero connectors (and, first, the rules that route through them)
  mxhero.unroute.exo_connector:
    tenant_id: 9a1b2c3d-0000-4000-8000-000000000001
    client_id: 5e6f7a8b-0000-4000-8000-000000000002
    certificate_path: /etc/unroute/exo-app.pfx
    certificate_password: "{{ vault_pfx_password }}"
    domain: example.com

- name: Remove only the inbound connector that accepted mail from mxHero
  mxhero.unroute.exo_connector:
    tenant_id: "{{ m365_tenant_id }}"
    client_id: "{{ m365_client_id }}"
    certificate_path: /etc/unroute/exo-app.pem
    direction: inbound
    state: absent
"""

RETURN = r"""
changed:
  description: Whether connectors or rules were (or, in check mode, would be) disabled or removed.
  returned: always
  type: bool
findings:
  description:
    - One entry per connector that references mxHero (kind C(outbound_connector) or C(inbound_connector)), plus one
      per rule disabled first because it routes through such a connector (kind C(transport_rule)), plus one per
      connection filter IP allow list entry that is or contains an mxHero address (kind
      C(connection_filter_allow_ip), object is the policy name and the entry, C(before) the whole list, C(after) what stays).
    - C(action) is V(disabled), V(removed), V(would_disable), V(would_remove), V(kept) (already disabled),
      V(manual) (with C(manual_steps)) or V(reported) (with C(why)).
  returned: always
  type: list
  elements: dict
  sample:
    - platform: microsoft365
      kind: outbound_connector
      object: mxHERO Outbound
      evidence: ["SmartHosts: host smtp.mxhero.com"]
      action: disabled
      before: {Name: mxHERO Outbound, Enabled: true, SmartHosts: [smtp.mxhero.com]}
      after: {Enabled: false}
removed:
  description:
    - Every connector removed (V(absent)), with all its properties as Exchange returned them.
    - Every IP allow list entry removed, as kind C(connection_filter_allow_ip) with properties C(Identity) and
      C(IPAllowList) (that one entry).
  returned: always
  type: list
  elements: dict
  sample: [{kind: outbound_connector, object: mxHERO Outbound, properties: {Name: mxHERO Outbound, Enabled: true}}]
diff:
  description:
    - Name and C(Enabled)/C(State) of the matching connectors and dependent rules before and after.
    - With O(direction) V(inbound) or V(both), also C(connection_filter), the name and C(IPAllowList) of each policy
      that loses entries.
  returned: when diff mode is on
  type: dict
  sample:
    before: {outbound_connectors: [{Name: mxHERO Outbound, Enabled: true}], inbound_connectors: [],
             transport_rules: []}
    after: {outbound_connectors: [{Name: mxHERO Outbound, Enabled: false}], inbound_connectors: [],
            transport_rules: []}
"""

from ansible_collections.mxhero.unroute.plugins.module_utils import _runner
from ansible_collections.mxhero.unroute.plugins.module_utils._exo import module as exo_module

OPERATION = _runner.Operation(lambda engine, params, ctx: engine.connectors(params["direction"], params["state"]))


def execute(params, ctx):
    return exo_module.run(OPERATION, params, ctx)


ARGSPEC = exo_module.ARGSPEC.extend(dict(
    direction=dict(type="str", default="both", choices=["outbound", "inbound", "both"]),
    state=dict(type="str", default="disabled", choices=["disabled", "absent"]),
))


def main():
    _runner.main(ARGSPEC, execute, name="mxhero.unroute.exo_connector")


if __name__ == "__main__":
    main()
