"""REG-28: the public can find a notice by any fragment of its data or subject name, or by registration code,
through a term index written with the notice (every keyword must match)."""

from __future__ import annotations

from sqlalchemy import func, select

from pubdata.registry import applications as svc
from pubdata.registry.models import PublicNotice, PublicNoticeTerm
from pubdata.registry.public_views import notices_query
from tests.registry.support import submitted_first


def _in_notice(db, subject, clerk, tmp, name: str):  # type: ignore[no-untyped-def]
    app = submitted_first(db, subject, tmp, basic={"name": name})
    svc.accept(db, actor=clerk, application_id=app.id)
    svc.pass_review(db, actor=clerk, application_id=app.id)
    return app


def _found(db, q: str) -> tuple[list[str], int]:  # type: ignore[no-untyped-def]
    rows, ids = notices_query(db, q=q)
    names = [pn.data_name for pn, _ in db.execute(rows)]
    return names, int(db.scalar(select(func.count()).select_from(ids.subquery())) or 0)


def test_a_notice_is_indexed_when_it_opens_and_found_by_any_fragment(db_session, subject, clerk, tmp):
    app = _in_notice(db_session, subject, clerk, tmp, "兰州市公交客流监测数据")
    db_session.flush()
    notice = db_session.scalar(select(PublicNotice).where(PublicNotice.application_id == app.id))
    assert db_session.scalar(select(func.count()).select_from(PublicNoticeTerm)
                             .where(PublicNoticeTerm.notice_id == notice.id)) > 5
    for q in ("公交", "客流监测", "监", "兰州 数据", notice.subject_name):
        assert _found(db_session, q) == (["兰州市公交客流监测数据"], 1), q


def test_every_keyword_must_match_and_bigram_coincidences_are_not_matches(db_session, subject, clerk, tmp):
    _in_notice(db_session, subject, clerk, tmp, "全省公路路网运行监测数据")
    _in_notice(db_session, subject, clerk, tmp, "天水市医保结算数据")
    db_session.flush()
    assert _found(db_session, "医保 天水") == (["天水市医保结算数据"], 1)
    assert _found(db_session, "医保 兰州") == ([], 0)
    assert _found(db_session, "路网监测") == ([], 0)  # 路网…网运…运行…监测: all bigrams, never the phrase
    assert _found(db_session, "数据")[1] == 2


def test_a_registration_code_or_its_start_finds_its_notice(db_session, subject, clerk, tmp):
    app = _in_notice(db_session, subject, clerk, tmp, "全省高速公路收费站数据")
    db_session.flush()
    code = app.registration.code
    assert code
    assert _found(db_session, code) == (["全省高速公路收费站数据"], 1)
    assert _found(db_session, code.lower()) == (["全省高速公路收费站数据"], 1)
    assert _found(db_session, code[:-3])[1] >= 1
