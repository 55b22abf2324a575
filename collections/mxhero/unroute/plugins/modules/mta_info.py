#!/usr/bin/python
# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: mta_info
short_description: Report where a Postfix, Exim or Sendmail server relays through mxHero, and mail queued for it
version_added: 0.2.0
description:
  - Read-only audit on the mail server itself (over SSH) - the same places, with the same findings as
    M(mxhero.unroute.mta_relay), each with action V(reported). Nothing is written.
  - Says what M(mxhero.unroute.mta_relay) would refuse (for example a satellite whose only smarthost is mxHero) in
    RV(refusals) and as warnings.
  - Lists mail still queued for mxHero in RV(queued) - Postfix (C(postqueue -c DIR -j), which needs the instance
    running) by recipients whose delay reason names an mxHero host or address, or every queued recipient while
    C(relayhost) or C(default_transport) is mxHero's; Exim (C(exim -bp)) every queued recipient while its smarthost
    is mxHero's. Sendmail's queue is not read.
author:
  - mxhero-unroute developers (@mxhero-unroute)
extends_documentation_fragment:
  - mxhero.unroute.fingerprint
  - mxhero.unroute.attributes
attributes:
  check_mode:
    support: full
    details:
      - This module never changes anything.
  diff_mode:
    support: none
  idempotent:
    support: full
  action:
    support: none
    details:
      - A classic module that runs on the mail server; there is no action plugin.
  async:
    support: none
  delegation:
    support: full
    details:
      - Use C(delegate_to) a mail server to read it from a play over customer domains; it reads the host it runs on.
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
options:
  mta:
    description:
      - The mail server software; V(auto) as in M(mxhero.unroute.mta_relay).
    type: str
    default: auto
    choices: [auto, postfix, exim, sendmail]
  config_dir:
    description:
      - The configuration directory (a Postfix instance's C(-c) directory), as in M(mxhero.unroute.mta_relay).
    type: path
notes:
  - Needs root (C(become)) to read the queue and protected configuration files.
"""

EXAMPLES = r"""
- name: Audit every mail server
  mxhero.unroute.mta_info:
  become: true
  register: mta

- name: Say what is still waiting for mxHero
  ansible.builtin.debug:
    msg: "{{ mta.queued | length }} recipient(s) queued for mxHero"
"""

RETURN = r"""
findings:
  description: One entry per place mxHero is the relay (action V(reported), or V(manual) for a table the module
    cannot read), as mxhero.unroute.mta_relay would act on them.
  returned: always
  type: list
  elements: dict
refusals:
  description: What mxhero.unroute.mta_relay would refuse to do, one line each.
  returned: success
  type: list
  elements: str
queued:
  description: Queued recipients waiting for mxHero (queue id, queue, sender, recipient, delay reason, evidence).
  returned: success
  type: list
  elements: dict
  sample:
    - queue_id: 4BfX2k0zqXz9v
      queue: deferred
      sender: app@example.com
      recipient: someone@example.net
      reason: "connect to smtp.mxhero.com[54.208.111.28]:25: Connection timed out"
      evidence: ["host smtp.mxhero.com"]
mta:
  description: The MTA read.
  returned: success
  type: str
config_dir:
  description: The configuration directory read.
  returned: success
  type: str
host:
  description: The mail server's host name.
  returned: success
  type: str
changed:
  description: Always false.
  returned: always
  type: bool
removed:
  description: Always empty.
  returned: always
  type: list
  elements: dict
added:
  description: Always empty.
  returned: always
  type: list
  elements: dict
cautions:
  description: Refusals a run would meet and queues that could not be read.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.mxhero.unroute.plugins.module_utils import _runner
from ansible_collections.mxhero.unroute.plugins.module_utils._mta import module as mta

OPERATION = _runner.Operation(mta.audit, read_only=True)


def execute(params, ctx):
    return mta.run(OPERATION, params, ctx)


ARGSPEC = mta.ARGSPEC


def main():
    _runner.main(ARGSPEC, execute, name="mxhero.unroute.mta_info")


if __name__ == "__main__":
    main()
