"""Turn SIGINT and SIGTERM into a request to stop between two files."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Any

logger = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    """Context manager that records SIGINT and SIGTERM instead of stopping.

    The first signal sets :attr:`signum`, and a run that polls it stops
    before its next file, so that it can save its state. A second signal
    raises ``SystemExit(128 + signum)`` at once, without saving. Outside the
    main thread, where Python cannot install signal handlers, the context
    changes nothing and :attr:`signum` stays None.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is not threading.main_thread():
            logger.debug(
                "not in the main thread, so SIGINT and SIGTERM keep their handlers"
            )
            return self
        for signum in STOP_SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is not None:
            raise SystemExit(128 + signum)
        self.signum = signum
        logger.info(
            "received %s; stopping after the current file", signal.Signals(signum).name
        )
