# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find Gmail send-as addresses that relay through mxHero (Gmail API ``users.settings.sendAs``).

A "send mail as" address may carry ``smtpMsa``: an external SMTP server Gmail hands that address's mail to.
When its host is mxHero's, that user's mail for the address still goes through mxHero. The relay can only be
changed with the user's credentials for another server, so this is reported with the manual step, never
changed. One token per user (domain-wide delegation acting as the user); suspended users are skipped (their
mailbox sends nothing).
"""

from __future__ import annotations

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._findings import finding
from ansible_collections.mxhero.unroute.plugins.module_utils._fingerprint import fingerprint_from_params, normalize_host
from ansible_collections.mxhero.unroute.plugins.module_utils._google import client as client_mod
from ansible_collections.mxhero.unroute.plugins.module_utils._google.grants import read_users

WHAT = "send-as addresses (Gmail API)"
WHY = ("only the user can point a send-as address at another SMTP server (it needs that server's credentials), and "
       "deleting the address would stop them sending as it")
PER_USER_GATEWAY = ("Admin console > Apps > Google Workspace > Gmail > End User Access > Allow per-user outbound "
                    "gateways")


def steps(email, alias, host):
    return ("Ask %s (or sign in as them) to open Gmail > Settings > See all settings > Accounts > Send mail as, "
            "choose \"edit info\" next to %s, and replace the SMTP server %s with the organisation's own relay (or "
            "delete the address if it is no longer used). To stop every such relay at once, turn off %s."
            % (email, alias, host, PER_USER_GATEWAY))


class SendAsRun(object):
    def __init__(self, params, client, warn=None):
        self.params = params
        self.domain = params["domain"]
        self.customer = params.get("customer") or "my_customer"
        self.max_users = params.get("max_users")
        try:
            self.fp = fingerprint_from_params(params)
        except ValueError as err:
            raise UnrouteError(self.domain, "options", str(err), "fix mxhero_ips")
        self.client = client
        self.findings, self.manual, self.warnings = [], [], []
        # The runner's warn callback; without one (unit tests) warnings are kept and returned.
        self.warn = warn or self.warnings.append
        self.skipped = []
        self.users_read = 0
        self.aliases = []

    def run(self):
        users = read_users(self.client, self.domain, WHAT, self.customer, self.max_users,
                           "a token and a sendAs.list call; nothing was read")
        self.users_read = len(users)
        for user in users:
            email = user.get("primaryEmail")
            if user.get("suspended"):
                self.skipped.append(email)
                continue
            try:
                aliases = self.client.list_send_as(email)
            except client_mod.NoMailbox:
                self.skipped.append(email)
                continue
            except client_mod.NotPermitted as err:
                raise UnrouteError(self.domain, WHAT, "reading the send-as addresses of %s was refused: %s"
                                   % (email, err), None)
            for alias in aliases:
                self._alias(email, alias)
        if self.skipped:
            self.warn("%s: %d user(s) without a mailbox to read (suspended or no Gmail) were not checked "
                      "for send-as relays: %s" % (self.domain, len(self.skipped), ", ".join(self.skipped)))
        return dict(changed=False, findings=self.findings, removed=[], added=[], manual_actions=self.manual,
                    warnings=self.warnings, users_read=self.users_read, users_skipped=len(self.skipped),
                    send_as=self.aliases)

    def _alias(self, email, alias):
        smtp = alias.get("smtpMsa") or {}
        host = str(smtp.get("host") or "")
        if not host:
            return
        evidence = self.fp.host(host) or self.fp.ip(normalize_host(host))
        if not evidence:
            return
        address = alias.get("sendAsEmail")
        record = {"user": email, "sendAsEmail": address, "smtpMsa": dict(smtp),
                  "verificationStatus": alias.get("verificationStatus")}
        self.aliases.append(record)
        obj = "send-as address %s of %s (SMTP relay %s:%s)" % (address, email, host, smtp.get("port"))
        text = steps(email, address, host)
        self.findings.append(finding("google", "send_as_relay", obj, [evidence], "manual", before=record,
                                     after=record, manual_steps=text, why=WHY))
        self.manual.append({"object": obj, "where": "Gmail > Settings > Accounts > Send mail as (user %s)" % email,
                            "steps": text, "why": WHY})
