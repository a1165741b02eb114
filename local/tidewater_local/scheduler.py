"""Fires the template's schedules (EventBridge's and the summariser workflow's) on cadence."""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable
from typing import Any

from tidewater_local.cfn import Schedule


class Scheduler:
    def __init__(
        self,
        schedules: list[Schedule],
        invoke: Callable[[str, dict[str, Any]], Any],
        on_error: Callable[[str, Exception], None] = lambda name, error: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.schedules = schedules
        self.invoke = invoke
        self.on_error = on_error
        self.clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """No run starts after this; a run under way gets `timeout` seconds to end."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=timeout)

    def _run(self) -> None:
        start = self.clock()
        # Like EventBridge, a rate schedule first fires one period after it is created.
        queue = [(start + s.every + s.offset, n) for n, s in enumerate(self.schedules)]
        heapq.heapify(queue)
        while queue and not self._stop.is_set():
            due, index = queue[0]
            if self._stop.wait(max(0.0, due - self.clock())):
                return
            heapq.heapreplace(queue, (due + self.schedules[index].every, index))
            schedule = self.schedules[index]
            try:
                self.invoke(schedule.function, dict(schedule.payload))
            except Exception as error:  # one failed run must not stop the schedule
                self.on_error(schedule.function, error)
