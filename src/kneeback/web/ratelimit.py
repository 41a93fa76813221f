"""Rate limits kept in memory: failed logins per account and address, registrations per address.

A fixed, clear rule: at most ``max_per_account`` failed logins for one username and
``max_per_ip`` from one address within the last ``window_s`` seconds (a sliding window). Past
either, logins are refused (HTTP 429) until the oldest failure leaves the window; a successful
login clears the account's failures. The counts live in this process only: a restart clears them.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable

__all__ = ["LoginRateLimiter", "RegistrationRateLimiter"]


class LoginRateLimiter:
    """Count failed logins per account and per address in a sliding window.

    Parameters
    ----------
    max_per_account, max_per_ip
        Failures allowed in the window.
    window_s
        Length of the window in seconds.
    clock
        Monotonic clock in seconds (replaceable in tests).
    """

    def __init__(
        self,
        *,
        max_per_account: int,
        max_per_ip: int,
        window_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_per_account = max_per_account
        self.max_per_ip = max_per_ip
        self.window_s = window_s
        self.clock = clock
        self._lock = threading.Lock()
        self._failures: defaultdict[str, deque[float]] = defaultdict(deque)

    def _prune(self, key: str, now: float) -> deque[float]:
        q = self._failures[key]
        while q and q[0] <= now - self.window_s:
            q.popleft()
        if not q:
            del self._failures[key]
            return deque()
        return q

    def retry_after(self, account: str, ip: str, /) -> float | None:
        """Seconds until a login may be tried again, or None when it may be tried now."""
        now = self.clock()
        waits = []
        with self._lock:
            for key, limit in (
                (f"a:{account.lower()}", self.max_per_account),
                (f"i:{ip}", self.max_per_ip),
            ):
                q = self._prune(key, now)
                if len(q) >= limit:
                    waits.append(q[len(q) - limit] + self.window_s - now)
        return max(waits) if waits else None

    def failed(self, account: str, ip: str, /) -> None:
        """Record a failed login."""
        now = self.clock()
        with self._lock:
            self._failures[f"a:{account.lower()}"].append(now)
            self._failures[f"i:{ip}"].append(now)

    def succeeded(self, account: str, /) -> None:
        """Clear the account's failures after a successful login."""
        with self._lock:
            self._failures.pop(f"a:{account.lower()}", None)


class RegistrationRateLimiter:
    """Count account registrations per client address in a sliding window.

    Every attempt counts, successful or not (a refused one can still probe which usernames
    exist). Past ``max_per_ip`` attempts within ``window_s`` seconds, registrations from that
    address are refused (HTTP 429) until the oldest attempt leaves the window. In memory, per
    process, like :class:`LoginRateLimiter`.

    Parameters
    ----------
    max_per_ip
        Attempts allowed per address in the window.
    window_s
        Length of the window in seconds.
    clock
        Monotonic clock in seconds (replaceable in tests).
    """

    def __init__(
        self, *, max_per_ip: int, window_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_per_ip = max_per_ip
        self.window_s = window_s
        self.clock = clock
        self._lock = threading.Lock()
        self._attempts: defaultdict[str, deque[float]] = defaultdict(deque)

    def try_acquire(self, ip: str, /) -> float | None:
        """Record an attempt from ``ip`` if allowed; else return the seconds to wait.

        Returns
        -------
        float or None
            None when the attempt may go ahead (and was counted); otherwise the seconds until
            one may be tried again (nothing is counted).
        """
        now = self.clock()
        with self._lock:
            q = self._attempts[ip]
            while q and q[0] <= now - self.window_s:
                q.popleft()
            if len(q) >= self.max_per_ip:
                return q[len(q) - self.max_per_ip] + self.window_s - now
            q.append(now)
            return None
