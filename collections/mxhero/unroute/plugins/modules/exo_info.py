#!/usr/bin/python
# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: exo_info
short_description: Report what in an Exchange Online tenant still points at mxHero
version_added: 0.2.0
description:
  - Read only. Returns the tenant's mail flow rules and connectors, and findings for those that reference mxHero.
  - Also reports ARC trusted sealers naming an mxHero domain, connection-filter IP allow list entries holding
    mxHero addresses, and journal rules that send to an mxHero address; each finding carries C(manual_steps).
    M(mxhero.unroute.exo_connector) removes the allow list entries that are mxHero addresses; the rest is for a
    person.
  - When the app may not read the ARC configuration, connection filter or journal rules, a warning says so and
    the rest is still returned.
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
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  checks:
    description:
      - What to read. V(rules) and V(connectors) return the objects and their findings (outbound connectors are
        read for V(rules) too, to know which connectors are mxHero's); V(arc), V(connection_filter) and
        V(journal) return the read-only findings.
      - The role C(mxhero.unroute.unroute) asks only for the read-only ones, since the other modules already
        report rules and connectors.
    type: list
    elements: str
    choices: [rules, connectors, arc, connection_filter, journal]
    default: [rules, connectors, arc, connection_filter, journal]
"""

EXAMPLES = r"""
- name: Audit a tenant
  mxhero.unroute.exo_info:
    tenant_id: 9a1b2c3d-0000-4000-8000-000000000001
    client_id: 5e6f7a8b-0000-4000-8000-000000000002
    certificate_path: /etc/unroute/exo-app.pem
    domain: example.com
  register: exo

- name: Show what is left
  ansible.builtin.debug:
    msg: "{{ exo.findings | map(attribute='object') | list }}"
"""

RETURN = r"""
changed:
  description: Always false.
  returned: always
  type: bool
findings:
  description:
    - Rules and connectors that reference mxHero (C(action) V(reported) or V(manual)), and C(arc_trusted_sealer),
      C(connection_filter_allow_ip) and C(journal_rule) findings with C(manual_steps).
  returned: always
  type: list
  elements: dict
  sample:
    - platform: microsoft365
      kind: arc_trusted_sealer
      object: mxhero.com
      evidence: ["ArcTrustedSealers: host mxhero.com"]
      action: reported
      manual_steps: "Microsoft Defender portal > ... > ARC: remove 'mxhero.com'"
transport_rules:
  description: Every mail flow rule of the tenant, as Exchange returned it (empty unless O(checks) has V(rules)).
  returned: always
  type: list
  elements: dict
outbound_connectors:
  description: Every outbound connector of the tenant, as Exchange returned it (empty unless O(checks) has V(rules) or V(connectors)).
  returned: always
  type: list
  elements: dict
inbound_connectors:
  description: Every inbound connector of the tenant, as Exchange returned it (empty unless O(checks) has V(connectors)).
  returned: always
  type: list
  elements: dict
removed:
  description: Always empty; this module changes nothing.
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.mxhero.unroute.plugins.module_utils import _runner
from ansible_collections.mxhero.unroute.plugins.module_utils._exo.engine import INFO_CHECKS
from ansible_collections.mxhero.unroute.plugins.module_utils._exo import module as exo_module

OPERATION = _runner.Operation(lambda engine, params, ctx: engine.info(params["checks"]))


def execute(params, ctx):
    return exo_module.run(OPERATION, params, ctx)


ARGSPEC = exo_module.ARGSPEC.extend(dict(checks=dict(type="list", elements="str", choices=list(INFO_CHECKS), default=list(INFO_CHECKS))))


def main():
    _runner.main(ARGSPEC, execute, name="mxhero.unroute.exo_info")


if __name__ == "__main__":
    main()
