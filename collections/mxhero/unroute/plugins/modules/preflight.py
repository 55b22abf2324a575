#!/usr/bin/python
# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: preflight
short_description: Prove, without changing anything, what a domain's run will need
version_added: 0.3.0
description:
  - Read only. For one domain, proves what the real run will need on each platform it uses and returns one check
    per thing proven (or found missing), and the domain's O(ignore:status).
  - DNS, the provider's read of the zone proves the credentials and that the zone is visible. Write permission
    is proven where the API can tell without writing, C(GET /user/tokens/verify) and the token's own permission
    groups at Cloudflare (which needs the token to hold API Tokens Read; otherwise unproven), the TSIG key of an
    RFC 2136 server (a signed SOA query answered with a valid TSIG; the update-policy itself cannot be read),
    PowerDNS's API key (not scoped); elsewhere the check says it is unproven.
  - Microsoft 365, a token for the app (partner mode included), C(Exchange.ManageAsApp) in its C(roles) claim,
    and C(Get-OutboundConnector) answering (HTTP 403 names the missing Exchange role).
  - Google Workspace, a token for each scope the run asks for, each alone; C(unauthorized_client) means domain-wide
    delegation lacks it, and the fix gives the client ID and the exact scope list.
  - Exchange Server, WinRM reachable and authenticated with the Exchange snap-in loaded on each transport server,
    and Exchange's remote PowerShell answering C(Get-ExchangeServer).
  - Mail servers, the role runs M(mxhero.unroute.mta_info) on each one over SSH with become and gives its answers
    in O(mta_results).
  - Each option of a platform is a mapping of the options that platform's modules take (the role passes the same
    connection options the run uses); they are checked against those modules' argument specs.
author:
  - mxhero-unroute developers (@mxhero-unroute)
extends_documentation_fragment:
  - mxhero.unroute.attributes
attributes:
  check_mode:
    support: full
    details:
      - Read-only; the same in check mode.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  domain:
    description: The customer domain.
    type: str
    required: true
  platform:
    description: The domain's platform (C(unroute_platform)); its connection options must be given.
    type: str
    choices: [other, mta, microsoft365, google, exchange]
    default: other
  dns:
    description:
      - The options of the DNS modules (M(mxhero.unroute.dns_mx)) for the domain's zone; omit to skip DNS.
    type: dict
  microsoft365:
    description: The options of the exo_* modules (M(mxhero.unroute.exo_info)), used when O(platform=microsoft365).
    type: dict
  google:
    description: The options of the google_* modules (M(mxhero.unroute.google_info)), used when O(platform=google).
    type: dict
  google_audit_log:
    description: Whether the run reads the admin audit log (its scope is then proven too).
    type: bool
    default: true
  google_app_grants:
    description: Whether the run revokes mxHero's OAuth grants (M(mxhero.unroute.google_app_grants); its scopes are then proven).
    type: bool
    default: true
  google_send_as:
    description: Whether the run reads send-as addresses (M(mxhero.unroute.google_send_as); its scopes are then proven).
    type: bool
    default: false
  exchange:
    description: The options of the exchange_* modules (M(mxhero.unroute.exchange_info)), used when O(platform=exchange).
    type: dict
  exchange_servers:
    description:
      - The transport servers (C(unroute_exchange_servers), each C(host) and optionally C(port), C(psrp_port), C(fqdn));
        empty means the one in O(exchange).
    type: list
    elements: dict
    default: []
  mta_results:
    description:
      - What M(mxhero.unroute.mta_info) answered on each mail server, one C(host), C(unreachable), C(failed), C(msg),
        C(mta) and C(config_dir) each (the role builds them).
    type: list
    elements: dict
    default: []
"""

EXAMPLES = r"""
- name: What would stop this domain's run?
  mxhero.unroute.preflight:
    domain: example.com
    platform: microsoft365
    microsoft365:
      tenant_id: 9a1b2c3d-0000-4000-8000-000000000001
      client_id: 5e6f7a8b-0000-4000-8000-000000000002
      certificate_path: /etc/unroute/exo-app.pem
      domain: example.com
    dns:
      zone: example.com
      provider: cloudflare
      cloudflare_api_token: "{{ vault_cloudflare_token }}"
  register: preflight

- name: Show what is missing
  ansible.builtin.debug:
    msg: "{{ preflight.status }}: {{ preflight.missing }}"
"""

RETURN = r"""
changed:
  description: Always false.
  returned: always
  type: bool
status:
  description:
    - V(ready), or the most serious need among the failed checks, V(unreachable), V(needs_credentials),
      V(needs_consent), V(needs_role), V(needs_delegation) or V(unproven) (docs/preflight.md).
  returned: success
  type: str
checks:
  description: One entry per check.
  returned: success
  type: list
  elements: dict
  contains:
    platform:
      description: V(dns), V(microsoft365), V(google), V(exchange) or V(mta).
      type: str
    object:
      description: What was checked (zone and provider, tenant and app, server...).
      type: str
    check:
      description: The check's name.
      type: str
    ok:
      description: False when the check found something missing.
      type: bool
    proven:
      description: False when the preflight cannot tell without writing; C(detail) says what was not proven.
      type: bool
    detail:
      description: What was found.
      type: str
    fix:
      description: What to do (empty when nothing).
      type: str
    status:
      description: V(ready), or what the domain needs when the check failed.
      type: str
  sample:
    - platform: dns
      object: zone example.com (cloudflare)
      check: write permission
      ok: false
      proven: true
      detail: the token has no DNS Write permission on zone example.com
      fix: "edit the API token: add Zone > DNS > Edit for zone example.com"
      status: needs_role
missing:
  description: Each failed check as one line naming the domain, the object, what is missing and the fix.
  returned: success
  type: list
  elements: str
unproven:
  description: Each check that passed without proof, as one line saying what could not be proven.
  returned: success
  type: list
  elements: str
findings:
  description: Always empty.
  returned: always
  type: list
  elements: dict
removed:
  description: Always empty.
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.mxhero.unroute.plugins.module_utils import _runner
from ansible_collections.mxhero.unroute.plugins.module_utils._preflight import preflight

ARGSPEC = _runner.ArgSpec(dict(
    domain=dict(type="str", required=True),
    platform=dict(type="str", default="other", choices=["other", "mta", "microsoft365", "google", "exchange"]),
    dns=dict(type="dict"),
    microsoft365=dict(type="dict"),
    google=dict(type="dict"),
    google_audit_log=dict(type="bool", default=True),
    google_app_grants=dict(type="bool", default=True),
    google_send_as=dict(type="bool", default=False),
    exchange=dict(type="dict"),
    exchange_servers=dict(type="list", elements="dict", default=[]),
    mta_results=dict(type="list", elements="dict", default=[]),
))


def execute(params, ctx):
    params = dict(params, google_features={"audit_log": params["google_audit_log"],
                                           "app_grants": params["google_app_grants"],
                                           "send_as": params["google_send_as"]})
    return preflight(params, ctx)


def main():
    _runner.main(ARGSPEC, execute, name="mxhero.unroute.preflight")


if __name__ == "__main__":
    main()
