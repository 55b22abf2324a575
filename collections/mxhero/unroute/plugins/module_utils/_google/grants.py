# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Revoke the OAuth grants users gave mxHero's apps (Directory API ``users.list``, ``tokens.list``,
``tokens.delete``).

Google has no bulk call: every user of the customer is listed (paging) and asked for their grants, one
call per user, so ``max_users`` keeps a run on a huge tenant from starting by accident. Only a grant whose
``clientId`` is mxHero's GWFIX client or one named in ``client_ids`` is ever touched. A revoked grant cannot
be put back by any API - the user consents again - and each record says so.
"""

from __future__ import annotations

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._findings import finding, planned
from ansible_collections.mxhero.unroute.plugins.module_utils._google import client as client_mod
from ansible_collections.mxhero.unroute.plugins.module_utils._google.engine import Pass

GWFIX_CLIENT_ID = "966519150562-uhu01pdic1gpe3vvmff0ga91bvhd7ub5.apps.googleusercontent.com"
NOT_RESTORABLE = ("no API recreates an OAuth grant: to give the app access again, the user signs in to it and "
                  "consents again")
APP_ACCESS_PLACE = "Admin console > Security > Access and data control > API controls > Manage Third-Party App Access"
WHAT = "users' OAuth grants (Directory API)"


def app_access_steps(domain, client_ids):
    return ("Sign in to the Google Admin console as a super admin of %s; go to %s; find the app with client ID %s "
            "(search by client ID), set its access to Blocked so that no user can grant it again; then open %s and "
            "delete any entry with one of those client IDs. No API can do either."
            % (domain, APP_ACCESS_PLACE, " or ".join(client_ids), client_mod.DWD_PATH))


def read_users(client, domain, what, customer, max_users, cost):
    """Every user of the customer, by address, or one line saying why a per-user run does not start."""
    try:
        users = client.list_users(customer, limit=max_users)
    except client_mod.NotPermitted as err:
        raise UnrouteError(domain, what, "listing users was refused: %s" % err, None)
    if max_users is not None and len(users) > max_users:
        raise UnrouteError(domain, what, "the customer has more than %d users (max_users), and each one costs %s"
                           % (max_users, cost), "raise max_users above the number of users to go through all of them")
    return sorted(users, key=lambda u: str(u.get("primaryEmail") or "").lower())


class GrantsRun(Pass):
    def __init__(self, params, check_mode=False, diff_mode=False, client=None, apply=True, warn=None):
        Pass.__init__(self, params, check_mode, diff_mode, apply, warn)
        ids = [GWFIX_CLIENT_ID] + [str(c).strip() for c in params.get("client_ids") or [] if str(c).strip()]
        self.client_ids = list(dict.fromkeys(ids))
        self.max_users = params.get("max_users")
        self.client = client
        self.grants = []
        self.users_read = 0

    def _why(self, client_id):
        if client_id == GWFIX_CLIENT_ID:
            return "client ID %s is mxHero's GWFIX app" % client_id
        return "client ID %s is listed in client_ids" % client_id

    def run(self):
        users = read_users(self.client, self.domain, WHAT, self.customer, self.max_users,
                           "a tokens.list call; no grant was read or changed")
        self.users_read = len(users)
        for user in users:
            self._user(user)
        mode = self.params.get("app_access_steps") or "when_found"
        if mode == "always" or (mode == "when_found" and self.findings):
            self._app_access_manual()
        return self.result()

    def _user(self, user):
        email = user.get("primaryEmail") or user.get("id")
        try:
            grants = self.client.list_tokens(user.get("id") or email)
        except client_mod.NotPermitted as err:
            raise self._with_partial(UnrouteError(self.domain, WHAT, "reading the grants of %s was refused: %s"
                                                  % (email, err), None))
        except UnrouteError as err:
            raise self._with_partial(err)
        if grants is None:
            self.warn("%s: user %s was listed but Google no longer knows them (deleted during the run); "
                      "skipped" % (self.domain, email))
            return
        self.grants.extend(dict(g, user=email) for g in grants)
        mine = [g for g in grants if g.get("clientId") in self.client_ids]
        if not mine:
            return
        self.before[email] = sorted(g.get("clientId") for g in grants)
        for grant in sorted(mine, key=lambda g: g.get("clientId")):
            self._grant(user, email, grant)
        gone = set(g.get("clientId") for g in mine)
        self.after[email] = [c for c in self.before[email] if c not in gone]

    def _grant(self, user, email, grant):
        client_id = grant.get("clientId")
        obj = "OAuth grant of %s to %s (client ID %s)" % (email, grant.get("displayText") or "an app", client_id)
        before = {"user": email, "user_id": user.get("id"), "suspended": bool(user.get("suspended")),
                  "clientId": client_id, "displayText": grant.get("displayText"), "scopes": list(grant.get("scopes") or []),
                  "nativeApp": grant.get("nativeApp"), "anonymous": grant.get("anonymous")}
        if self.apply:
            try:
                existed = self.client.delete_token(user.get("id") or email, client_id)
            except client_mod.NotPermitted as err:
                raise self._with_partial(UnrouteError(self.domain, obj, "revoking was refused: %s" % err, None))
            except UnrouteError as err:
                raise self._with_partial(err)
            if not existed:
                self.warn("%s: %s was already gone when this run came to revoke it" % (self.domain, obj))
            self.done.append("revoked %s" % obj)
        self.findings.append(finding("google", "oauth_grant", obj, [self._why(client_id)],
                                     planned("removed", self.check_mode), before=before, after=None,
                                     why="the app's access to %s's data ends; %s" % (email, NOT_RESTORABLE)))
        self.removed.append(dict(before, kind="oauth_grant", restorable=False, restore=NOT_RESTORABLE))

    def _app_access_manual(self):
        obj = "mxHero's app in API controls of %s (client ID %s)" % (self.domain, ", ".join(self.client_ids))
        steps = app_access_steps(self.domain, self.client_ids)
        why = ("no API blocks a third-party app or edits domain-wide delegation; revoking grants does not stop a "
               "user from granting the app again")
        self.findings.append(finding("google", "oauth_app", obj, ["client ID %s" % c for c in self.client_ids],
                                     "manual", manual_steps=steps, why=why))
        self.manual.append({"object": obj, "where": APP_ACCESS_PLACE, "steps": steps, "why": why})

    def _with_partial(self, err):
        if not self.done or err.partial:
            return err
        cause = "%s (already done before this error: %s)" % (err.cause, "; ".join(self.done))
        return UnrouteError(err.domain, err.obj, cause, err.fix, partial=list(self.done))

    def result(self):
        out = dict(changed=bool(self.removed), findings=self.findings, removed=self.removed, added=[],
                   manual_actions=self.manual, warnings=self.warnings, users_read=self.users_read,
                   client_ids=self.client_ids)
        # The runner turns these into the diff in diff mode (and drops them otherwise).
        out["before"] = self.before
        out["after"] = self.after
        return out
