"""The operation-domain API end to end: application, decision, checked query, refusal (audited), revocation."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pubdata import clock
from pubdata.opdomain.models import DataGrant
from tests.opdomain.platform_support import COLUMNS, USES, events, world
from tests.web.test_api import PROBLEM, token_for

BY_COUNTY = "SELECT county_code, count(*) AS n FROM population GROUP BY county_code"


def test_apply_decide_query_revoke(client, db_session, c, tmp: Path) -> None:  # type: ignore[no-untyped-def]
    w = world(db_session, c, tmp)
    db_session.commit()
    operator, industry = token_for(client, c.operator.label), token_for(client, c.industry.label)

    r = client.get("/api/v1/opdomain/datasets", headers=operator)
    assert r.status_code == 200 and w.dataset.id in [d["id"] for d in r.json()]
    body = {"dataset_id": w.dataset.id, "requested": COLUMNS, "uses": USES, "purpose": "县区人口分析",
            "scenario": "乡村振兴监测", "product": "路网通行指数", "period_start": clock.today().isoformat(),
            "period_end": (clock.today() + dt.timedelta(days=30)).isoformat()}
    r = client.post("/api/v1/opdomain/applications", json=body, headers=industry)
    assert r.status_code == 403 and r.headers["content-type"] == PROBLEM
    r = client.post("/api/v1/opdomain/applications", json=body, headers=operator)
    assert r.status_code == 201, r.text
    app_id = r.json()["id"]
    assert r.json()["state_label"] == "待审核"

    r = client.post(f"/api/v1/opdomain/applications/{app_id}/decision", json={"decision": "approve"}, headers=operator)
    assert r.status_code == 403
    r = client.post(f"/api/v1/opdomain/applications/{app_id}/decision", json={"decision": "approve"}, headers=industry)
    assert r.status_code == 200, r.text
    grant_id = r.json()["grant"]["id"]
    assert r.json()["grant"]["active"] is True

    r = client.post(f"/api/v1/opdomain/grants/{grant_id}/queries", json={"sql": BY_COUNTY}, headers=operator)
    assert r.status_code == 200, r.text
    assert r.json()["columns"] == ["county_code", "n"] and r.json()["rows"]

    r = client.post(f"/api/v1/opdomain/grants/{grant_id}/queries", json={"sql": "SELECT * FROM population"},
                    headers=operator)
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    assert r.json()["code"] == "row_level_output"
    # The refusal's audit event survived the request's rollback.
    assert events(db_session, "opdomain:query:refused")[-1].data["code"] == "row_level_output"

    r = client.post(f"/api/v1/opdomain/grants/{grant_id}/revoke", json={"reason": "违反约定"}, headers=industry)
    assert r.status_code == 200 and r.json()["active"] is False
    r = client.post(f"/api/v1/opdomain/grants/{grant_id}/queries", json={"sql": BY_COUNTY}, headers=operator)
    assert r.status_code == 403 and r.json()["code"] == "grant_inactive"
    assert db_session.get(DataGrant, grant_id) is not None
    assert [g["id"] for g in client.get("/api/v1/opdomain/grants", headers=operator).json()] == [grant_id]
