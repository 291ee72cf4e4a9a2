"""The fetch stage's errors: transient (a later try may succeed) or permanent, each naming the URL."""

from __future__ import annotations

from core.errors import PermanentError, TransientError, XznewsError


class FetchError(XznewsError):
    """A URL could not be fetched. `transient` says whether a later try may succeed."""

    transient = False

    def __init__(self, url: str, problem: str, *, status: int | None = None) -> None:
        super().__init__(f"{problem}: {url}")
        self.url = url
        self.problem = problem
        self.status = status


class TransientFetchError(FetchError, TransientError):
    transient = True


class PermanentFetchError(FetchError, PermanentError):
    transient = False


class HostDeferredError(TransientFetchError):
    """The host asked us (Retry-After) to come back later than a pass can wait: skip it until `retry_after_s`."""

    def __init__(self, url: str, problem: str, *, retry_after_s: float, status: int | None = None) -> None:
        super().__init__(url, problem, status=status)
        self.retry_after_s = retry_after_s


class FetchCancelledError(TransientFetchError):
    """The process is shutting down: the fetch was abandoned and will be made on a later pass."""
