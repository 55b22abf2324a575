#!/usr/bin/python
# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: exo_transport_rule
short_description: Disable or remove Exchange Online mail flow rules that route mail through mxHero
version_added: 0.2.0
description:
  - Lists every mail flow (transport) rule of the tenant, following paging to the end, and acts on the rules that
    route through an mxHero outbound connector (C(RouteMessageOutboundConnector) names a connector whose smart hosts
    are mxHero hosts), or whose conditions or actions name mxHero hosts or IP addresses or test C(X-mxHero-) headers.
  - V(disabled) (the default, what mxHero's own guide asks for) switches the rules off with C(Disable-TransportRule);
    V(absent) removes them and returns them in RV(removed).
  - A rule that only exempts mxHero (an C(ExceptIf...) condition), that lists mxHero IPs next to other
    addresses, or that routes through a connector whose smart hosts are mxHero's and a partner's, is not switched
    off; it is returned with action C(manual) and the steps to edit it.
    A rule that only has mxHero in its name, or only a wide network or C(a-b) range containing an mxHero address, is
    C(reported) (O(match_cidrs) makes the latter count).
  - When a rule switched off or removed routes mail to mxHero and also has other actions (a disclaimer, a header,
    a copy...), those stop too; the finding's C(why) and a warning name them.
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
  state:
    description:
      - V(disabled) switches matching rules off; V(absent) removes them.
    type: str
    default: disabled
    choices: [disabled, absent]
"""

EXAMPLES = r"""
- name: Disable the mail flow rules that route through mxHero (certificate credential)
  mxhero.unroute.exo_transport_rule:
    tenant_id: 9a1b2c3d-0000-4000-8000-000000000001
    client_id: 5e6f7a8b-0000-4000-8000-000000000002
    certificate_path: /etc/unroute/exo-app.pem
    domain: example.com

- name: Remove them instead, with a client secret, in Microsoft 365 GCC High
  mxhero.unroute.exo_transport_rule:
    tenant_id: "{{ m365_tenant_id }}"
    client_id: "{{ m365_client_id }}"
    client_secret: "{{ vault_m365_secret }}"
    authority_host: https://login.microsoftonline.us
    api_endpoint: https://outlook.office365.us
    state: absent
"""

RETURN = r"""
changed:
  description: Whether rules were (or, in check mode, would be) disabled or removed.
  returned: always
  type: bool
findings:
  description:
    - One entry per rule that references mxHero; C(action) is V(disabled), V(removed), V(would_disable),
      V(would_remove), V(kept) (already disabled), V(manual) (with C(manual_steps)) or V(reported) (with C(why)).
  returned: always
  type: list
  elements: dict
  sample:
    - platform: microsoft365
      kind: transport_rule
      object: Route outbound mail through mxHERO
      evidence: ["routes through connector 'mxHERO Outbound' (SmartHosts: host smtp.mxhero.com)"]
      action: disabled
      before: {Name: Route outbound mail through mxHERO, State: Enabled, Mode: Enforce, Priority: 0}
      after: {State: Disabled}
removed:
  description: Every rule removed (V(absent)), with all its properties as Exchange returned them.
  returned: always
  type: list
  elements: dict
  sample: [{kind: transport_rule, object: Route outbound mail through mxHERO, properties: {Name: "...", State: Enabled}}]
diff:
  description: Name and state of the matching rules before and after.
  returned: when diff mode is on
  type: dict
  sample:
    before: {transport_rules: [{Name: Route outbound mail through mxHERO, State: Enabled}]}
    after: {transport_rules: [{Name: Route outbound mail through mxHERO, State: Disabled}]}
"""

from ansible_collections.mxhero.unroute.plugins.module_utils import _runner
from ansible_collections.mxhero.unroute.plugins.module_utils._exo import module as exo_module

OPERATION = _runner.Operation(lambda engine, params, ctx: engine.transport_rules(params["state"]))


def execute(params, ctx):
    return exo_module.run(OPERATION, params, ctx)


ARGSPEC = exo_module.ARGSPEC.extend(dict(state=dict(type="str", default="disabled", choices=["disabled", "absent"])))


def main():
    _runner.main(ARGSPEC, execute, name="mxhero.unroute.exo_transport_rule")


if __name__ == "__main__":
    main()
