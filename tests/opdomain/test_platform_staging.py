"""OPS-22: an industry department stages a registered resource's source file through the platform (web or API)
before loading it: only CSV or Parquet that DuckDB can read, never overwriting, size-limited, audited with the
file's SM3 digest; a refused upload leaves nothing behind."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import select

from pubdata.audit.models import AuditEvent
from pubdata.crypto import sm3
from pubdata.errors import Conflict, PermissionDenied, ValidationFailed
from pubdata.opdomain import datasets
from tests.factories import PASSWORD
from tests.operation.support import cast
from tests.web.conftest import csrf_from, web_login

CSV = b"county_code,age,income\n620102,34,52000\n620103,41,61000\n"


def _chunks(data: bytes, size: int = 7) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


def _leftovers() -> list[str]:
    base = datasets.incoming_dir()
    return sorted(p.name for p in base.iterdir() if p.name.startswith(".")) if base.is_dir() else []


def test_a_staged_csv_is_listed_described_and_audited_with_its_digest(db_session) -> None:
    c = cast(db_session)
    name = datasets.stage_file(db_session, actor=c.industry, filename="人口抽样-2026.csv", chunks=_chunks(CSV))
    assert name in datasets.staged_files()
    assert datasets.describe_source(name)[0] == ("county_code", "BIGINT")
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.tag == "opdomain:staging:upload")
                              .order_by(AuditEvent.id.desc()))
    assert event is not None and event.data["sm3"] == sm3.digest(CSV).hex() and event.data["size"] == len(CSV)


def test_a_staged_name_is_never_overwritten(db_session) -> None:
    c = cast(db_session)
    datasets.stage_file(db_session, actor=c.industry, filename="once.csv", chunks=[CSV])
    before = (datasets.incoming_dir() / "once.csv").read_bytes()
    with pytest.raises(Conflict) as exc:
        datasets.stage_file(db_session, actor=c.industry, filename="once.csv", chunks=[b"a,b\n1,2\n"])
    assert exc.value.code == "source_exists"
    assert (datasets.incoming_dir() / "once.csv").read_bytes() == before


@pytest.mark.parametrize(("filename", "data", "code"), [
    ("data.xlsx", CSV, "bad_source_name"),
    ("../escape.csv", CSV, None),  # the path is dropped: staged as escape.csv inside incoming/
    ("data.csv", b"", "file_empty"),
    ("broken.parquet", b"PAR1 not really parquet", "source_unreadable"),
    (None, CSV, "file_missing"),
    ("空 格.csv", CSV, "bad_source_name"),
])
def test_bad_uploads_are_refused_at_the_file_field_and_leave_nothing(db_session, filename, data, code) -> None:
    c = cast(db_session)
    if code is None:
        assert datasets.stage_file(db_session, actor=c.industry, filename=filename, chunks=[data]) == "escape.csv"
        assert not (datasets.incoming_dir().parent / "escape.csv").exists()
        return
    with pytest.raises(ValidationFailed) as exc:
        datasets.stage_file(db_session, actor=c.industry, filename=filename, chunks=[data])
    assert [(e.field, e.code) for e in exc.value.errors] == [("file", code)]
    assert _leftovers() == []


def test_an_upload_over_the_limit_is_refused_while_it_streams(db_session) -> None:
    c = cast(db_session)
    with pytest.raises(ValidationFailed) as exc:
        datasets.stage_file(db_session, actor=c.industry, filename="big.csv", chunks=iter([CSV] * 100),
                            max_bytes=len(CSV) * 3)
    assert exc.value.errors[0].code == "file_too_large"
    assert "big.csv" not in datasets.staged_files() and _leftovers() == []


def test_only_industry_departments_stage_files(db_session) -> None:
    c = cast(db_session)
    with pytest.raises(PermissionDenied):
        datasets.stage_file(db_session, actor=c.operator, filename="x.csv", chunks=[CSV])


def test_staging_through_the_page_and_the_api(client, db_session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    c = cast(db_session)
    db_session.commit()
    client.cookies.clear()
    token = web_login(client, c.industry.label, PASSWORD)
    form = client.get("/opdomain/datasets/new")
    assert "上传源文件到暂存区" in form.text
    r = client.post("/opdomain/staging", data={"csrf_token": csrf_from(form.text) or token},
                    files={"file": ("页面上传.csv", io.BytesIO(CSV), "text/csv")})
    assert r.status_code == 303, r.text
    shown = client.get(r.headers["location"])
    assert "已上传到暂存区" in shown.text and "页面上传.csv" in shown.text and "county_code" in shown.text
    bad = client.post("/opdomain/staging", data={"csrf_token": csrf_from(form.text) or token},
                      files={"file": ("表.xlsx", io.BytesIO(CSV), "application/octet-stream")})
    assert bad.status_code == 422 and "只能上传" in bad.text
    api = client.post("/api/v1/opdomain/staging", headers={"X-CSRF-Token": token},
                      files={"file": ("接口上传.parquet", io.BytesIO(b"junk"), "application/octet-stream")})
    assert api.status_code == 422 and api.json()["errors"][0]["code"] == "source_unreadable"
    assert "页面上传.csv" in client.get("/api/v1/opdomain/staging").json()
