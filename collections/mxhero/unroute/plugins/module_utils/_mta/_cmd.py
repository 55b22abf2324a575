# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Running the mail server's own tools (postconf, postmap, postfix, update-exim4.conf, m4, make)."""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import time

# Mail tools live in sbin, which a non-login SSH session often lacks in PATH.
_SBIN = ("/usr/sbin", "/sbin", "/usr/local/sbin")


def which(name):
    path = os.environ.get("PATH", "")
    extra = ":".join(d for d in _SBIN if d not in path.split(":"))
    return shutil.which(name, path=path + (":" + extra if extra else ""))


def _env():
    env = dict(os.environ)
    env["LC_ALL"] = "C"
    env.setdefault("PATH", "/usr/bin:/bin")
    for directory in _SBIN:
        if directory not in env["PATH"].split(":"):
            env["PATH"] += ":" + directory
    return env


def run(argv, data=None, tty=False, timeout=120):
    """Run ``argv``; return (rc, output). Never raises for a failing command.

    ``tty``: the ``postfix`` command writes its errors to syslog only, unless its
    stderr is a terminal; a pseudo-terminal is the one way to hear why a
    ``postfix check`` failed on a host without a syslog daemon.
    """
    if tty:
        return _run_tty(argv, timeout)
    try:
        proc = subprocess.run(argv, input=data, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              env=_env(), timeout=timeout, check=False, universal_newlines=True)
    except OSError as err:
        return 127, str(err)
    except subprocess.TimeoutExpired:
        return 124, "timed out after %ss" % timeout
    return proc.returncode, proc.stdout or ""


def run_split(argv, timeout=120):
    """Run ``argv``; return (rc, stdout, stderr), for tools whose stdout is the product (m4)."""
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(), timeout=timeout,
                              check=False, universal_newlines=True)
    except OSError as err:
        return 127, "", str(err)
    except subprocess.TimeoutExpired:
        return 124, "", "timed out after %ss" % timeout
    return proc.returncode, proc.stdout or "", proc.stderr or ""


def _run_tty(argv, timeout):
    import pty  # posix only; imported here so that the module still loads elsewhere for docs

    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=_env(),
                                close_fds=True)
    except OSError as err:
        os.close(master)
        os.close(slave)
        return 127, str(err)
    os.close(slave)
    chunks = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        ready, _w, _x = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 4096)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(master)
    try:
        rc = proc.wait(timeout=max(1, deadline - time.time()))
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = 124
    text = b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")
    return rc, text


def one_line(text, limit=300):
    """Command output folded into one line for an error message."""
    lines = [line.strip() for line in str(text or "").splitlines() if line.strip()]
    joined = " / ".join(lines)
    return joined if len(joined) <= limit else joined[:limit - 3] + "..."
