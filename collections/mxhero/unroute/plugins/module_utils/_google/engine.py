# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read Gmail's state, match it with the fingerprint, plan, apply - behind two backends:

- ``policy`` (default): Cloud Identity Policy API. Reads every Gmail policy of the
  customer, changes what the user says Google lets the API change, and returns a
  manual action for the rest - always including the outbound gateway, which that
  API does not expose.
- ``admin_settings`` (legacy, opt-in): the Admin Settings API ``email/gateway``
  resource the seed's GWFIX used; Google turned it off on 2018-10-31.
"""

from __future__ import annotations

import copy

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._findings import finding, planned
from ansible_collections.mxhero.unroute.plugins.module_utils._fingerprint import fingerprint_from_params, normalize_host
from ansible_collections.mxhero.unroute.plugins.module_utils._google import audit
from ansible_collections.mxhero.unroute.plugins.module_utils._google import client as client_mod
from ansible_collections.mxhero.unroute.plugins.module_utils._google import settings

GMAIL_FILTER = "setting.type.matches('^settings/gmail\\\\..*$')"
SEED_HOSTS = ("gmail-out.mxhero.com", "gmail.mxhero.com", "smtp.mxhero.com")
GATEWAY_WHY = ("the Cloud Identity Policy API publishes no setting type for the domain's outbound gateway, so it "
               "can be neither read nor cleared by API")
NETWORK_WHY = "a network that contains an mxHero address may hold other senders too; set match_cidrs to treat it as mxHero"
BLOCK_WHY = ("this is a block list: the mxHero entry keeps mail from mxHero's servers out, and removing it would let "
             "them deliver again - unblocking mxHero is not unrouting it - so a block or deny list is never changed, "
             "even when its type is in mutable_setting_types; remove the entry by hand only if you mean to accept "
             "mail from mxHero")
# Setting types and value fields that refuse senders rather than route or admit them.
_BLOCK_WORDS = ("block", "deny", "denied")


def fp_addresses(fp):
    """The fingerprint's addresses as a person types them (single hosts without their /32 or /128)."""
    shown = (str(n) for n in fp.networks)
    return ", ".join(t.rsplit("/", 1)[0] if t.endswith(("/32", "/128")) else t for t in shown)


def gateway_steps(domain, fp):
    return ("Sign in to the Google Admin console as a super admin of %s; go to %s; select the "
            "top-level organisation; if the Outbound gateway field holds an mxHero host "
            "(%s, or any name ending in .mxhero.com) or an mxHero address (%s) clear the field; save. Also check "
            "Routing > Hosts and Inbound gateway for mxHero hosts or IPs. Changes can take up to an hour to apply."
            % (domain, settings.GATEWAY_PLACE, ", ".join(SEED_HOSTS), fp_addresses(fp)))


def make_client(params, scopes):
    return client_mod.GoogleClient(
        params["domain"], credentials_file=params.get("credentials_file"),
        credentials_data=params.get("credentials_data"), subject=params.get("subject"),
        access_token=params.get("access_token"), scopes=scopes, api_endpoint=params.get("api_endpoint"),
        admin_settings_endpoint=params.get("admin_settings_endpoint"), ca_file=params.get("ca_path"),
        timeout=params.get("timeout") or 30, token_uri=params.get("token_uri"))


def scopes_for(api, write):
    if api == "admin_settings":
        return [client_mod.SCOPE_ADMIN_SETTINGS]
    # The narrowest scope that works: read-only unless this run writes.
    return [client_mod.SCOPE_POLICIES if write else client_mod.SCOPE_POLICIES_RO]


