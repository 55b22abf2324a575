# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Postfix: find and remove (or replace) every mxHero relay of one instance.

Every read and write goes through ``postconf -c DIR`` (main.cf and master.cf are
never rewritten by hand), lookup tables are edited line by line and rebuilt with
``postmap -c DIR``, and ``postfix -c DIR check`` must pass before a reload, so a
multi-instance host only ever sees the instance it was given.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._findings import finding
from ansible_collections.mxhero.unroute.plugins.module_utils._mta import engine, _cmd, _files
from ansible_collections.mxhero.unroute.plugins.module_utils._mta.relay import (
    evidence, postfix_nexthop, postfix_problem, resolve_problem, split_nexthop)

# main.cf / master.cf parameters that name a relay: name -> (finding kind, value syntax).
RELAY_PARAMS = {
    "relayhost": ("relayhost", "nexthop"),
    "smtp_fallback_relay": ("relayhost", "nexthop_list"),
    "fallback_relay": ("relayhost", "nexthop_list"),
    "default_transport": ("transport", "transport"),
    "relay_transport": ("transport", "transport"),
}
# Lookup tables whose right-hand side names a relay: parameter -> (finding kind, value syntax).
MAP_PARAMS = {
    "transport_maps": ("transport_map_entry", "transport"),
    "sender_dependent_relayhost_maps": ("relayhost_map_entry", "nexthop"),
    "sender_dependent_default_transport_maps": ("transport_map_entry", "transport"),
}
_INDEXED = ("hash", "btree", "lmdb", "cdb", "dbm", "sdbm")
_PLAIN = ("texthash", "regexp", "pcre")
# The files postmap builds next to a table's source, kept byte for byte for a rollback.
_INDEX_SUFFIXES = (".db", ".lmdb", ".cdb", ".dir", ".pag")
_LIST_SPLIT = re.compile(r"[\s,]+")


