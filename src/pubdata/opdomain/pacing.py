"""No timing oracle in the console's answer (OPS-33): an answer — allowed, refused or failed alike — leaves no
earlier than the next multiple of a quantum after the request arrived (at least one quantum), so how long the
engine worked on the data is not visible to the operator beyond that granularity. The API and the console page
both answer through :func:`pace`."""

from __future__ import annotations

import asyncio
import math
import time


def delay(elapsed: float, quantum: float) -> float:
    """Seconds still to wait after ``elapsed`` seconds so the answer lands on a multiple of ``quantum``."""
    if quantum <= 0:
        return 0.0
    return max(1, math.ceil(elapsed / quantum)) * quantum - elapsed


async def pace(started: float, quantum_ms: int) -> None:
    """Wait (without blocking the event loop) until the answer may leave; ``started`` is ``time.monotonic()``."""
    wait = delay(time.monotonic() - started, quantum_ms / 1000)
    if wait > 0:
        await asyncio.sleep(wait)
