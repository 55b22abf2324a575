#!/usr/bin/python
# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: mta_relay
short_description: Remove mxHero as relay (smart host) from Postfix, Exim or Sendmail
version_added: 0.2.0
description:
  - Runs on the mail server itself (over the host's normal connection, usually SSH, with C(become)) and finds every
    place the MTA relays mail through mxHero, as the fingerprint decides.
  - B(Postfix) - C(relayhost), C(smtp_fallback_relay) (and the old C(fallback_relay)), C(default_transport) and
    C(relay_transport) of the form C(smtp:[host]:port), entries of the lookup tables named by C(transport_maps),
    C(sender_dependent_relayhost_maps) and C(sender_dependent_default_transport_maps) (only the mxHero lines; indexed
    tables are rebuilt with C(postmap)), and C(-o) overrides of those parameters in master.cf services. main.cf and
    master.cf are edited only through C(postconf -e), C(-X), C(-P) and C(-PX); every command addresses the instance
    of O(config_dir) with C(-c). C(postfix check) must pass before C(postfix reload) (only when the instance runs);
    when it fails, every edited file is restored and the module fails. With O(state=replaced) Postfix is then asked
    for the new next hop, which must resolve, before the module reports C(changed) (see O(replacement)).
  - Removing a C(relayhost) is refused when the host is a null client with no other route (C(disable_dns_lookups =
    yes), C(smtp_dns_support_level = disabled) or C(default_transport = error)); use O(state=replaced).
  - B(Exim) (Debian exim4-config) - the mxHero hosts of C(dc_smarthost) in C(update-exim4.conf.conf), and
    C(route_list) entries of routers in the configuration in use (C(exim4.conf), the split C(conf.d/router) files
    or C(exim4.conf.template)); a router whose every route names mxHero is removed whole. Then
    C(update-exim4.conf) and a reload of exim4 when it runs. A smarthost or satellite configuration whose only
    smarthost is mxHero is refused unless O(replacement) or O(exim_configtype) says what routes mail instead.
  - B(Sendmail) - C(SMART_HOST), C(MAIL_HUB) and C(LUSER_RELAY) in C(sendmail.mc) and C(mailertable) entries;
    rebuilt with C(make -C) O(config_dir) when it has a Makefile (Debian), else with C(m4) and C(makemap), then
    sendmail is restarted when it runs.
  - One finding per place (a parameter, a table line, a master.cf service override, a router), so the run record
    says exactly what moved. A host with no mxHero relay reports no findings and changes nothing.
author:
  - mxhero-unroute developers (@mxhero-unroute)
extends_documentation_fragment:
  - mxhero.unroute.fingerprint
  - mxhero.unroute.attributes
attributes:
  check_mode:
    support: full
    details:
      - Returns the same findings and diff as a real run (Postfix edits are made on a scratch copy with the same
        C(postconf) commands); actions read C(would_remove) / C(would_change). Nothing on the host is written.
  diff_mode:
    support: full
    details:
      - The whole of every file that changes, before and after, each under a C(# path) line.
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
      - Use C(delegate_to) a mail server to run it there from a play over customer domains (the role does so for
        C(unroute_mta_hosts)); it acts on the host it runs on.
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
options:
  mta:
    description:
      - The mail server software. V(auto) looks for its configuration (in O(config_dir) when given, else in
        C(/etc/postfix), C(/etc/exim4), C(/etc/mail)) and, when more than one is configured, picks the one running.
    type: str
    default: auto
    choices: [auto, postfix, exim, sendmail]
  state:
    description:
      - V(absent) removes mxHero from every place it relays through.
      - V(replaced) puts O(replacement) where mxHero was (a list keeps its other hosts).
    type: str
    default: absent
    choices: [absent, replaced]
  replacement:
    description:
      - The relay to use instead of mxHero, as C(host), C(host:port), C([host]) or C([host]:port) (one relay; a
        port is a number). Required with O(state=replaced); refused when it is an mxHero host or address.
      - Checked by the grammar of the target MTA before anything is read or written, in check mode and real runs
        alike, and refused in one line naming the value (for example C([relay.isp.example]]:25)).
      - Postfix writes it rebuilt from the parsed parts (brackets turn off the MX lookup) and takes an IP address
        only in brackets; C(transport:nexthop) (for example C(relay:[relay.isp.example]:587)) replaces the whole
        value of C(default_transport), C(relay_transport) and transport map entries, and is refused where a place
        takes a next hop only (C(relayhost)) or when master.cf has no such service. After the reload Postfix reads
        every changed place back (C(postconf -h), C(postconf -P), C(postmap -q)) and the replacement's host must
        resolve on the mail server; otherwise every file is restored, Postfix reloaded again, and the module fails
        naming the value.
      - Exim writes C(host::port) (IPv6 colons doubled); Sendmail writes C([host]) (C([IPv6:addr])) and takes no
        port. Neither takes C(transport:nexthop). After the rebuild and reload the replacement's host must resolve on
        the mail server too; otherwise every file is restored and rebuilt, and the module fails naming the value.
    type: str
  config_dir:
    description:
      - Postfix - the instance's configuration directory, passed as C(-c) to every C(postconf), C(postmap) and
        C(postfix) command (multi-instance hosts). Default the instance C(postconf) reports, usually C(/etc/postfix).
      - Exim - the directory of C(update-exim4.conf.conf) (default C(/etc/exim4)); another directory is built with
        C(update-exim4.conf --confdir) into C(config.autogenerated) inside it, and Exim is not reloaded.
      - Sendmail - the directory of C(sendmail.mc) (default C(/etc/mail)); another directory is not restarted.
    type: path
  backup:
    description:
      - Leave a copy of every file before it is edited next to it (C(FILE.PID.DATE~)). Rollback after a failed check
        works from memory whether or not this is set.
    type: bool
    default: true
  exim_configtype:
    description:
      - For Exim, the C(dc_eximconfig_configtype) to switch to when removing mxHero leaves a C(smarthost) or
        C(satellite) configuration with no smarthost (without it, or O(replacement), the module refuses).
    type: str
    choices: [internet, local]
notes:
  - Needs root (C(become)) on the mail server to edit its configuration and reload it.
  - Lookup tables other than files (C(mysql:), C(ldap:), C(inline:) and the like) are reported as C(manual) findings
    when their definition names mxHero; their content is not read.
seealso:
  - name: Postfix postconf(1)
    description: How postconf edits main.cf and master.cf.
    link: https://www.postfix.org/postconf.1.html
"""

EXAMPLES = r"""
- name: Remove mxHero as relay on every mail server
  mxhero.unroute.mta_relay:
  become: true

- name: Relay through the ISP instead, on the second Postfix instance
  mxhero.unroute.mta_relay:
    mta: postfix
    config_dir: /etc/postfix-out
    state: replaced
    replacement: "[smtp.isp.example]:587"
  become: true

- name: An Exim satellite whose only smarthost was mxHero delivers directly from now on
  mxhero.unroute.mta_relay:
    mta: exim
    exim_configtype: internet
  become: true
"""

RETURN = r"""
changed:
  description: Whether a file was (or, in check mode, would be) changed.
  returned: always
  type: bool
findings:
  description: One entry per place mxHero was found (V(removed)/V(changed), V(would_remove)/V(would_change) in check
    mode, V(manual) for a table the module cannot edit).
  returned: always
  type: list
  elements: dict
  sample:
    - platform: mta
      kind: relayhost
      object: "mail1: /etc/postfix/main.cf relayhost"
      evidence: ["host smtp.mxhero.com"]
      action: removed
      before: {file: /etc/postfix/main.cf, parameter: relayhost, value: "[smtp.mxhero.com]:25"}
      after: {file: /etc/postfix/main.cf, parameter: relayhost, value: null}
removed:
  description: Each place as it was before the change (file, parameter or key, value), to put it back by hand;
    RV(backup_files) hold the whole files.
  returned: always
  type: list
  elements: dict
  sample: [{file: /etc/postfix/main.cf, parameter: relayhost, value: "[smtp.mxhero.com]:25"}]
added:
  description: Always empty.
  returned: always
  type: list
  elements: dict
cautions:
  description: What an administrator must hear about (for example a tool a real run would need).
  returned: always
  type: list
  elements: str
mta:
  description: The MTA the module worked on (V(postfix), V(exim) or V(sendmail)).
  returned: success
  type: str
config_dir:
  description: The configuration directory it worked on.
  returned: success
  type: str
host:
  description: The mail server's host name, as named in findings and errors.
  returned: success
  type: str
files:
  description: The files that changed (or would change).
  returned: success
  type: list
  elements: str
backup_files:
  description: The copies made before editing (empty in check mode or with O(backup=false)).
  returned: success
  type: list
  elements: str
reloaded:
  description: Whether the running MTA was reloaded (restarted for Sendmail); false when it does not run.
  returned: success
  type: bool
diff:
  description: Every changed file, before and after.
  returned: when diff mode is on
  type: dict
"""

from ansible_collections.mxhero.unroute.plugins.module_utils import _runner
from ansible_collections.mxhero.unroute.plugins.module_utils._mta import module as mta

OPERATION = _runner.Operation(mta.relay)


def execute(params, ctx):
    return mta.run(OPERATION, params, ctx)


ARGSPEC = mta.ARGSPEC.extend(dict(
    state=dict(type="str", default="absent", choices=["absent", "replaced"]),
    replacement=dict(type="str"),
    backup=dict(type="bool", default=True),
    exim_configtype=dict(type="str", choices=["internet", "local"]),
), required_if=[("state", "replaced", ("replacement",))])


def main():
    _runner.main(ARGSPEC, execute, name="mxhero.unroute.mta_relay")


if __name__ == "__main__":
    main()
