# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One backoff policy for every client: transient failures only, capped, honest about attempts."""

from __future__ import annotations

import random
import time


class TransientError(Exception):
    """A failure worth retrying (429, 502/503/504, timeouts, WS-Man operation timeouts).

    ``retry_after`` is the server's Retry-After in seconds when it sent one.
    ``unknown_outcome`` marks a write that may or may not have happened: the
    caller must re-read state before trying again, so ``retry`` never repeats it.
    ``throttled`` marks the vendor's "too many requests" answer: the account's budget is penalised, not just
    the one call (_budget.py).
    """

    def __init__(self, message, retry_after=None, unknown_outcome=False, throttled=False):
        super(TransientError, self).__init__(message)
        self.retry_after = retry_after
        self.unknown_outcome = unknown_outcome
        self.throttled = throttled


class RetryExhausted(Exception):
    def __init__(self, last, attempts, waited):
        self.last = last
        self.attempts = attempts
        self.waited = waited
        super(RetryExhausted, self).__init__(
            "%s (gave up after %d attempt%s, %.1fs waiting)" % (last, attempts, "" if attempts == 1 else "s", waited))


class RetryPolicy(object):
    def __init__(self, attempts=5, base=0.5, cap=8.0, max_total_wait=60.0, sleep=time.sleep, rand=random.random):
        self.attempts = max(1, int(attempts))
        self.base = base
        self.cap = cap
        self.max_total_wait = max_total_wait
        self._sleep = sleep
        self._rand = rand

    def delay(self, attempt, retry_after=None):
        """Full-jitter exponential backoff, or the server's Retry-After when given."""
        if retry_after is not None:
            return max(0.0, float(retry_after))
        return self._rand() * min(self.cap, self.base * (2 ** (attempt - 1)))

    def call(self, func, *args, **kwargs):
        """Run ``func`` until it stops raising TransientError, within the policy's limits."""
        waited = 0.0
        attempt = 0
        while True:
            attempt += 1
            try:
                return func(*args, **kwargs)
            except TransientError as err:
                if err.unknown_outcome or attempt >= self.attempts:
                    raise RetryExhausted(err, attempt, waited)
                pause = self.delay(attempt, err.retry_after)
                if waited + pause > self.max_total_wait:
                    raise RetryExhausted(err, attempt, waited)
                self._sleep(pause)
                waited += pause


def attempt(func, classify, policy):
    """One call through ``policy`` with every failure classified once (in the spirit of an error-handler
    decorator): ``classify(err)`` returns the exception that stands for ``err`` (TransientError to try again)
    or None to let ``err`` through unchanged. Whatever ``classify`` raises is final, never retried."""
    def once():
        try:
            return func()
        except TransientError:
            raise
        except Exception as err:  # noqa: B902 - the classifier decides what every failure means
            verdict = classify(err)
            if verdict is None or verdict is err:
                raise
            raise verdict
    return policy.call(once)
