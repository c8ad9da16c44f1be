"""The states of a channel's account security health, as the inventory filters and shows them.

Kept apart from the checks themselves so that the channel model can name them without importing
the package built on it."""

from __future__ import annotations

from enum import StrEnum


class HealthState(StrEnum):
    UNCHECKED = "unchecked"
    HEALTHY = "healthy"
    NEEDS_ATTENTION = "needs_attention"

    @property
    def label(self) -> str:
        return _LABELS[self][0]

    @property
    def colour(self) -> str:
        return _LABELS[self][1]


_LABELS = {
    HealthState.UNCHECKED: ("Unchecked", "grey"),
    HealthState.HEALTHY: ("Healthy", "green"),
    HealthState.NEEDS_ATTENTION: ("Needs attention", "red"),
}
