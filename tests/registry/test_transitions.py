"""Every move outside the state machine is refused with 409 and changes nothing."""

from __future__ import annotations

import pytest

from pubdata.registry.workflow import ACTION_LABELS, MACHINES, STATE_LABELS, Kind
from pubdata.workflow import IllegalTransition

ACTIONS = sorted(ACTION_LABELS)
CASES = [(kind, state, action) for kind in Kind for state in STATE_LABELS for action in ACTIONS
         if (state, action) not in MACHINES[kind].transitions]


def test_every_kind_reaches_a_final_state_from_draft():
    finals = {Kind.FIRST: "certified", Kind.CHANGE: "certified", Kind.CORRECTION: "certified",
              Kind.CANCELLATION: "cancelled", Kind.RENEWAL: "certified"}
    for kind, final in finals.items():
        reachable, frontier = {"draft"}, ["draft"]
        while frontier:
            state = frontier.pop()
            for (s, _a), nxt in MACHINES[kind].transitions.items():
                if s == state and nxt not in reachable:
                    reachable.add(nxt)
                    frontier.append(nxt)
        assert final in reachable


@pytest.mark.parametrize(("kind", "state", "action"), CASES)
def test_illegal_transition_is_refused(kind, state, action):
    with pytest.raises(IllegalTransition) as exc:
        MACHINES[kind].next_state(state, action)
    assert exc.value.status == 409 and exc.value.code == "illegal_transition"
    assert STATE_LABELS[state] in exc.value.detail
