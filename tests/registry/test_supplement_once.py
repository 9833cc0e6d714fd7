"""REG-26 一次性告知: one supplement notice lists everything; the service refuses a second one."""

from __future__ import annotations

import pytest

from pubdata.errors import Conflict
from pubdata.registry import applications as svc
from tests.registry.support import submitted_first

ITEMS = [{"field": "documents.identity_proof", "item": "登记主体身份证明材料", "reason": "复印件不清晰"}]


def test_a_second_supplement_request_is_refused_after_resubmission(db_session, subject, clerk, tmp):
    app = submitted_first(db_session, subject, tmp)
    svc.request_supplement(db_session, actor=clerk, application_id=app.id, items=ITEMS)
    svc.submit(db_session, actor=subject, application_id=app.id)
    with pytest.raises(Conflict) as exc:
        svc.request_supplement(db_session, actor=clerk, application_id=app.id, items=ITEMS)
    assert exc.value.code == "supplement_already_requested"
    assert app.state == "submitted" and app.supplement_rounds == 1
    # Still not in order: the institution declines with reasons instead.
    svc.not_accept(db_session, actor=clerk, application_id=app.id, reasons="一次性告知补正后仍不符合规定。")
    assert app.state == "not_accepted"
