"""The service's two jobs, run every so many seconds by the injected clock.

`schedule` reads the real clock (datetime.now) and cannot be handed another, so the loop is
driven from the clock here: a job runs when the clock has reached its time, and its next
time counts from when it finished (as `schedule` does).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass
class _Job:
    every: timedelta
    run: Callable[[], None]
    due: datetime


class Timetable:
    def __init__(self, now: Callable[[], datetime]) -> None:
        self.now = now
        self.jobs: list[_Job] = []

    def every(self, seconds: float, job: Callable[[], None]) -> None:
        interval = timedelta(seconds=seconds)
        self.jobs.append(_Job(interval, job, self.now() + interval))

    def soon(self, job: Callable[[], None], at: datetime) -> None:
        """Bring `job` forward to `at`, if it was due later (new mail, a reconnect)."""
        for entry in self.jobs:
            if entry.run == job:
                entry.due = min(entry.due, at)

    def clear(self) -> None:
        self.jobs.clear()

    def run_pending(self) -> None:
        for job in sorted(self.jobs, key=lambda job: job.due):
            if self.now() >= job.due:
                job.run()
                job.due = self.now() + job.every

    def idle_seconds(self) -> float | None:
        """Seconds until the next job is due (negative: overdue); None without jobs."""
        if not self.jobs:
            return None
        return (min(job.due for job in self.jobs) - self.now()).total_seconds()
