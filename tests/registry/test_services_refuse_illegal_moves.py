"""Through the services, not just the table: each illegal action on a real application is a 409 that
leaves the application exactly as it was."""

from __future__ import annotations

import pytest

from pubdata.registry import applications as svc
from pubdata.workflow import IllegalTransition
from tests.registry.support import submitted_first

INSTITUTION = {
    "accept": lambda db, a, i: svc.accept(db, actor=a, application_id=i),
    "not_accept": lambda db, a, i: svc.not_accept(db, actor=a, application_id=i, reasons="理由"),
    "request_supplement": lambda db, a, i: svc.request_supplement(db, actor=a, application_id=i, items=[{"item": "x"}]),
    "fail": lambda db, a, i: svc.fail_review(db, actor=a, application_id=i, reasons="理由"),
    "refuse": lambda db, a, i: svc.refuse(db, actor=a, application_id=i, ground="duplicate", reasons="理由"),
    "pass": lambda db, a, i: svc.pass_review(db, actor=a, application_id=i),
}
#: How to bring a first registration into each state.
PATHS = {
    "submitted": [],
    "under_review": ["accept"],
    "in_notice": ["accept", "pass"],
    "supplement_requested": ["request_supplement"],
    "not_accepted": ["not_accept"],
    "review_failed": ["accept", "fail"],
    "refused": ["accept", "refuse"],
}
LEGAL = {("submitted", a) for a in ("accept", "not_accept", "request_supplement")} | {
    ("under_review", a) for a in ("fail", "refuse", "pass")} | {("in_notice", "refuse")}


@pytest.mark.parametrize(("state", "action"), [(s, a) for s in PATHS for a in INSTITUTION if (s, a) not in LEGAL])
def test_institution_action_in_wrong_state(db_session, subject, clerk, tmp, state, action):
    app = submitted_first(db_session, subject, tmp)
    for step in PATHS[state]:
        INSTITUTION[step](db_session, clerk, app.id)
    assert app.state == state
    before = (app.state, len(app.notices), app.version)
    with pytest.raises(IllegalTransition):
        INSTITUTION[action](db_session, clerk, app.id)
    db_session.refresh(app)
    assert (app.state, len(app.notices), app.version) == before


@pytest.mark.parametrize("state", ["submitted", "under_review", "in_notice", "not_accepted"])
def test_applicant_cannot_resubmit_or_submit_outside_draft_or_supplement(db_session, subject, clerk, tmp, state):
    app = submitted_first(db_session, subject, tmp)
    for step in PATHS[state]:
        INSTITUTION[step](db_session, clerk, app.id)
    with pytest.raises(IllegalTransition):
        svc.submit(db_session, actor=subject, application_id=app.id)
