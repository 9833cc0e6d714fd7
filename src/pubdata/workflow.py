"""Explicit state machines: a table of ``(state, action) -> next state``; nothing moves outside it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pubdata.errors import Conflict


class IllegalTransition(Conflict):
    code = "illegal_transition"


@dataclass(frozen=True)
class StateMachine:
    #: Human name of the lifecycle, used in messages (e.g. "单位实名核验").
    name: str
    transitions: Mapping[tuple[str, str], str]
    #: Chinese labels for states and actions, for messages.
    labels: Mapping[str, str]

    def next_state(self, state: str, action: str) -> str:
        try:
            return self.transitions[(state, action)]
        except KeyError:
            raise IllegalTransition(
                f"{self.name}：当前状态“{self.labels.get(state, state)}”下不能执行“{self.labels.get(action, action)}”。"
            ) from None

    def move(self, obj: Any, action: str) -> tuple[str, str]:
        """Move ``obj.state`` by ``action``; returns (before, after) for the audit event."""
        before = obj.state
        obj.state = self.next_state(before, action)
        return before, obj.state

    def allowed_actions(self, state: str) -> list[str]:
        return [a for (s, a) in self.transitions if s == state]
