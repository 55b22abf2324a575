"""Real Postfix instances (Debian's package) in their own configuration directories, never the system's.

Every command names the instance (``postconf -c DIR``, ``postfix -c DIR start``); the queue and data
directories live beside it, so a lab or a test leaves the machine's own Postfix (if any) alone.
"""

from __future__ import annotations

import os
import pwd
import re
import subprocess
import textwrap
from pathlib import Path

POSTCONF = "/usr/sbin/postconf"
POSTFIX = "/usr/sbin/postfix"
POSTMAP = "/usr/sbin/postmap"
MASTER_DIST = Path("/usr/share/postfix/master.cf.dist")


def installed():
    return os.access(POSTCONF, os.X_OK) and os.access(POSTFIX, os.X_OK)


def postconf(directory, *args):
    return subprocess.run([POSTCONF, "-c", str(directory)] + list(args), check=True,
                          stdout=subprocess.PIPE, universal_newlines=True).stdout


def reachable_by_others(path):
    """Whether every folder up to ``path`` lets other users in: Postfix's daemons run as the postfix user."""
    path = Path(path).resolve()
    return all(os.stat(str(p)).st_mode & 0o001 for p in [path] + list(path.parents))


def build(base, main=None, master_lines=(), tables=None, spool=None, port=None):
    """A Postfix instance directory ``base/postfix``: main.cf with ``main`` set (through postconf -e; ``DIR`` in a
    value is the instance directory), master.cf from the package with ``master_lines`` appended, and lookup tables
    (name -> text, indexed with postmap). Queue and data go under ``spool`` (default ``base``). With ``port`` the
    instance can run: smtpd on 127.0.0.1:port, no chroot, its log in ``spool/maillog``."""
    base = Path(base)
    spool = Path(spool or base)
    directory = base / "postfix"
    directory.mkdir(parents=True)
    for sub in ("spool", "data"):
        (spool / sub).mkdir(parents=True, exist_ok=True)
    (directory / "main.cf").write_text(textwrap.dedent("""\
        # main.cf of a lab or test instance; the relay settings below the defaults come from the estate or test
        compatibility_level = 3.6
        queue_directory = {spool}/spool
        data_directory = {spool}/data
        inet_interfaces = loopback-only
        inet_protocols = ipv4
        myhostname = mail.lab.test
        mydestination =
        alias_maps =
        alias_database =
        """).format(spool=spool))
    master = MASTER_DIST.read_text() if MASTER_DIST.exists() else "smtp inet n - y - - smtpd\n"
    if port:
        # Our own listener on a loopback port; the queue is not a chroot jail.
        master = re.sub(r"(?m)^smtp(\s+)inet", "127.0.0.1:%d\\1inet" % port, master)
        if "postlogd" not in master:
            master += "postlog   unix-dgram n  -       n       -       1       postlogd\n"
    (directory / "master.cf").write_text(master + "".join(line + "\n" for line in master_lines))
    for name, text in (tables or {}).items():
        (directory / name).write_text(textwrap.dedent(text))
    if port:
        postconf(directory, "-F", "*/*/chroot = n")
        postconf(directory, "-e", "maillog_file_prefixes=%s" % spool, "maillog_file=%s" % (spool / "maillog"))
        os.chown(str(spool / "data"), pwd.getpwnam("postfix").pw_uid, -1)
    for name, value in (main or {}).items():
        postconf(directory, "-e", "%s=%s" % (name, str(value).replace("DIR", str(directory))))
    for name in tables or {}:
        subprocess.run([POSTMAP, "-c", str(directory), "hash:%s" % (directory / name)], check=True)
    return directory


def start(directory):
    proc = subprocess.run([POSTFIX, "-c", str(directory), "start"], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True)
    if proc.returncode != 0:
        raise RuntimeError("postfix -c %s start failed: %s" % (directory, " ".join(proc.stdout.split())[-300:]))


def running(directory):
    return subprocess.run([POSTFIX, "-c", str(directory), "status"], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


def stop(directory):
    if Path(directory, "main.cf").exists() and running(directory):
        subprocess.run([POSTFIX, "-c", str(directory), "stop"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def send(directory, sender, recipient, subject, body="hello\n"):
    """Hand a message to the instance (its own sendmail, -C DIR) and ask it to deliver at once."""
    message = "From: %s\nTo: %s\nSubject: %s\n\n%s" % (sender, recipient, subject, body)
    subprocess.run(["/usr/sbin/sendmail", "-C", str(directory), "-f", sender, recipient],
                   input=message, universal_newlines=True, check=True)
    subprocess.run(["/usr/sbin/postqueue", "-c", str(directory), "-f"], check=False)
