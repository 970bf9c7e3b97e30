"""The optional progress callback that long-running core functions accept."""
from __future__ import annotations

from typing import Callable, Optional

Progress = Callable[[float, str], None]
"""progress(fraction in [0, 1], message): the page wires it to st.progress, the CLI to stderr."""


def report(progress: Optional[Progress], fraction: float, message: str) -> None:
    if progress is not None:
        progress(max(0.0, min(1.0, fraction)), message)