class Postfix(engine.Engine):
    name = "postfix"

    def __init__(self, host, config_dir, fingerprint, replacement, check_mode, backup):
        engine.Engine.__init__(self, host, fingerprint, replacement, check_mode, backup)
        self.nexthop = postfix_nexthop(replacement) if replacement else None
        if postfix_problem(replacement):
            raise UnrouteError(host, "replacement %s" % self.nexthop, postfix_problem(replacement),
                               "write the replacement as [%s]%s" % (replacement.host,
                                                                    ":%s" % replacement.port if replacement.port else ""))
        self.postconf = _cmd.which("postconf")
        if not self.postconf:
            raise UnrouteError(host, "postconf", "Postfix's postconf command is not installed",
                               "set mta to the mail server this host runs, or install postfix")
        self.config_dir = (config_dir or self._default_dir()).rstrip("/") or "/"
        self.main_cf = os.path.join(self.config_dir, "main.cf")
        self.master_cf = os.path.join(self.config_dir, "master.cf")
        if not os.path.isfile(self.main_cf):
            raise UnrouteError(host, self.main_cf, "no Postfix main.cf in this directory",
                               "set config_dir to the instance's configuration directory (postmulti -l lists them)")

    def _default_dir(self):
        rc, out = _cmd.run([self.postconf, "-d", "-h", "config_directory"])
        return out.strip() if rc == 0 and out.strip() else "/etc/postfix"

    # -- reading ---------------------------------------------------------------
    def _pc(self, *args, **kw):
        directory = kw.get("directory") or self.config_dir
        rc, out = _cmd.run([self.postconf, "-c", directory] + list(args))
        if rc != 0:
            raise UnrouteError(self.host, self.main_cf, "postconf %s failed: %s" % (" ".join(args), _cmd.one_line(out)),
                               "run postconf -c %s -n on the host and fix what it reports" % directory)
        return out

    def _params(self, *args):
        values = {}
        for line in self._pc(*args).splitlines():
            if " = " in line:
                name, value = line.split(" = ", 1)
                values[name.strip()] = value.strip()
            elif line.rstrip().endswith(" ="):
                values[line.rstrip()[:-2].strip()] = ""
        return values

    # -- matching --------------------------------------------------------------
    def _match(self, value, syntax, place):
        """Evidence list for a parameter value, and the value with mxHero taken out (None = unset)."""
        if syntax == "nexthop_list":
            items = [i for i in _LIST_SPLIT.split(value) if i]
            hits, keep, replaced = [], [], False
            for item in items:
                ev = evidence(self.fp, split_nexthop(item)[0])
                if ev:
                    hits.append(ev)
                    if self.replacement and not replaced and self.nexthop not in items:
                        self._nexthop_only(place)
                        keep.append(self.nexthop)
                        replaced = True
                else:
                    keep.append(item)
            return hits, (", ".join(keep) if keep else None)
        if syntax == "transport":
            transport, _sep, nexthop = value.partition(":")
            ev = evidence(self.fp, split_nexthop(nexthop)[0]) if nexthop else None
            if not ev:
                return [], value
            if not self.replacement:
                return [ev], None
            return [ev], "%s:%s" % (self.replacement.transport or transport, self.nexthop)
        ev = evidence(self.fp, split_nexthop(value)[0])
        if not ev:
            return [], value
        if self.replacement:
            self._nexthop_only(place)
        return [ev], (self.nexthop or None)

    def _nexthop_only(self, place):
        """relayhost and its kin take a next hop; a transport there is garbage Postfix only notices on delivery."""
        if self.replacement.transport:
            self.refuse(UnrouteError(self.host, "replacement %s:%s" % (self.replacement.transport, self.nexthop),
                                     "%s takes a next hop only ([host]:port), not transport:nexthop" % place,
                                     "give the replacement as [host]:port; a transport:nexthop replacement fits "
                                     "only default_transport, relay_transport and transport map entries"))

    def _check_transport(self):
        """A transport:nexthop replacement names a master.cf service, or Postfix defers all mail it routes."""
        transport = self.replacement.transport if self.replacement else None
        if not transport:
            return
        out = self._pc("-M", "%s/unix" % transport)
        if not any(line.split()[:1] == [transport] for line in out.splitlines()):
            self.refuse(UnrouteError(self.host, "replacement %s:%s" % (transport, self.nexthop),
                                     "%s has no unix service %r in master.cf" % (self.master_cf, transport),
                                     "name a transport master.cf defines (smtp, relay), or give [host]:port"))

    # -- planning --------------------------------------------------------------
    def plan(self):
        main = self._params("-n")
        findings, ops, tables = [], [], {}
        self._check_transport()
        for name in sorted(RELAY_PARAMS):
            if not main.get(name):
                continue
            kind, syntax = RELAY_PARAMS[name]
            hits, new = self._match(main[name], syntax, name)
            if not hits:
                continue
            if name == "relayhost" and new is None:
                self._refuse_null_client(main)
            ops.append(["-X", name] if new is None else ["-e", "%s=%s" % (name, new)])
            findings.append(finding("mta", kind, "%s: %s %s" % (self.host, self.main_cf, name), hits,
                                    self.action(new), before={"file": self.main_cf, "parameter": name,
                                                              "value": main[name]},
                                    after={"file": self.main_cf, "parameter": name, "value": new}))
        master = self._params("-P")
        for key in sorted(master):
            service, _sep, name = key.rpartition("/")
            if name not in RELAY_PARAMS or not master[key]:
                continue
            hits, new = self._match(master[key], RELAY_PARAMS[name][1], "%s -o %s" % (service, name))
            if not hits:
                continue
            ops.append(["-PX", key] if new is None else ["-P", "%s=%s" % (key, new)])
            label = "%s: %s %s -o %s" % (self.host, self.master_cf, service, name)
            findings.append(finding("mta", "service_override", label, hits, self.action(new),
                                    before={"file": self.master_cf, "service": service, "parameter": name,
                                            "value": master[key]},
                                    after={"file": self.master_cf, "service": service, "parameter": name,
                                           "value": new}))
        for name in sorted(MAP_PARAMS):
            if not main.get(name):
                continue
            expanded = self._pc("-x", "-h", name).strip()
            for table in _tables(expanded):
                findings.extend(self._plan_table(name, table, tables))
        return findings, ops, tables

    def _refuse_null_client(self, main):
        reasons = []
        if main.get("disable_dns_lookups", "").lower() == "yes":
            reasons.append("disable_dns_lookups = yes")
        if main.get("smtp_dns_support_level", "").lower() == "disabled":
            reasons.append("smtp_dns_support_level = disabled")
        if main.get("default_transport", "").startswith("error"):
            reasons.append("default_transport = %s" % main["default_transport"])
        if reasons:
            self.refuse(UnrouteError(self.host, "%s relayhost" % self.main_cf,
                                     "removing relayhost %s would leave this null client with no route (%s)"
                                     % (main["relayhost"], ", ".join(reasons)),
                                     "set state=replaced with replacement=host[:port] (the relay to use instead)"))

    def _plan_table(self, param, table, tables):
        kind, syntax = MAP_PARAMS[param]
        mtype, _sep, path = table.partition(":")
        if mtype == "proxy":
            mtype, _sep, path = path.partition(":")
        if mtype not in _INDEXED + _PLAIN:
            hits = self.fp.scan_text(table)
            if hits:
                return [finding("mta", kind, "%s: %s %s %s" % (self.host, self.main_cf, param, table), hits, "manual",
                                manual_steps="remove the mxHero entries from the %s table %s by hand, then run "
                                             "postfix -c %s reload" % (mtype, table, self.config_dir))]
            return []
        if not os.path.isfile(path):
            return []
        text = tables[path][1] if path in tables else _files.read(path)
        found = []
        out = []
        for entry in _entries(text):
            key, value = entry["key"], entry["value"]
            hits, new = ([], value) if key is None else self._match(value, syntax, "%s entry %s" % (param, key))
            if not hits:
                out.append(entry["text"])
                continue
            if new is not None:
                out.append(entry["text"].replace(value, new, 1) if "\n" not in entry["text"].rstrip("\n")
                           else "%s\t%s\n" % (key, new))
            found.append(finding("mta", kind, "%s: %s %s" % (self.host, path, key), hits, self.action(new),
                                 before={"file": path, "table": param, "key": key, "value": value},
                                 after={"file": path, "table": param, "key": key, "value": new}))
        if found:
            tables[path] = (mtype if mtype in _INDEXED else None, "".join(out))
        return found

    # -- applying --------------------------------------------------------------
    def simulate(self, ops, tables):
        """The files as they will be: the same postconf edits on a scratch copy of main.cf and master.cf."""
        scratch = tempfile.mkdtemp(prefix="unroute-postfix-")
        try:
            for path in (self.main_cf, self.master_cf):
                if os.path.exists(path):
                    shutil.copy2(path, os.path.join(scratch, os.path.basename(path)))
            for op in ops:
                self._pc(*op, directory=scratch)
            files = {}
            for path in (self.main_cf, self.master_cf):
                copy = os.path.join(scratch, os.path.basename(path))
                if os.path.exists(path):
                    files[path] = (_files.read(path), _files.read(copy))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        for path, (_mtype, text) in tables.items():
            files[path] = (_files.read(path), text)
        return files

    def apply(self, ops, tables):
        journal = _files.Journal(self.backup)
        for path in [self.main_cf, self.master_cf] + sorted(tables):
            if os.path.exists(path):
                journal.keep(path)
        for path, (mtype, _text) in sorted(tables.items()):
            for index in (path + suffix for suffix in _INDEX_SUFFIXES if mtype):
                if os.path.exists(index):
                    journal.keep(index, backup=False)
        try:
            for op in ops:
                self._pc(*op)
            for path, (mtype, text) in sorted(tables.items()):
                _files.write_atomic(path, text)
                if mtype:
                    self._postmap(mtype, path)
            rc, out = self._postfix("check")
            if rc != 0:
                raise UnrouteError(self.host, self.config_dir, "postfix check failed after the change: %s"
                                   % (_cmd.one_line(out) or "exit %s" % rc), None)
        except UnrouteError as err:
            self._roll_back(journal, err)
        return journal

    def _roll_back(self, journal, err):
        journal.restore()
        rc, _out = self._postfix("check")
        before = "; the configuration already failed postfix check before this run" if rc != 0 else ""
        raise UnrouteError(self.host, err.obj, "%s; every file was restored as it was%s" % (err.cause, before),
                           "fix what postfix check reports (run postfix -c %s check on the host), then run again"
                           % self.config_dir)

    def _postmap(self, mtype, path):
        postmap = _cmd.which("postmap")
        rc, out = _cmd.run([postmap or "postmap", "-c", self.config_dir, "%s:%s" % (mtype, path)])
        if rc != 0:
            raise UnrouteError(self.host, path, "postmap failed: %s" % _cmd.one_line(out), None)

    def _postfix(self, *args):
        binary = _cmd.which("postfix") or "postfix"
        return _cmd.run([binary, "-c", self.config_dir] + list(args), tty=True)

    def running(self):
        return self._postfix("status")[0] == 0

    def reload(self):
        if not self.running():
            return False
        rc, out = self._postfix("reload")
        if rc != 0:
            raise UnrouteError(self.host, self.config_dir, "postfix reload failed: %s" % _cmd.one_line(out),
                               "the new configuration is in place and passed postfix check; run postfix -c %s "
                               "reload on the host" % self.config_dir)
        return True

    # -- after the reload -------------------------------------------------------
    def verify(self, findings, journal, reloaded):
        """Ask Postfix for every value just written and resolve the new next hop, before saying ``changed``.

        ``postfix check`` does not parse next hops: ``relayhost = [x]]:25`` passes it and the next message
        fails with ``fatal: garbage after "]"``. So each place is read back through Postfix's own tools
        (``postconf -h``, ``postconf -P``, ``postmap -q``) and must hold exactly what was planned (the next hop
        built from the checked replacement), and the replacement's host must resolve here. On any failure every file goes back, Postfix
        is checked and reloaded again, and the one-line error names the place and the value.
        """
        if not self.replacement:
            return
        for item in findings:
            after = item.get("after") or {}
            if after.get("value") is None or item.get("action") == "manual":
                continue
            got = self._read_back(after)
            value = after["value"] if got is None else got
            hops = value.partition(":")[2] if self._is_transport(after) else value
            if got is not None and " ".join(got.split()) != " ".join(after["value"].split()):
                problem = "Postfix reads back %r after the reload, not what was written" % got
            elif self.nexthop not in _LIST_SPLIT.split(hops):
                problem = "Postfix reads back %r, which does not hold the next hop %s" % (value, self.nexthop)
            else:
                continue
            self._undo(journal, reloaded, "%s %r" % (item["object"].split(": ", 1)[-1], after["value"]), problem)
        problem = resolve_problem(self.replacement)
        if problem:
            self._undo(journal, reloaded, "replacement %s" % self.nexthop, problem)

    def _is_transport(self, after):
        name = after.get("table") or after.get("parameter")
        syntax = MAP_PARAMS[name][1] if after.get("table") else RELAY_PARAMS.get(name, (None, None))[1]
        return syntax == "transport"

    def _read_back(self, after):
        if after.get("table"):
            mtype = self._table_type(after["table"], after["file"])
            if mtype not in _INDEXED + ("texthash",):
                return None
            postmap = _cmd.which("postmap") or "postmap"
            rc, out = _cmd.run([postmap, "-c", self.config_dir, "-q", after["key"], "%s:%s" % (mtype, after["file"])])
            return out.strip() if rc == 0 else ""
        if after.get("service"):
            key = "%s/%s" % (after["service"], after["parameter"])
            return self._params("-P", key).get(key, "")
        return self._pc("-h", after["parameter"]).strip()

    def _table_type(self, param, path):
        for table in _tables(self._pc("-x", "-h", param).strip()):
            mtype, _sep, rest = table.partition(":")
            if mtype == "proxy":
                mtype, _sep, rest = rest.partition(":")
            if rest == path:
                return mtype
        return None

    def _undo(self, journal, reloaded, what, problem):
        journal.restore()
        rc, out = self._postfix("check")
        again = ""
        if rc == 0 and reloaded:
            again = " and Postfix reloaded" if self._postfix("reload")[0] == 0 else \
                "; reload Postfix by hand (postfix -c %s reload)" % self.config_dir
        raise UnrouteError(self.host, what, "%s; every file was restored as it was%s" % (problem, again),
                           "give a replacement relay this mail server resolves and reaches, written [host]:port, "
                           "then run again")


def _tables(value):
    """Split a map list, keeping ``inline:{ ... }`` tables whole."""
    tables, depth, current = [], 0, ""
    for char in value:
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        if depth == 0 and (char.isspace() or char == ","):
            if current:
                tables.append(current)
            current = ""
        else:
            current += char
    if current:
        tables.append(current)
    return tables


def _entries(text):
    """Logical entries of a Postfix table source: a line plus its continuation lines (leading whitespace)."""
    entries = []
    for line in text.splitlines(True):
        stripped = line.strip()
        if entries and line[:1] in (" ", "\t") and stripped and not stripped.startswith("#") \
                and entries[-1]["key"] is not None:
            entries[-1]["text"] += line
            entries[-1]["value"] = (entries[-1]["value"] + " " + stripped).strip()
            continue
        if not stripped or stripped.startswith("#"):
            entries.append({"key": None, "value": None, "text": line})
            continue
        parts = stripped.split(None, 1)
        entries.append({"key": parts[0], "value": parts[1] if len(parts) > 1 else "", "text": line})
    return entries
