"""How long-running commands (`run`, `web`) wait: until SIGTERM or Ctrl-C, or until a test sets their event."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

log = logging.getLogger(__name__)


def wait_for_stop(stop: threading.Event, then: str) -> None:
    """Block until SIGTERM/SIGINT arrives or `stop` is set; `then` says what happens next, for the log."""

    def _on_signal(signum: int, _frame: Any) -> None:
        log.info("signal received signal=%s: %s", signal.Signals(signum).name, then)
        stop.set()

    if threading.current_thread() is threading.main_thread():  # signals can only be caught there
        signal.signal(signal.SIGTERM, _on_signal)
        signal.signal(signal.SIGINT, _on_signal)
    stop.wait()
