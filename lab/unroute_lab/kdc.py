"""A real MIT Kerberos KDC (Debian's krb5-kdc) for the lab's Exchange organisations that ask for Kerberos.

One realm per organisation (an Exchange organisation is one Active Directory
forest, one realm): ``EX-KRB.TEST`` for ``ex-krb.test``. Each realm holds the
organisation's account (``exadmin@EX-KRB.TEST``, the lab's password) and one
service principal ``HTTP/<server fqdn>`` per Exchange server, whose keys go to
one keytab that the lab's GSSAPI acceptor reads (KRB5_KTNAME). Everything lives
in the lab folder: kdc.conf, the databases, the stash files, the keytab, and a
client krb5.conf (KRB5_CONFIG) that sends every realm to this KDC on its
loopback port. No DNS is involved: ``dns_lookup_kdc``, ``rdns`` and
``dns_canonicalize_hostname`` are off, and the client names the server's
principal through the SPN host name, not through a lookup of 127.0.0.1.
"""

from __future__ import annotations

import secrets
import subprocess
import textwrap
from pathlib import Path

from .ports import free_port, wait_listening

KRB5KDC = "/usr/sbin/krb5kdc"
KDB5_UTIL = "/usr/sbin/kdb5_util"
KADMIN_LOCAL = "/usr/sbin/kadmin.local"


class KDCError(RuntimeError):
    pass


class KDC(object):
    """``realms``: {REALM: {"users": {name: password}, "services": [fqdn, ...], "domain": dns domain}}."""

    def __init__(self, base, realms, detached=True):
        self.base = Path(base)
        self.base.mkdir(parents=True, exist_ok=True)
        self.base.chmod(0o700)
        self.realms = realms
        self.port = free_port(udp_too=True)
        self.kdc_conf = self.base / "kdc.conf"
        self.krb5_conf = self.base / "krb5.conf"
        self.keytab = self.base / "http.keytab"
        self.log = self.base / "krb5kdc.log"
        self.detached = detached
        self.proc = None

    def env(self):
        """What every krb5 tool and library needs to see this lab's realms and nothing of the host's."""
        return {"KRB5_CONFIG": str(self.krb5_conf), "KRB5_KDC_PROFILE": str(self.kdc_conf)}

    def start(self):
        self._write_conf()
        for realm, spec in self.realms.items():
            self._create_realm(realm, spec)
        env = self.env()
        env["PATH"] = "/usr/sbin:/usr/bin:/bin"
        args = [KRB5KDC, "-n"]
        for realm in self.realms:
            args += ["-r", realm]
        self.proc = subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(str(self.base / "krb5kdc.stderr"), "w"),
                                     start_new_session=self.detached)
        self._wait()
        return self

    def _write_conf(self):
        realms = "".join(textwrap.dedent("""\
                {realm} = {{
                    database_name = {base}/principal.{realm}
                    key_stash_file = {base}/stash.{realm}
                    acl_file = {base}/kadm5.acl
                    max_life = 10h 0m 0s
                    max_renewable_life = 7d 0h 0m 0s
                    supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
                }}
            """).format(realm=realm, base=self.base) for realm in self.realms)
        self.kdc_conf.write_text("[kdcdefaults]\n    kdc_ports = {port}\n    kdc_tcp_ports = {port}\n\n"
                                 "[realms]\n{realms}\n[logging]\n    kdc = FILE:{log}\n"
                                 .format(port=self.port, realms=_indent(realms), log=self.log))
        (self.base / "kadm5.acl").write_text("")
        realms = "".join("    %s = {\n        kdc = 127.0.0.1:%d\n    }\n" % (realm, self.port)
                         for realm in self.realms)
        domains = "".join("    .%s = %s\n    %s = %s\n" % (spec["domain"], realm, spec["domain"], realm)
                          for realm, spec in self.realms.items())
        # rdns/dns_canonicalize_hostname off: the SPN is HTTP/<the name the client was given>, never the result
        # of a DNS lookup (there is no DNS for these names). udp_preference_limit 1: TCP first.
        self.krb5_conf.write_text(
            "[libdefaults]\n"
            "    default_realm = %s\n"
            "    dns_lookup_kdc = false\n"
            "    dns_lookup_realm = false\n"
            "    dns_canonicalize_hostname = false\n"
            "    rdns = false\n"
            "    qualify_shortname = \"\"\n"
            "    udp_preference_limit = 1\n"
            "    ticket_lifetime = 10h\n"
            "    forwardable = true\n"
            "\n[realms]\n%s\n[domain_realm]\n%s" % (next(iter(self.realms)), realms, domains))

    def _run(self, args, what):
        env = self.env()
        env["PATH"] = "/usr/sbin:/usr/bin:/bin"
        done = subprocess.run(args, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if done.returncode != 0 or "error" in (done.stderr or "").lower().replace("error_", ""):
            raise KDCError("kdc: %s failed: %s" % (what, (done.stderr or done.stdout).strip().splitlines()[-1:]))
        return done.stdout

    def _create_realm(self, realm, spec):
        master = secrets.token_urlsafe(24)
        self._run([KDB5_UTIL, "-r", realm, "create", "-s", "-P", master], "creating realm %s" % realm)
        queries = ["addprinc -pw %s %s" % (password, user) for user, password in spec.get("users", {}).items()]
        for fqdn in spec.get("services", []):
            queries.append("addprinc -randkey HTTP/%s" % fqdn)
            queries.append("ktadd -k %s -norandkey HTTP/%s" % (self.keytab, fqdn))
        for query in queries:
            self._run([KADMIN_LOCAL, "-r", realm, "-q", query], query.split(" -pw ")[0])
        if self.keytab.exists():
            self.keytab.chmod(0o600)

    def _wait(self):
        if wait_listening(self.proc, self.port):
            return
        raise KDCError("kdc: krb5kdc did not start on 127.0.0.1:%d; see %s" % (self.port, self.log))

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None


def _indent(text):
    return "".join("    " + line + "\n" if line.strip() else "\n" for line in text.splitlines())
