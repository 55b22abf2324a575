# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sendmail: SMART_HOST, MAIL_HUB and LUSER_RELAY in sendmail.mc, and mailertable entries naming mxHero."""

from __future__ import annotations

import os
import re

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._findings import finding
from ansible_collections.mxhero.unroute.plugins.module_utils._mta import engine, _cmd, _files
from ansible_collections.mxhero.unroute.plugins.module_utils._mta.relay import evidence, refuse_transport, sendmail_host

DEFAULT_DIR = "/etc/mail"
DEFINES = {"SMART_HOST": "smart_host", "MAIL_HUB": "mail_hub", "LUSER_RELAY": "luser_relay"}
_DEFINE = re.compile(r"define\(\s*`(?P<name>SMART_HOST|MAIL_HUB|LUSER_RELAY)'\s*,\s*`(?P<value>[^']*)'\s*\)")


def _split(value):
    """``mailer:[host]`` / ``[host]`` / ``host`` / ``local:user`` -> (mailer prefix or '', host)."""
    value = value.strip()
    mailer = ""
    if ":" in value and not value.startswith("["):
        mailer, value = value.split(":", 1)
        mailer += ":"
    host = value.strip()
    if host.startswith("[") and "]" in host:
        host = host[1:host.index("]")]
    return mailer, host.split("@")[-1]


class Sendmail(engine.Engine):
    name = "sendmail"

    def __init__(self, host, config_dir, fingerprint, replacement, check_mode, backup):
        engine.Engine.__init__(self, host, fingerprint, replacement, check_mode, backup)
        self.config_dir = (config_dir or DEFAULT_DIR).rstrip("/") or "/"
        self.mc = os.path.join(self.config_dir, "sendmail.mc")
        self.mailertable = os.path.join(self.config_dir, "mailertable")
        if not os.path.isfile(self.mc):
            raise UnrouteError(host, self.mc, "no sendmail.mc in this directory",
                               "set config_dir to Sendmail's configuration directory (Debian: /etc/mail)")
        refuse_transport(host, replacement, "Sendmail's SMART_HOST takes [host]; the mailer stays as found")
        if replacement and replacement.port:
            raise UnrouteError(host, "replacement", "Sendmail's SMART_HOST takes no port (%s:%s)"
                               % (replacement.host, replacement.port),
                               "give the host only; set the port with RELAY_MAILER_ARGS in sendmail.mc")

    def _new(self, mailer):
        return mailer + sendmail_host(self.replacement) if self.replacement else None

    def plan(self):
        findings, files = [], {}
        text = _files.read(self.mc)
        out = []
        for number, line in enumerate(text.splitlines(True), 1):
            match = _DEFINE.search(line)
            if not match:
                out.append(line)
                continue
            mailer, host = _split(match.group("value"))
            ev = evidence(self.fp, host)
            if not ev:
                out.append(line)
                continue
            name = match.group("name")
            new = self._new(mailer) if name != "LUSER_RELAY" else (
                "%s%s" % (mailer or "", self.replacement.host) if self.replacement else None)
            if new is not None:
                out.append(line[:match.start("value")] + new + line[match.end("value"):])
            findings.append(finding("mta", DEFINES[name], "%s: %s %s" % (self.host, self.mc, name), [ev],
                                    self.action(new), before={"file": self.mc, "line": number,
                                                              "define": name, "value": match.group("value")},
                                    after={"file": self.mc, "define": name, "value": new}))
        if findings:
            files[self.mc] = (text, "".join(out))
        if os.path.isfile(self.mailertable):
            findings.extend(self._plan_mailertable(files))
        return findings, files

    def _plan_mailertable(self, files):
        text = _files.read(self.mailertable)
        out, found = [], []
        for line in text.splitlines(True):
            parts = line.split(None, 1)
            if not parts or parts[0].startswith("#") or len(parts) < 2:
                out.append(line)
                continue
            key, value = parts[0], parts[1].strip()
            mailer, host = _split(value)
            ev = evidence(self.fp, host)
            if not ev:
                out.append(line)
                continue
            new = self._new(mailer or "esmtp:")
            if new is not None:
                out.append("%s\t%s\n" % (key, new))
            found.append(finding("mta", "mailertable_entry", "%s: %s %s" % (self.host, self.mailertable, key), [ev],
                                 self.action(new), before={"file": self.mailertable, "key": key, "value": value},
                                 after={"file": self.mailertable, "key": key, "value": new}))
        if found:
            files[self.mailertable] = (text, "".join(out))
        return found

    def tools_missing(self):
        if os.path.isfile(os.path.join(self.config_dir, "Makefile")):
            return [] if _cmd.which("make") else ["make"]
        missing = [] if _cmd.which("m4") else ["m4"]
        if os.path.isfile(self.mailertable) and not _cmd.which("makemap"):
            missing.append("makemap")
        return missing

    def apply(self, files):
        missing = self.tools_missing()
        if missing:
            raise UnrouteError(self.host, self.mc, "cannot rebuild sendmail.cf: %s not installed" % ", ".join(missing),
                               "install sendmail-bin/m4 (or make) on the host, then run again")
        journal = _files.Journal(self.backup)
        cf = os.path.join(self.config_dir, "sendmail.cf")
        for path in sorted(files) + ([cf] if os.path.exists(cf) else []):
            journal.keep(path)
        try:
            for path, (_old, new) in sorted(files.items()):
                _files.write_atomic(path, new)
            self._rebuild(cf, self.mailertable in files)
        except UnrouteError as err:
            journal.restore()
            raise UnrouteError(self.host, err.obj, "%s; every file was restored as it was" % err.cause,
                               "fix what the build reports (make -C %s), then run again" % self.config_dir)
        return journal

    default_dir = DEFAULT_DIR
    service, verb = "sendmail", "restart"
    pid_files = ("/run/sendmail/mta/sendmail.pid", "/var/run/sendmail.pid")
    fix = "the new sendmail.cf is in place; restart sendmail on the host"

    def rebuild(self):
        """The mailertable database too is rebuilt from the restored source."""
        self._rebuild(os.path.join(self.config_dir, "sendmail.cf"), os.path.isfile(self.mailertable))

    def _rebuild(self, cf, mailertable):
        if os.path.isfile(os.path.join(self.config_dir, "Makefile")):
            rc, out = _cmd.run([_cmd.which("make"), "-C", self.config_dir])
            if rc != 0:
                raise UnrouteError(self.host, self.config_dir, "make failed: %s" % _cmd.one_line(out), None)
            return
        rc, out, err = _cmd.run_split([_cmd.which("m4"), self.mc])
        if rc != 0 or not out.strip():
            raise UnrouteError(self.host, self.mc, "m4 failed: %s" % _cmd.one_line(err or "no output"), None)
        _files.write_atomic(cf, out)
        if mailertable:
            with open(self.mailertable) as source:
                rc, out = _cmd.run([_cmd.which("makemap"), "hash", self.mailertable], data=source.read())
            if rc != 0:
                raise UnrouteError(self.host, self.mailertable, "makemap failed: %s" % _cmd.one_line(out), None)