# -- matching a policy value ---------------------------------------------------------
def _scan(value, fp, path=""):
    """Yield (path, evidence, removable, element) for every mxHero reference in a setting value.

    Only a plain string element of a list that *is* an mxHero host or address is
    removable: everything else (text mentioning mxHero, rules holding a host) needs
    a person, because editing it could change what the rule means.
    """
    if isinstance(value, dict):
        for key in sorted(value):
            yield from _scan(value[key], fp, "%s.%s" % (path, key) if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            where = "%s[%d]" % (path, index)
            if isinstance(item, str):
                exact = fp.host(item) or fp.ip(item)
                if exact:
                    yield (where, exact, True, item)
                    continue
                for evidence in fp.scan_text(item):
                    yield (where, evidence, False, item)
                overlap = fp.ip_overlap(item)
                if overlap:
                    yield (where, overlap, None, item)
            else:
                for hit in _scan(item, fp, where):
                    yield (hit[0], hit[1], False if hit[2] else hit[2], hit[3])
    elif isinstance(value, str):
        for evidence in fp.scan_text(value):
            yield (path, evidence, False, value)


def _without(value, removals):
    """``value`` with the removable list elements (by path) taken out."""
    out = copy.deepcopy(value)
    groups = {}
    for path in removals:
        head, index = path.rsplit("[", 1)
        groups.setdefault(head, set()).add(int(index.rstrip("]")))
    for head, indexes in groups.items():
        node = out
        for key in head.split("."):
            node = node[key]
        node[:] = [item for i, item in enumerate(node) if i not in indexes]
    return out


def _blocking(setting_type, path):
    """True when the entry at ``path`` sits in a block or deny list (by setting type or by field name)."""
    fields = [part.split("[", 1)[0] for part in path.split(".")]
    texts = [t.lower() for t in [settings.bare(setting_type)] + fields]
    return any(word in t and "unblock" not in t for t in texts for word in _BLOCK_WORDS)


def plan_policy(policy, fp, mutable):
    """What to do with one policy: None when it holds nothing of mxHero.

    ``mode``/``evidence``/``why`` is the main action (change, manual or reported); ``also_reported``
    lists the references that are only reported next to it (wider networks, block lists), so that one
    audit shows every mxHero reference a policy holds.
    """
    setting = policy.get("setting") or {}
    value = setting.get("value") or {}
    setting_type = setting.get("type")
    hits = list(_scan(value, fp))
    if not hits:
        return None
    blocked = [h for h in hits if _blocking(setting_type, h[0])]
    overlaps = [h for h in hits if h[2] is None and h not in blocked]
    matches = [h for h in hits if h[2] is not None and h not in blocked]
    reports = []
    if overlaps:
        reports.append({"evidence": ["%s at %s" % (h[1], h[0]) for h in overlaps], "why": NETWORK_WHY})
    if blocked:
        reports.append({"evidence": ["%s at %s" % (h[1], h[0]) for h in blocked], "why": BLOCK_WHY})
    plan = {"policy": policy, "type": setting_type, "evidence": ["%s at %s" % (h[1], h[0]) for h in matches],
            "value": value, "new_value": value, "removed_values": [], "mode": None, "why": None,
            "also_reported": reports}
    if not matches:
        first = reports.pop(0)
        plan.update(mode="reported", evidence=first["evidence"], why=first["why"])
        return plan
    fixed = [h for h in matches if h[2]]
    if len(fixed) != len(matches):
        plan["why"] = "an mxHero reference sits inside a rule or text; a person must edit or delete that rule"
    elif policy.get("type") == "SYSTEM":
        plan["why"] = "this is Google's SYSTEM policy, which the API does not change"
    elif settings.bare(setting_type) not in mutable:
        plan["why"] = ("setting type %s is not in mutable_setting_types (Google's list of settings the API may "
                       "change)" % setting_type)
    if plan["why"]:
        plan["mode"] = "manual"
        return plan
    plan["mode"] = "change"
    plan["removed_values"] = [h[3] for h in fixed]
    plan["new_value"] = _without(value, [h[0] for h in fixed])
    return plan


def _policy_object(policy, target):
    return "%s %s (%s)" % (policy.get("name"), (policy.get("setting") or {}).get("type"), target)


def _manual_steps(plan, target):
    items = sorted(set(h.split(" ", 1)[1].split(" at ")[0] for h in plan["evidence"]))
    return ("Go to %s, select %s, remove the mxHero entries (%s) from that setting, keep every other entry, save."
            % (settings.place(plan["type"]), target, ", ".join(items)))


# -- the run ---------------------------------------------------------------------------
class Pass(object):
    """What every run over one Google domain starts with: its mode, and where findings and warnings go."""

    def __init__(self, params, check_mode, diff_mode, apply, warn):
        self.params = params
        self.domain = params["domain"]
        self.check_mode = check_mode
        self.diff_mode = diff_mode
        self.apply = apply and not check_mode
        self.customer = params.get("customer") or "my_customer"
        self.findings, self.removed, self.manual, self.done = [], [], [], []
        # The runner's warn callback; without one (info, unit tests) warnings are kept and returned.
        self.warnings = []
        self.warn = warn or self.warnings.append
        self.before, self.after = {}, {}


class Run(Pass):
    def __init__(self, params, check_mode=False, diff_mode=False, client=None, apply=True, warn=None):
        Pass.__init__(self, params, check_mode, diff_mode, apply, warn)
        self.api = params.get("api") or "policy"
        try:
            self.fp = fingerprint_from_params(params)
        except ValueError as err:
            raise UnrouteError(self.domain, "options", str(err), "fix mxhero_ips")
        self.client = client or make_client(params, scopes_for(self.api, self.apply))
        self.changed = False
        self.extra = {}
        self.policies = []
        self._org_units = None
        self._org_units_note = None

    def result(self):
        # before/after whatever the diff flag: the runner makes the diff of them, and the plan digest covers
        # the state read (every policy holding an mxHero reference), so an audit with --diff and a reviewed run
        # without it agree, and a setting changed in between is drift.
        out = dict(changed=self.changed, findings=self.findings, removed=self.removed, added=[],
                   manual_actions=self.manual, api=self.api, warnings=self.warnings, before=self.before,
                   after=self.after)
        out.update(self.extra)
        return out

    def _manual(self, obj, where, steps, why):
        self.manual.append({"object": obj, "where": where, "steps": steps, "why": why})

    def run(self):
        if self.api == "admin_settings":
            self._admin_settings()
        else:
            self._policy()
        return self.result()

    # -- policy backend ------------------------------------------------------------
    def _policy(self):
        mutable = set(settings.bare(t) for t in self.params.get("mutable_setting_types") or [])
        policies = self.client.list_policies(self.customer, GMAIL_FILTER)
        self.policies = policies
        self.extra["policies_read"] = len(policies)
        self.extra["gateway_readable"] = False
        try:
            for policy in sorted(policies, key=lambda p: p.get("name") or ""):
                plan = plan_policy(policy, self.fp, mutable)
                if plan is None:
                    continue
                self._policy_finding(plan)
        except UnrouteError as err:
            raise self._with_partial(err)
        if self.params.get("gateway_verified"):
            self.warn("%s: the outbound gateway was not checked: gateway_verified says a person did it"
                      % self.domain)
        else:
            self._gateway_manual()

    # -- organisational units, named as the Admin console shows them ------------------------------
    def _read_org_units(self):
        self._org_units = {}
        try:
            units = self.client.list_org_units(self.customer)
        except client_mod.NotPermitted as err:
            self._org_units_note = str(err)
        except UnrouteError as err:
            self._org_units_note = err.cause + ("; " + err.fix if err.fix else "")
        else:
            for unit in units:
                uid = str(unit.get("orgUnitId") or "")
                self._org_units["orgUnits/" + (uid[3:] if uid.startswith("id:") else uid)] = unit
        if self._org_units_note:
            self.warn("%s: organisational units are named by id only, because their paths could not be "
                      "read (Directory API orgunits): %s" % (self.domain, self._org_units_note))

    def _target(self, policy):
        """Where a policy applies, as a person finds it: org unit path with its id in brackets, or group."""
        query = policy.get("policyQuery") or {}
        if query.get("group"):
            return "group %s" % query["group"]
        ref = query.get("orgUnit")
        if not ref:
            return "the whole customer"
        if self._org_units is None:
            self._read_org_units()
        unit = self._org_units.get(ref)
        if unit is None:
            if self._org_units_note:
                return "the org unit whose id is %s (its path could not be read; see cautions)" % ref
            return "the org unit whose id is %s (the Directory API does not list it)" % ref
        path = unit.get("orgUnitPath") or "/"
        if path == "/":
            return "the top-level organisation \"%s\" (/) [%s]" % (unit.get("name") or self.domain, ref)
        return "org unit %s [%s]" % (path, ref)

    def _policy_finding(self, plan):
        plan["target"] = self._target(plan["policy"])
        plan["object"] = _policy_object(plan["policy"], plan["target"])
        # The value as listed, before any change, so a real run reports exactly what check mode does.
        before = {"type": plan["type"], "value": plan["value"]}
        extras = plan.get("also_reported") or []
        self._main_finding(plan)
        for extra in extras:
            self.findings.append(finding("google", "gmail_policy", plan["object"], extra["evidence"], "reported",
                                         before=before, after=before, why=extra["why"]))

    def _main_finding(self, plan):
        obj, target, policy = plan["object"], plan["target"], plan["policy"]
        name = policy.get("name")
        before = {"type": plan["type"], "value": plan["value"]}
        if plan["mode"] == "reported":
            self.findings.append(finding("google", "gmail_policy", obj, plan["evidence"], "reported",
                                         before=before, after=before, why=plan["why"]))
            self.before[name] = before
            self.after[name] = before
            return
        if plan["mode"] == "manual":
            steps = _manual_steps(plan, target)
            self.findings.append(finding("google", "gmail_policy", obj, plan["evidence"], "manual",
                                         before=before, after=before, manual_steps=steps, why=plan["why"]))
            self._manual(obj, settings.place(plan["type"]), steps, plan["why"])
            self.before[name] = before
            self.after[name] = before
            return
        after = {"type": plan["type"], "value": plan["new_value"]}
        if self.apply:
            outcome = self._apply_policy(plan)
            if outcome is not None:
                return outcome
        self.changed = True
        self.before[name] = before
        self.after[name] = after
        self.findings.append(finding("google", "gmail_policy", obj, plan["evidence"],
                                     planned("changed", self.check_mode), before=before, after=after,
                                     why="the mxHero entries %s come out of the list; every other entry stays"
                                         % ", ".join(plan["removed_values"])))
        self.removed.append({"kind": "gmail_policy_entries", "policy": copy.deepcopy(policy),
                             "entries": plan["removed_values"]})
        return None

    def _apply_policy(self, plan):
        """Re-read, patch, verify. Returns None when changed; otherwise it recorded what happened."""
        name = plan["policy"]["name"]
        fresh = self.client.get_policy(name)
        mutable = set(settings.bare(t) for t in self.params.get("mutable_setting_types") or [])
        again = plan_policy(fresh, self.fp, mutable)
        if again is None or again["mode"] != "change":
            # Someone changed it between list and write: report what is there now, touch nothing.
            self.warn("%s: policy %s changed while this run read it; not modified, run again"
                      % (self.domain, name))
            if again is not None:
                again.update(target=plan["target"], object=plan["object"])
                self._main_finding(again)
            return False
        again.pop("also_reported", None)
        plan.update(again)
        try:
            self.client.patch_policy(name, {"type": plan["type"], "value": plan["new_value"]})
        except client_mod.MutateUnsupported as err:
            plan["mode"] = "manual"
            plan["why"] = ("Google answered that %s cannot be changed through the API (%s); nothing was changed"
                           % (plan["type"], err))
            self.warn("%s: %s is listed in mutable_setting_types but Google refused the change; "
                      "it is left as a manual action" % (self.domain, plan["type"]))
            self._main_finding(plan)
            return False
        except UnrouteError as err:
            raise self._with_partial(err)
        left = plan_policy(self.client.get_policy(name), self.fp, mutable)
        if left is not None and set(left["removed_values"]) & set(plan["removed_values"]):
            raise self._with_partial(UnrouteError(
                self.domain, name, "Google accepted the change but the policy still holds %s"
                % ", ".join(plan["removed_values"]), "check the policy in the Admin console"))
        self.done.append("policy %s: removed %s" % (name, ", ".join(plan["removed_values"])))
        return None

    def _with_partial(self, err):
        """The same error, saying what this run had already changed (never a silent half-applied run)."""
        if not self.done or err.partial:
            return err
        cause = "%s (already done before this error: %s)" % (err.cause, "; ".join(self.done))
        return UnrouteError(err.domain, err.obj, cause, err.fix, partial=list(self.done))

    def _audit_evidence(self):
        """What the admin audit log says about mxHero in email settings, or None when audit_log is off."""
        if not self.params.get("audit_log", True):
            return None
        events = []
        try:
            for name in audit.EVENT_NAMES:
                events.extend(self.client.list_admin_activities(self.customer, name))
        except client_mod.NotPermitted as err:
            why = str(err)
        except UnrouteError as err:
            why = err.cause + ("; " + err.fix if err.fix else "")
        else:
            return audit.evidence(events, self.fp)
        self.warn("%s: the outbound gateway's manual action carries no audit-log evidence, because the "
                  "admin audit log (Reports API) could not be read: %s" % (self.domain, why))
        return audit.unreadable(why)

    def _gateway_manual(self):
        obj = "Gmail outbound gateway of %s (top-level organisation)" % self.domain
        steps = gateway_steps(self.domain, self.fp)
        evidence = ["not readable: %s; mxHero set it to one of %s" % (GATEWAY_WHY, ", ".join(SEED_HOSTS))]
        known = self._audit_evidence()
        if known is not None:
            # What the log shows comes first: across hundreds of tenants it says which console visits matter.
            steps = "Admin audit log: %s. %s" % (known["text"], steps)
            evidence.append("admin audit log: %s" % known["text"])
            self.extra["gateway_evidence"] = known
        item = finding("google", "outbound_gateway", obj, evidence, "manual", manual_steps=steps, why=GATEWAY_WHY)
        if known is not None:
            item["audit_log"] = {"state": known["state"], "rank": known["rank"], "events": known["events"]}
        self.findings.append(item)
        self._manual(obj, settings.GATEWAY_PLACE, steps, GATEWAY_WHY + "; set gateway_verified once a person "
                     "has checked it")
        if known is not None:
            self.manual[-1]["evidence"] = known["text"]
            self.manual[-1]["audit_log"] = known["state"]

    # -- admin_settings backend ---------------------------------------------------------
    def _admin_settings(self):
        self.warn("%s: api admin_settings is the seed's legacy mechanism (Google turned the Admin "
                  "Settings API off on 2018-10-31) and checks only the outbound gateway; use api: "
                  "policy for the other Gmail settings" % self.domain)
        current = self.client.get_gateway()
        self.extra["gateway_readable"] = True
        self.extra["outbound_gateway"] = dict(current)
        host = current.get("smartHost") or ""
        obj = "Gmail outbound gateway of %s: %s" % (self.domain, host or "(empty)")
        self.before["outbound_gateway"] = dict(current)
        # An address counts like a name: the fingerprint's IPs are mxHero's wherever they appear.
        evidence = (self.fp.host(host) or self.fp.ip(normalize_host(host))) if host else None
        if not evidence:
            self.after["outbound_gateway"] = dict(current)
            if host:
                self.findings.append(finding("google", "outbound_gateway", obj, ["smart host %s" % host], "kept",
                                             before=current, after=current,
                                             why="neither an mxHero host nor an mxHero address"))
            return
        cleared = {"smartHost": "", "smtpMode": "SMTP"}
        if self.apply:
            fresh = self.client.get_gateway()
            if fresh != current:
                raise UnrouteError(self.domain, "outbound gateway", "it changed while this run read it (%s -> %s)"
                                   % (host, fresh.get("smartHost")), "run again")
            result = self.client.clear_gateway()
            if result.get("smartHost"):
                raise UnrouteError(self.domain, "outbound gateway", "Google accepted the change but still "
                                   "answers smartHost=%s" % result["smartHost"], "check it in the Admin console",
                                   partial=["outbound gateway: Google accepted smartHost=\"\" (was %s)" % host])
            self.extra["outbound_gateway"] = result
        self.changed = True
        self.after["outbound_gateway"] = cleared
        self.findings.append(finding("google", "outbound_gateway", obj, [evidence],
                                     planned("removed", self.check_mode), before=current, after=cleared))
        self.removed.append({"kind": "outbound_gateway", "domain": self.domain, "smartHost": host,
                             "smtpMode": current.get("smtpMode")})


def run(params, check_mode=False, diff_mode=False, client=None, warn=None):
    return Run(params, check_mode, diff_mode, client, warn=warn).run()


def info(params, client=None, warn=None):
    """What google_gateway would find, read-only (planned actions as in check mode) plus the raw policies."""
    runner = Run(params, check_mode=True, diff_mode=False, client=client, apply=False, warn=warn)
    out = runner.run()
    # A report, like the other *_info modules: no diff, and no plan to approve.
    out.pop("before", None)
    out.pop("after", None)
    out["changed"] = False
    out["policies"] = runner.policies
    return out


def manual_failure(result, domain):
    """The message for on_manual=fail, or None."""
    if not result["manual_actions"]:
        return None
    text = "; ".join("%s (%s)" % (m["object"], m["where"]) for m in result["manual_actions"])
    done = [f["object"] for f in result["findings"] if f["action"] in ("removed", "changed")]
    msg = "%s: %d manual action(s) still pending: %s; do them as manual_actions says, then set " \
          "gateway_verified or on_manual: warn" % (domain, len(result["manual_actions"]), text)
    if done:
        msg += " (already changed by this run: %s)" % ", ".join(done)
    return msg
