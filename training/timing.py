"""Timing optimizer steps during training (for the seconds-per-step figures in the recipes)."""

from __future__ import annotations

import statistics
import time
from typing import Any

from transformers import TrainerCallback


class StepTimer(TrainerCallback):
    """Wall time of each optimizer step (forward, backward, optimizer); evaluations and checkpoint
    saves between steps are not counted."""

    def __init__(self) -> None:
        self.durations: list[float] = []
        self._last: float | None = None

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._last = time.perf_counter()

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        now = time.perf_counter()
        if self._last is not None:
            self.durations.append(now - self._last)
        self._last = now

    def on_evaluate(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._last = time.perf_counter()

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._last = time.perf_counter()

    def summary(self) -> dict[str, Any]:
        """Median seconds per step, leaving out the first (it pays for warm-up)."""
        steady = self.durations[1:] or self.durations
        if not steady:
            return {"seconds_per_step": None}
        return {"seconds_per_step": round(statistics.median(steady), 3),
                "seconds_first_step": round(self.durations[0], 3), "timed_steps": len(self.durations)}
