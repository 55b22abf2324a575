# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""mxhero.unroute.estate: every target domain's steps from one task on the controller, concurrently.

Each domain runs exactly what the role's ``domain`` action runs for it (plugin_utils/_domain_run.py), in a
thread of this one process: the modules' clients, OAuth token caches and connections are shared instead of
being rebuilt by every fork, and Ansible pays for one task instead of seven to ten per domain.
"""

from __future__ import annotations

import concurrent.futures
import os
import threading
import time

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.mxhero.unroute.plugins.module_utils import _domain
from ansible_collections.mxhero.unroute.plugins.plugin_utils import _domain_run
from ansible_collections.mxhero.unroute.plugins.plugin_utils._inprocess import InProcessAction, task_environment

display = Display()
DEFAULT_CONCURRENCY = 8
_OPTIONS = {"hosts", "plan", "restore", "concurrency", "progress_interval", "slices"}


class Progress(object):
    """Plain lines (a terminal and AWX's job output alike): done of total, changed, errors, time left."""

    def __init__(self, total, interval, out):
        self.total, self.interval, self.out = total, interval, out
        self.done = self.changed = self.errors = 0
        self.started = self.last = time.monotonic()
        self.step = max(1, total // 10)
        self.peak = 0

    def add(self, status):
        self.done += 1
        self.changed += status == "changed"
        self.errors += status == "error"
        now = time.monotonic()
        if self.done == self.total or self.done % self.step == 0 or now - self.last >= self.interval:
            self.last = now
            self.out(self.line(now, self.peak if self.done == self.total else None))

    def line(self, now, peak=None):
        elapsed = now - self.started
        left = elapsed / self.done * (self.total - self.done) if self.done else 0
        return "estate: %d/%d domains done, %d changed, %d errors, %s" % (
            self.done, self.total, self.changed, self.errors,
            "%s elapsed" % _clock(elapsed) if self.done == self.total else "about %s left" % _clock(left)) + (
            ", at most %d at once" % peak if peak else "")


def _clock(seconds):
    seconds = int(round(seconds))
    return "%dm%02ds" % divmod(seconds, 60) if seconds >= 60 else "%ds" % seconds


class ActionModule(InProcessAction):
    # The task's environment and the play's budgets reach every domain as they reach each module's own action.
    def run(self, tmp=None, task_vars=None):
        profile = os.environ.get("UNROUTE_ESTATE_PROFILE")
        if not profile:
            return self._run(tmp, task_vars)
        # Where an estate run's time goes (benchmarks/estate_bench.py --profile): cProfile of this task alone,
        # which runs in an Ansible worker process no outside profiler sees.
        import cProfile  # pylint: disable=import-outside-toplevel
        profiler = cProfile.Profile()
        try:
            return profiler.runcall(self._run, tmp, task_vars)
        finally:
            profiler.dump_stats(profile)

    def _run(self, tmp=None, task_vars=None):
        result = ActionBase.run(self, tmp, task_vars)
        args = self._task.args
        unknown = sorted(set(args) - _OPTIONS)
        if unknown:
            result.update(failed=True, msg="mxhero.unroute.estate: unknown option(s) %s; it takes %s"
                          % (", ".join(unknown), ", ".join(sorted(_OPTIONS))))
            return result
        try:
            concurrency = int(args.get("concurrency") or DEFAULT_CONCURRENCY)
            interval = float(args.get("progress_interval") or 15)
            if concurrency < 1:
                raise ValueError(concurrency)
        except (TypeError, ValueError):
            result.update(failed=True, msg="mxhero.unroute.estate: concurrency %r is not a whole number of at least 1; "
                          "set unroute_concurrency to one" % args.get("concurrency"))
            return result
        hosts = list(args.get("hosts") or [])
        plan, restore = args.get("plan", _domain_run.ABSENT), args.get("restore", _domain_run.ABSENT)
        check_mode, diff_mode = self._modes()
        try:
            env = self._task_environment()
        except Exception as err:  # pylint: disable=broad-exception-caught
            result.update(failed=True, msg="mxhero.unroute.estate: the task's environment could not be read: %s; "
                          "give environment as a mapping of variable names to strings" % err)
            return result
        hostvars = task_vars["hostvars"]
        defaults = _domain_run.role_defaults(self._loader)

        prepared, per_host, entries = [], [], []
        zones, memo = _domain_run.inventory_zones(task_vars), {}
        for host in hosts:
            variables = dict(defaults)
            variables.update(hostvars.raw_get(host))
            dv = _domain_run.domain_vars(self._templar, variables, zones, memo)
            try:
                mail_servers, name = _domain.needs_mail_servers(dv), dv.domain
            except Exception:  # pylint: disable=broad-exception-caught
                mail_servers, name = False, host  # prepare() words the template error for this domain
            if mail_servers:
                # Its platform steps run on its mail servers over SSH: the role's play after this task runs it.
                per_host.append(host)
                continue
            # Templating stays on this thread (the templar is not shared across threads); the calls go to the pool.
            job = _domain_run.prepare(dv, check_mode,
                                      plan.get(name) if isinstance(plan, dict) else _domain_run.ABSENT,
                                      restore.get(name) if isinstance(restore, dict) else _domain_run.ABSENT)
            prepared.append(job)
        prepared = _domain_run.interleaved(prepared)

        progress = Progress(len(prepared), interval, display.display)
        if prepared:
            later = "; %d with mail servers follow per host" % len(per_host) if per_host else ""
            display.display("estate: %d domains, %d at a time%s" % (len(prepared), concurrency, later))
        running = [0]
        lock = threading.Lock()

        def one(job):
            with lock:
                running[0] += 1
                progress.peak = max(progress.peak, running[0])
            try:
                return self._one(job, check_mode, diff_mode)
            finally:
                with lock:
                    running[0] -= 1

        with task_environment(env), self._budgets(task_vars, args.get("slices")) as slices:
            if concurrency == 1 and os.environ.get("UNROUTE_ESTATE_PROFILE"):
                # Profiling one at a time: on this thread, where cProfile sees the domains' own work.
                for job in prepared:
                    entry = one(job)
                    entries.append(entry)
                    progress.add(_domain_run.entry_status(entry))
                prepared = []
            with concurrent.futures.ThreadPoolExecutor(max_workers=concurrency) as pool:
                futures = [pool.submit(one, job) for job in prepared]
                for future in concurrent.futures.as_completed(futures):
                    entry = future.result()
                    entries.append(entry)
                    status = _domain_run.entry_status(entry)
                    if status == "error" and entry["errors"]:
                        display.display("estate: %s" % entry["errors"][0]["msg"], color="red")
                    for text in _domain_run.warnings_of(entry):
                        display.vvv("estate: [WARNING] %s" % text)
                    progress.add(status)
        entries.sort(key=lambda e: e["domain"])
        result.update(changed=any(_domain_run.entry_status(e) == "changed" for e in entries), entries=entries,
                      per_host=per_host,
                      summary={"domains": len(entries), "changed": progress.changed, "errors": progress.errors,
                               "per_host": len(per_host), "slices": slices})
        return result

    @staticmethod
    def _one(job, check_mode, diff_mode):
        try:
            return _domain_run.execute(job, check_mode, diff_mode)
        except Exception as err:  # pylint: disable=broad-exception-caught
            entry = dict(job["entry"], results={})
            entry["errors"] = [{"task": "Platform and DNS", "drifted": False,
                                "msg": "%s: the estate engine failed unexpectedly: %s: %s; run again with "
                                       "-e unroute_engine=per_host and report this as a bug of mxhero.unroute"
                                       % (entry["domain"], type(err).__name__, err)}]
            return entry
