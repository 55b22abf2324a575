# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Exim (Debian's exim4-config): the smarthost of update-exim4.conf.conf and manualroute routers naming mxHero."""

from __future__ import annotations

import os
import re

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._findings import finding
from ansible_collections.mxhero.unroute.plugins.module_utils._mta import engine, _cmd, _files
from ansible_collections.mxhero.unroute.plugins.module_utils._mta.relay import evidence, exim_host, refuse_transport

DEFAULT_DIR = "/etc/exim4"
_ASSIGN = re.compile(r"""^(?P<name>dc_[A-Za-z0-9_]+)=(?P<quote>['"]?)(?P<value>.*?)(?P=quote)\s*$""")
_ROUTE_LIST = re.compile(r"^(?P<head>\s*route_list\s*=\s*)(?P<value>.*?)\s*$")
_ROUTER_START = re.compile(r"^[A-Za-z0-9_]+:\s*$")
# A colon that separates hosts, not the "::" that separates a host from its port.
_HOST_SPLIT = re.compile(r"(?<!:):(?!:)")
_ROUTING_TYPES = ("smarthost", "satellite")


def _host_of(item):
    return item.strip().split("::", 1)[0].strip().strip("[]")


class Exim(engine.Engine):
    name = "exim"

    def __init__(self, host, config_dir, fingerprint, replacement, check_mode, backup, configtype=None):
        engine.Engine.__init__(self, host, fingerprint, replacement, check_mode, backup)
        self.configtype = configtype
        refuse_transport(host, replacement, "Exim's smarthost and route_list take host::port")
        self.config_dir = (config_dir or DEFAULT_DIR).rstrip("/") or "/"
        self.conf = os.path.join(self.config_dir, "update-exim4.conf.conf")
        self.single = os.path.join(self.config_dir, "exim4.conf")
        if not os.path.isfile(self.conf) and not os.path.isfile(self.single):
            raise UnrouteError(host, self.config_dir, "no update-exim4.conf.conf or exim4.conf in this directory",
                               "set config_dir to Exim's configuration directory (Debian: /etc/exim4)")

    # -- planning --------------------------------------------------------------
    def plan(self):
        findings, files = [], {}
        if os.path.isfile(self.conf) and not os.path.isfile(self.single):
            findings.extend(self._plan_debconf(files))
        for path in self._router_files():
            findings.extend(self._plan_routers(path, files))
        return findings, files

    def _settings(self, text):
        values = {}
        for line in text.splitlines():
            match = _ASSIGN.match(line.strip())
            if match:
                values[match.group("name")] = match.group("value")
        return values

    def _plan_debconf(self, files):
        text = _files.read(self.conf)
        values = self._settings(text)
        smarthost = values.get("dc_smarthost", "")
        items = [i for i in _HOST_SPLIT.split(smarthost) if i.strip()]
        hits = [ev for ev in (evidence(self.fp, _host_of(i)) for i in items) if ev]
        if not hits:
            return []
        keep = [i for i in items if not evidence(self.fp, _host_of(i))]
        configtype = values.get("dc_eximconfig_configtype", "")
        changes = {}
        if self.replacement:
            keep = [exim_host(self.replacement)] + keep
        if keep:
            changes["dc_smarthost"] = ":".join(keep)
        else:
            changes["dc_smarthost"] = ""
            if configtype in _ROUTING_TYPES:
                if not self.configtype:
                    self.refuse(UnrouteError(self.host, "%s dc_smarthost" % self.conf,
                                             "the %s configuration sends all mail through mxHero (%s) and would be "
                                             "left with no smarthost" % (configtype, smarthost),
                                             "set replacement=host[:port] or exim_configtype=internet"))
                else:
                    changes["dc_eximconfig_configtype"] = self.configtype
        files[self.conf] = (text, _set(text, changes))
        before = {"file": self.conf, "dc_smarthost": smarthost, "dc_eximconfig_configtype": configtype}
        after = {"file": self.conf, "dc_smarthost": changes["dc_smarthost"],
                 "dc_eximconfig_configtype": changes.get("dc_eximconfig_configtype", configtype)}
        return [finding("mta", "smarthost", "%s: %s dc_smarthost" % (self.host, self.conf), hits,
                        self.action(changes["dc_smarthost"]), before=before, after=after)]

    def _router_files(self):
        if os.path.isfile(self.single):
            return [self.single]
        split = self._settings(_files.read(self.conf)).get("dc_use_split_config", "false") == "true"
        if split:
            directory = os.path.join(self.config_dir, "conf.d", "router")
            if not os.path.isdir(directory):
                return []
            return [os.path.join(directory, n) for n in sorted(os.listdir(directory))
                    if not n.startswith(".") and not n.endswith(("~", ".dpkg-old", ".dpkg-dist"))
                    and os.path.isfile(os.path.join(directory, n))]
        template = os.path.join(self.config_dir, "exim4.conf.template")
        return [template] if os.path.isfile(template) else []

    def _plan_routers(self, path, files):
        text = files[path][1] if path in files else _files.read(path)
        lines = text.splitlines(True)
        found, drop = [], set()
        for index, line in enumerate(lines):
            match = _ROUTE_LIST.match(line.rstrip("\n"))
            if not match:
                continue
            routes = [r for r in match.group("value").split(";") if r.strip()]
            hits, keep = [], []
            for route in routes:
                parts = route.split(None, 2)
                if len(parts) < 2:
                    keep.append(route.strip())
                    continue
                hosts = [h for h in _HOST_SPLIT.split(parts[1]) if h]
                evs = [ev for ev in (evidence(self.fp, _host_of(h)) for h in hosts) if ev]
                if not evs:
                    keep.append(route.strip())
                    continue
                hits.extend(evs)
                others = [h for h in hosts if not evidence(self.fp, _host_of(h))]
                if self.replacement:
                    others = [exim_host(self.replacement)] + others
                if others:
                    keep.append(" ".join([parts[0], ":".join(others)] + parts[2:]))
            if not hits:
                continue
            start = _router_start(lines, index)
            name = lines[start].strip().rstrip(":") if start is not None else "route_list"
            if keep:
                new_value = " ; ".join(keep)
                lines[index] = "%s%s\n" % (match.group("head"), new_value)
            else:
                new_value = None
                if start is None:
                    self.refuse(UnrouteError(self.host, "%s line %d" % (path, index + 1),
                                             "route_list names only mxHero and its router could not be found",
                                             "remove the router by hand or set replacement=host[:port]"))
                else:
                    drop.update(_router_block(lines, start))
            found.append(finding("mta", "router", "%s: %s router %s" % (self.host, path, name), hits,
                                 self.action(new_value),
                                 before={"file": path, "router": name, "route_list": match.group("value")},
                                 after={"file": path, "router": name, "route_list": new_value}))
        if found:
            new_text = "".join(line for i, line in enumerate(lines) if i not in drop)
            files[path] = (files[path][0] if path in files else text, new_text)
        return found

    # -- applying --------------------------------------------------------------
    def apply(self, files):
        journal = _files.Journal(self.backup)
        for path in sorted(files):
            journal.keep(path)
        try:
            for path, (_old, new) in sorted(files.items()):
                _files.write_atomic(path, new)
            self._update()
        except UnrouteError as err:
            journal.restore()
            try:
                self._update()
            except UnrouteError:
                pass
            raise UnrouteError(self.host, err.obj, "%s; every file was restored as it was" % err.cause,
                               err.fix or "fix what it reports, then run again")
        return journal

    def _update(self):
        if os.path.isfile(self.single) or not os.path.isfile(self.conf):
            return
        tool = _cmd.which("update-exim4.conf")
        if not tool:
            raise UnrouteError(self.host, self.conf, "update-exim4.conf is not installed",
                               "install exim4-config, or set config_dir to the configuration Exim really uses")
        runs = [[tool]]
        if self.config_dir != DEFAULT_DIR:
            # Another configuration tree must never overwrite the running Exim's generated configuration.
            # With --output, update-exim4.conf validates (exim4 -bV) only under --check, which then writes
            # nothing: validate first, then write.
            argv = [tool, "--confdir", self.config_dir, "--output",
                    os.path.join(self.config_dir, "config.autogenerated")]
            runs = [argv[:1] + ["--check"] + argv[1:], argv]
        for argv in runs:
            rc, out = _cmd.run(argv)
            if rc != 0:
                raise UnrouteError(self.host, self.conf, "update-exim4.conf failed: %s" % _cmd.one_line(out),
                                   "fix what update-exim4.conf reports, then run again")

    default_dir = DEFAULT_DIR
    service, verb = "exim4", "reload"
    pid_files = ("/run/exim4/exim.pid", "/var/run/exim4/exim.pid")
    fix = "the new configuration is in place; reload exim4 on the host"

    def rebuild(self):
        self._update()


def _set(text, changes):
    out, seen = [], set()
    for line in text.splitlines(True):
        match = _ASSIGN.match(line.strip())
        if match and match.group("name") in changes:
            name = match.group("name")
            seen.add(name)
            out.append("%s='%s'\n" % (name, changes[name]))
        else:
            out.append(line)
    for name in sorted(set(changes) - seen):
        out.append("%s='%s'\n" % (name, changes[name]))
    return "".join(out)


def _router_start(lines, index):
    for i in range(index, -1, -1):
        if _ROUTER_START.match(lines[i]):
            return i
        if lines[i].startswith("begin "):
            return None
    return None


def _router_block(lines, start):
    """The router's lines: its name and the indented or blank lines after it (trailing blanks kept)."""
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or lines[end][:1] in (" ", "\t")):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    return range(start, end)
