"""The progress bar of a run: tqdm on a terminal, nothing elsewhere."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def progress_bar(total: int, initial: int) -> Iterator[Any]:
    """Yield a tqdm bar on a terminal, or an object whose update does nothing."""
    try:
        from tqdm import tqdm
    except ImportError:
        tqdm = None
    enabled = tqdm is not None and sys.stderr.isatty()
    if not enabled:
        yield _NoBar()
        return
    with tqdm(
        total=total,
        initial=initial,
        unit="file",
        desc="evaluate",
        file=sys.stderr,
    ) as bar:
        yield bar


class _NoBar:
    def update(self, count: int = 1) -> None:
        pass
