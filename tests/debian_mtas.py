"""Exim and Sendmail from their Debian packages, unpacked (not installed) so their own tools run for real here.

Debian's exim4-daemon-light and sendmail-bin conflict with postfix as packages, so they are fetched with
``apt-get download`` and unpacked with ``dpkg-deb -x`` into a cache folder, once. The binaries look up their
system users (Debian-exim, smmta) and read /etc/mail/sendmail.cf: wrappers on PATH give them those users
through nss_wrapper (libnss-wrapper, unpacked the same way) and the configuration under test, so nothing
is installed or added to the machine. No network (no package download) skips the tests that need them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

CACHE = Path(os.environ.get("UNROUTE_DEB_CACHE", "/tmp/unroute-debian-mtas"))
PACKAGES = {
    "exim": ["exim4-base", "exim4-config", "exim4-daemon-light", "libidn12"],
    "sendmail": ["sendmail-bin"],
    "nss": ["libnss-wrapper"],
}
LIB = "usr/lib/x86_64-linux-gnu"


def unpacked(name):
    """The folder holding package set ``name`` unpacked; skips the test when it cannot be fetched.

    pytest-xdist workers share the cache: one unpacks while the others wait on the lock."""
    import fcntl
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / (".lock-%s" % name), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _unpack(name)


def _unpack(name):
    root = CACHE / name
    if (root / ".done").exists():
        return root
    if not shutil.which("apt-get") or not shutil.which("dpkg-deb"):
        pytest.skip("needs apt-get and dpkg-deb (Debian) to fetch %s" % ", ".join(PACKAGES[name]))
    debs = CACHE / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["apt-get", "download"] + PACKAGES[name], cwd=str(debs), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, timeout=300)
    if proc.returncode != 0:
        pytest.skip("apt-get download %s failed (no network?): %s" % (" ".join(PACKAGES[name]),
                                                                      proc.stdout.strip().splitlines()[-1:]))
    shutil.rmtree(str(root), ignore_errors=True)
    root.mkdir(parents=True)
    for package in PACKAGES[name]:
        deb = sorted(debs.glob("%s_*.deb" % package))[-1]
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    (root / ".done").write_text("")
    return root


def _users(folder):
    """passwd/group files for nss_wrapper: the machine's, plus the MTAs' own system users."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "passwd").write_text(Path("/etc/passwd").read_text() +
                                   "Debian-exim:x:65501:65501::/var/spool/exim4:/usr/sbin/nologin\n"
                                   "smmta:x:65502:65502::/var/lib/sendmail:/usr/sbin/nologin\n")
    (folder / "group").write_text(Path("/etc/group").read_text() + "Debian-exim:x:65501:\nsmmta:x:65502:\n")
    return "NSS_WRAPPER_PASSWD=%s NSS_WRAPPER_GROUP=%s LD_PRELOAD=%s" % (
        folder / "passwd", folder / "group", unpacked("nss") / LIB / "libnss_wrapper.so")


def _wrapper(path, body):
    path.write_text("#!/bin/sh\n" + textwrap.dedent(body))
    path.chmod(0o755)


def exim_tools(bin_dir):
    """``exim4`` and ``update-exim4.conf`` from the Debian packages, on PATH in ``bin_dir``."""
    root = unpacked("exim")
    bin_dir.mkdir(parents=True, exist_ok=True)
    nss = _users(bin_dir / "nss")
    _wrapper(bin_dir / "exim4", 'export LD_LIBRARY_PATH=%s %s\nexec %s "$@"\n' % (root / LIB, nss,
                                                                                   root / "usr/sbin/exim4"))
    # The script runs exim4 from /usr/sbin to validate what it wrote (-bV): point it at the unpacked one.
    script = (root / "usr/sbin/update-exim4.conf").read_text()
    script = script.replace('EXIM="/usr/sbin/exim4"', 'EXIM="%s"' % (bin_dir / "exim4"))
    (bin_dir / "update-exim4.conf.real").write_text(script)
    _wrapper(bin_dir / "update-exim4.conf", 'export %s\nexec sh %s "$@"\n' % (nss, bin_dir / "update-exim4.conf.real"))
    return bin_dir


def exim_conf_tree(directory):
    """/etc/exim4 as exim4-config ships it (conf.d, exim4.conf.template), in ``directory``."""
    shutil.copytree(str(unpacked("exim") / "etc/exim4"), str(directory))
    return directory


def exim(bin_dir, config, *args):
    return subprocess.run([str(bin_dir / "exim4"), "-C", str(config)] + list(args), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, timeout=60).stdout


def sendmail_tools(bin_dir, config_dir):
    """``makemap`` (and ``sendmail``) from sendmail-bin on PATH, reading ``config_dir``/sendmail.cf (-C) instead
    of /etc/mail/sendmail.cf, which does not exist here."""
    root = unpacked("sendmail")
    bin_dir.mkdir(parents=True, exist_ok=True)
    nss = _users(bin_dir / "nss")
    for tool in ("makemap", "sendmail"):
        _wrapper(bin_dir / tool, 'export %s\nexec %s -C %s "$@"\n' % (nss, root / "usr/libexec/sendmail" / tool,
                                                                      Path(config_dir) / "sendmail.cf"))
    return bin_dir
