"""Export review (OPS-26): stored protected results, automatic checks, the agency's decision, signed release
manifests, downloads only after approval, suspension (OPS-21)."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import pytest

from pubdata.crypto import sm3
from pubdata.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from pubdata.files import service as files
from pubdata.identity.roles import Role
from pubdata.opdomain import disclosure, export_checks, exports, file_scan, queries
from pubdata.opdomain.disclosure import AggStats, RawRow, protect
from pubdata.opdomain.export_checks import Finding
from pubdata.opdomain.models import ExportRequest, QueryRun
from pubdata.opdomain.schema import DisclosureConfig
from pubdata.operation import measures
from pubdata.workflow import IllegalTransition
from tests.factories import actor_of, make_user
from tests.opdomain.platform_support import events, granted, ran, world

BY_COUNTY = "SELECT county_code, count(*) AS n FROM population GROUP BY county_code"
# Children under five left out: per county a handful fewer, i.e. a differencing pair with BY_COUNTY.
BY_COUNTY_OVER_5 = "SELECT county_code, count(*) AS n FROM population WHERE age >= 5 GROUP BY county_code"
PRODUCT = "路网通行指数"
RIC = "11010519491231002X"
CLEAN_CSV = "县区,人数\n城关区,1200\n七里河区,800\n".encode()


def result_request(db, c, run: QueryRun, **extra: object) -> ExportRequest:  # type: ignore[no-untyped-def]
    args: dict[str, object] = {"query_run_id": run.id, "purpose": "发布县区人口指数", "product": PRODUCT}
    args.update(extra)
    return exports.request_result_export(db, actor=c.operator, **args)  # type: ignore[arg-type]


def file_request(db, c, data: bytes, name: str = "report.csv") -> ExportRequest:  # type: ignore[no-untyped-def]
    return exports.request_file_export(db, actor=c.operator, data=data, filename=name, purpose="模型评估报告",
                                       product=PRODUCT)


@pytest.fixture
def setup(db_session, c, tmp: Path):  # type: ignore[no-untyped-def]
    w = world(db_session, c, tmp)
    return w, granted(db_session, c, w)


# --- stored results -----------------------------------------------------------------------------------------


def test_a_query_stores_only_its_protected_cells(db_session, c, setup) -> None:
    _, grant = setup
    out = queries.run_query(db_session, actor=c.operator, grant_id=grant.id, sql=BY_COUNTY)
    run = db_session.get(QueryRun, out.query_run_id)
    assert out.as_json()["query_run_id"] == run.id and run.audit_event_id == out.audit_event_id
    protected = out.result.result
    assert run.columns == ["county_code", "n"] and run.kinds == ["key", "count"]
    assert run.dataset_id == grant.dataset_id and run.operator_org_id == c.operator.org_id
    for row, stored in zip(protected.rows, run.cells, strict=True):
        for cell, (value, reason) in zip(row, stored, strict=True):
            assert value == (None if cell.suppressed else cell.value)
            assert reason == (cell.reason.value if cell.reason else None)
    hidden = [cell for row in run.cells for cell in row if cell[1]]
    assert all(value is None for value, _ in hidden)
    assert queries.protected_of(run) == protected
    # Small counties are left out of the result whole; what they covered is kept (never shown) for differencing.
    assert run.hidden_total == protected.hidden_total > 0


def test_a_hidden_cell_is_stored_without_its_value(db_session, c, setup) -> None:
    _, grant = setup
    sql = "SELECT county_code, count(*) AS n, count(*) FILTER (WHERE age >= 95) AS old FROM population GROUP BY 1"
    out = queries.run_query(db_session, actor=c.operator, grant_id=grant.id, sql=sql)
    run = db_session.get(QueryRun, out.query_run_id)
    hidden = [cell for row in run.cells for cell in row if cell[1]]
    assert hidden and all(value is None for value, _ in hidden)
    assert queries.protected_of(run) == out.result.result


# --- requests and findings ----------------------------------------------------------------------------------


def test_a_clean_result_request_has_no_blocking_findings(db_session, c, setup) -> None:
    w, grant = setup
    run = ran(db_session, c, grant, BY_COUNTY)
    req = result_request(db_session, c, run)
    assert (req.state, req.kind, req.blocked, req.findings) == ("submitted", "result", False, [])
    assert (req.agreement_id, req.agency_org_id, req.dataset_id) == (w.agreement.id, w.agreement.agency_org_id,
                                                                      run.dataset_id)
    assert req.content_digest == sm3.hexdigest(exports.result_content(run))
    [event] = [e for e in events(db_session, "opdomain:export:request") if e.object_id == str(req.id)]
    assert event.data["content_sm3"] == req.content_digest and event.changes == {"state": [None, "submitted"]}


def test_a_product_outside_the_agreement_is_advisory(db_session, c, setup) -> None:
    _, grant = setup
    req = result_request(db_session, c, ran(db_session, c, grant, BY_COUNTY), product="未约定的产品")
    assert [(f["code"], f["blocking"]) for f in req.findings] == [("product_not_in_agreement", False)]
    assert not req.blocked


def test_bad_input_is_reported_at_the_field(db_session, c, setup) -> None:
    _, grant = setup
    run = ran(db_session, c, grant, BY_COUNTY)
    with pytest.raises(ValidationFailed) as e:
        result_request(db_session, c, run, purpose=" ", product="x" * 201)
    assert {(err.field, err.code) for err in e.value.errors} == {("purpose", "required"), ("product", "too_long")}
    with pytest.raises(ValidationFailed) as e:
        result_request(db_session, c, run, query_run_id=run.id + 10_000)
    assert e.value.errors[0].field == "query_run_id" and e.value.errors[0].code == "query_run_not_found"
    with pytest.raises(ValidationFailed) as e:
        exports.request_file_export(db_session, actor=c.operator, data=b"", filename="a.csv", purpose="p",
                                    product=PRODUCT)
    assert e.value.errors[0].field == "file" and e.value.errors[0].code == "file_empty"
    with pytest.raises(ValidationFailed) as e:  # every problem at once
        exports.request_file_export(db_session, actor=c.operator, data=None, filename=None, purpose="",
                                    product=PRODUCT)
    assert [(err.field, err.code) for err in e.value.errors] == [("file", "file_missing"), ("purpose", "required")]
    with pytest.raises(ValidationFailed) as e:
        exports.request_file_export(db_session, actor=c.operator, data=b"MZ\x90\x00", filename="model.exe",
                                    purpose="p", product=PRODUCT)
    assert e.value.errors[0].field == "file"


def test_another_organisations_result_cannot_be_requested(db_session, c, setup, tmp: Path) -> None:
    _, grant = setup
    run = ran(db_session, c, grant, BY_COUNTY)
    stranger = actor_of(make_user(db_session, Role.OPERATOR))
    with pytest.raises(PermissionDenied) as e:  # no agreement of its own
        exports.request_result_export(db_session, actor=stranger, query_run_id=run.id, purpose="p", product="p")
    assert e.value.code == "no_active_agreement"
    with pytest.raises(PermissionDenied):
        exports.request_result_export(db_session, actor=c.agency, query_run_id=run.id, purpose="p", product="p")


def test_output_checks_identifier_columns_single_records_and_statistics() -> None:
    found = export_checks.output_findings(
        ["n", "x", "m"], ["count", "sum", "statistic"],
        [["population.id_number"], ["population.id_number", "population.age"], ["population.annual_income"]],
        ["population.id_number"])
    assert [(f.code, f.blocking, f.where) for f in found] == [
        (Finding.IDENTIFIER_COLUMN, True, "column:x"), (Finding.RAW_VALUE_STATISTIC, False, "column:m")]
    # A visible row of one entity reproduces a source record (disclosure control would have hidden it).
    one = disclosure.Protected(("k", "n"), ("key", "count"), ((disclosure.Cell("城关区"), disclosure.Cell(1)),),
                               (1,), True)
    assert [f.code for f in export_checks.check_result_export(one)] == [Finding.SINGLE_RECORD]
    few = protect(["k", "n"], ["key", "count"], [RawRow(("城关区", 40), 40, ((), (AggStats(40, rows=40),)))],
                  DisclosureConfig(), population=None, aggregate=True)
    assert export_checks.check_result_export(few) == []


def test_figures_are_not_mistaken_for_identifiers_but_keys_are_read() -> None:
    """The decimals of an average often look like a mobile number (19291.13089843283 holds 13089843283)."""
    cells = (disclosure.Cell("620102"), disclosure.Cell(40), disclosure.Cell(19291.13089843283),
             disclosure.Cell("12317.16397203202"))
    figures = disclosure.Protected(("k", "n", "avg", "sum"), ("key", "count", "sum", "sum"), (cells,), (40,), True)
    assert export_checks.check_result_export(figures) == []
    for key in (13912345678, RIC, f"户主{RIC}"):
        keyed = disclosure.Protected(("k", "n"), ("key", "count"), ((disclosure.Cell(key), disclosure.Cell(40)),),
                                     (40,), True)
        assert [f.code for f in export_checks.check_result_export(keyed)] == [Finding.IDENTIFIER]
    text = disclosure.Protected(("k", "m"), ("key", "statistic"),
                                ((disclosure.Cell("a"), disclosure.Cell(f"编号：{RIC}")),), (40,), True)
    assert [f.code for f in export_checks.check_result_export(text)] == [Finding.IDENTIFIER]


@pytest.mark.parametrize(("kind", "value"), [
    ("statistic", "13812345678"), ("statistic", RIC), ("statistic", 13812345678), ("statistic", 13812345678.0),
    ("key", 13812345678.0), ("key", "138-1234-5678"), ("value", 13812345678), ("sum", "１３８１２３４５６７８")])
def test_pure_digit_cells_are_scanned(kind: str, value: object) -> None:
    cells = (disclosure.Cell("a"), disclosure.Cell(value))
    result = disclosure.Protected(("k", "m"), ("key", kind), (cells,), (40,), True)
    assert Finding.IDENTIFIER in [f.code for f in export_checks.check_result_export(result)]


def test_fractional_statistics_are_not_identifiers() -> None:
    cells = (disclosure.Cell("a"), disclosure.Cell(19291.13089843283), disclosure.Cell("1.3812345678"))
    result = disclosure.Protected(("k", "m", "s"), ("key", "statistic", "statistic"), (cells,), (40,), True)
    assert export_checks.check_result_export(result) == []


def test_differencing_against_released_results_blocks_approval(db_session, c, setup) -> None:
    _, grant = setup
    first = ran(db_session, c, grant, BY_COUNTY)
    second = ran(db_session, c, grant, BY_COUNTY_OVER_5)
    pending = result_request(db_session, c, second)
    assert not pending.blocked  # nothing released yet
    exports.decide(db_session, actor=c.agency, export_id=result_request(db_session, c, first).id, decision="approve")
    later = result_request(db_session, c, second)
    assert later.blocked and {f["code"] for f in later.findings} == {"differencing"}
    with pytest.raises(Conflict) as e:
        exports.decide(db_session, actor=c.agency, export_id=later.id, decision="approve")
    assert e.value.code == "blocking_findings"
    # The request made before the first release is checked again at approval.
    with pytest.raises(Conflict) as e:
        exports.decide(db_session, actor=c.agency, export_id=pending.id, decision="approve")
    assert e.value.code == "blocking_findings"
    exports.decide(db_session, actor=c.agency, export_id=later.id, decision="refuse", note="与已发布结果存在差分风险")
    assert later.state == "refused"


BY_COUNTY_FILTERED = ("SELECT county_code, count(*) FILTER (WHERE age >= 5) AS n FROM population "
                      "GROUP BY county_code")
# Four persons fewer than the released grouped result adds up to (the synthetic data is deterministic).
TOTAL_OVER_5_BUT_FOUR = ("SELECT count(*) AS n FROM population "
                         "WHERE age >= 5 AND (county_code <> '621223' OR age < 93)")


def _released(db, c, run: QueryRun) -> ExportRequest:  # type: ignore[no-untyped-def]
    req = result_request(db, c, run)
    exports.decide(db, actor=c.agency, export_id=req.id, decision="approve")
    return req


def test_differencing_compares_cells_not_only_group_sizes(db_session, c, setup) -> None:
    _, grant = setup
    _released(db_session, c, ran(db_session, c, grant, BY_COUNTY))
    filtered = ran(db_session, c, grant, BY_COUNTY_FILTERED)
    assert filtered.cell_supports and filtered.cell_supports[0][0] is None  # keys carry none
    assert filtered.supports != [row[1] for row in filtered.cell_supports]  # the group is the whole county
    req = result_request(db_session, c, filtered)
    assert req.blocked and "differencing" in {f["code"] for f in req.findings}
    assert "supports" not in json.loads(exports.result_content(filtered))
    assert "cell_supports" not in json.loads(exports.result_content(filtered))


def test_a_grand_total_is_compared_with_a_grouped_release(db_session, c, setup) -> None:
    _, grant = setup
    _released(db_session, c, ran(db_session, c, grant, BY_COUNTY_OVER_5))
    total = ran(db_session, c, grant, TOTAL_OVER_5_BUT_FOUR)  # no key: a different key count
    assert total.cells[0][0][1] is None  # shown: on its own no disclosure rule applies
    req = result_request(db_session, c, total)
    assert req.blocked and {f["code"] for f in req.findings} == {"differencing"}
    assert any(f["detail"] == "total" for f in req.findings)


def test_differencing_of_cells_without_storage() -> None:
    def result(keys: tuple[str, ...], rows: list[tuple[tuple[object, ...], int, int]]) -> disclosure.Protected:
        cols = (*keys, "n")
        kinds = (*("key",) * len(keys), "count")
        return disclosure.Protected(
            cols, kinds, tuple(tuple(disclosure.Cell(v) for v in (*k, n)) for k, _, n in rows),
            tuple(g for _, g, _ in rows), True, cell_supports=tuple((*(None,) * len(keys), n) for _, _, n in rows))

    base = result(("c",), [(("a",), 100, 100), (("b",), 200, 200)])
    filtered = result(("c",), [(("a",), 100, 97), (("b",), 200, 200)])
    assert [f.where for f in export_checks.differencing_findings(filtered, [base])] == ["key:a", "total"]
    total = result((), [((), 297, 297)])
    assert [f.where for f in export_checks.differencing_findings(total, [base])] == ["total"]
    same = result(("c",), [(("a",), 100, 100), (("b",), 200, 200)])
    assert export_checks.differencing_findings(same, [base]) == []


def test_a_file_is_scanned_for_identifiers_and_kept_out_of_the_attachment_store(db_session, c, setup) -> None:
    text = f"姓名,身份证,手机,单位\n张三,{RIC},13912345678,91620102MA74XXXX0X\n".encode()
    req = file_request(db_session, c, text)
    codes = [(f["code"], f["blocking"]) for f in req.findings]
    assert ("identifier", True) in codes and req.blocked
    assert all(RIC not in json.dumps(f, ensure_ascii=False) for f in req.findings)  # masked
    assert req.content_digest == sm3.hexdigest(text) and req.file_size == len(text)
    assert not files.exists(db_session, req.content_digest)
    with pytest.raises(Conflict) as e:
        exports.decide(db_session, actor=c.agency, export_id=req.id, decision="approve")
    assert e.value.code == "blocking_findings"


def test_archives_are_unscannable_and_pdf_streams_are_read() -> None:
    stream = zlib.compress(f"BT ({RIC}) Tj ET".encode())
    pdf = (f"%PDF-1.4\n1 0 obj\n<< /Length {len(stream)} /Filter /FlateDecode >>\nstream\n".encode() + stream
           + b"\nendstream\nendobj\ntrailer\n<< >>\n%%EOF\n")
    found = file_scan.scan_document(pdf, "application/pdf")
    assert [(f.code, f.blocking) for f in found] == [(Finding.IDENTIFIER, True), (Finding.MANUAL_REVIEW, False)]
    assert found[0].where.startswith("stream:0/")
    assert [f.code for f in file_scan.scan_document(b"PK\x03\x04rest", "application/zip")] == [Finding.UNSCANNABLE]
    # Images cannot be read: blocking, not an advisory the reviewer may wave through.
    assert [(f.code, f.blocking) for f in file_scan.scan_document(b"\x89PNG....", "image/png")] == [
        (Finding.UNSCANNABLE, True)]
    assert file_scan.scan_document(CLEAN_CSV, "text/csv") == []


def _codes(data: bytes, media_type: str) -> set[Finding]:
    return {f.code for f in file_scan.scan_document(data, media_type)}


OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504


def test_ole_files_are_unscannable_and_their_utf16_text_is_read() -> None:
    doc = OLE + f"身份证号 {RIC} 结束".encode("utf-16-le") + b"\x00" * 100
    for media_type in ("application/msword", "application/vnd.ms-excel", "application/wps-office.wps"):
        found = file_scan.scan_document(doc, media_type)
        assert {f.code for f in found} == {Finding.UNSCANNABLE, Finding.IDENTIFIER}
        assert all(f.blocking for f in found)
    assert _codes(OLE + b"\x00" * 100, "application/msword") == {Finding.UNSCANNABLE}


def test_archives_appended_to_pdfs_and_images_are_found() -> None:
    pdf = b"%PDF-1.4\n1 0 obj\n<< >>\nendobj\ntrailer\n<< >>\n%%EOF\n"
    assert Finding.UNSCANNABLE not in _codes(pdf, "application/pdf")
    for tail in (b"PK\x03\x04\x14\x00rest", b"PK\x05\x06" + b"\x00" * 18, b"7z\xbc\xaf\x27\x1crest",
                 b"Rar!\x1a\x07\x00rest", zlib.compress(b"x" * 200, wbits=31)):
        found = file_scan.scan_document(pdf + tail, "application/pdf")
        assert any(f.code is Finding.UNSCANNABLE and f.blocking for f in found), tail
        assert Finding.UNSCANNABLE in _codes(CLEAN_CSV + tail, "text/csv")
    assert Finding.UNSCANNABLE in _codes(b"\x89PNG\r\n\x1a\n...." + b"PK\x03\x04rest", "image/png")


def _pdf(stream: bytes, filters: str, *, eol: bytes = b"\n") -> bytes:
    return (f"%PDF-1.4\n1 0 obj\n<< /Length {len(stream)} /Filter {filters} >>\nstream\n".encode() + stream
            + eol + b"endstream\nendobj\ntrailer\n<< >>\n%%EOF\n")


def test_pdf_streams_in_every_text_filter_are_read_and_others_are_unscannable() -> None:
    import base64

    text = f"BT ({RIC}) Tj ET".encode()
    for pdf in (_pdf(text.hex().encode() + b">", "/ASCIIHexDecode"),
                _pdf(b"<~" + base64.a85encode(text) + b"~>", "/ASCII85Decode"),
                _pdf(base64.a85encode(zlib.compress(text)) + b"~>", "[/ASCII85Decode /FlateDecode]"),
                _pdf(zlib.compress(text), "/FlateDecode", eol=b"")):
        found = file_scan.scan_document(pdf, "application/pdf")
        assert Finding.IDENTIFIER in {f.code for f in found}, pdf
        assert Finding.UNSCANNABLE not in {f.code for f in found}
    assert Finding.UNSCANNABLE in _codes(_pdf(b"\xff\xd8\xff\xe0jpeg", "/DCTDecode"), "application/pdf")
    assert Finding.UNSCANNABLE in _codes(_pdf(b"not flate at all", "/FlateDecode"), "application/pdf")


@pytest.mark.parametrize("written", [
    "138-1234-5678", "138 1234 5678", "１３８１２３４５６７８", "Tel13812345678", "ID11010519491231002X",
    "110105 19491231 002X", "１１０１０５１９４９１２３１００２Ｘ", "身份证：110105-1949-1231-002X"])
def test_identifiers_written_in_disguise_are_found(written: str) -> None:
    for encoding in ("utf-8", "gb18030", "utf-16"):
        assert _codes(f"备注,{written}\n".encode(encoding), "text/csv") == {Finding.IDENTIFIER}, (written, encoding)


def test_office_packages_are_read_member_by_member() -> None:
    import io
    import zipfile

    def package(members: dict[str, bytes]) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in members.items():
                z.writestr(name, data)
        return buf.getvalue()

    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    clean = package({"[Content_Types].xml": b"<Types/>", "xl/sharedStrings.xml": "<t>城关区</t>".encode()})
    assert _codes(clean, xlsx) == set()
    split = package({"word/document.xml": f"<w:t>{RIC[:6]}</w:t><w:t>{RIC[6:]}</w:t>".encode()})
    assert _codes(split, "application/vnd.openxmlformats-officedocument.wordprocessingml.document") == {
        Finding.IDENTIFIER}
    nested = package({"xl/embeddings/x.bin": package({"a.csv": RIC.encode()})})
    assert Finding.UNSCANNABLE in _codes(nested, xlsx)
    assert Finding.UNSCANNABLE in _codes(package({"xl/media/a.png": b"\x89PNG\r\n\x1a\n\x00\x00"}), xlsx)
    assert Finding.UNSCANNABLE in _codes(clean + b"PK\x03\x04appended", xlsx)


# --- decisions ----------------------------------------------------------------------------------------------


def test_approval_signs_a_manifest_and_releases_the_exact_content(db_session, c, setup) -> None:
    _, grant = setup
    run = ran(db_session, c, grant, BY_COUNTY)
    req = result_request(db_session, c, run)
    exports.decide(db_session, actor=c.agency, export_id=req.id, decision="approve", note="同意导出")
    assert req.state == "approved" and req.released_at and req.key_name == exports.KEY_NAME
    assert exports.get_released(db_session, req.id) is req
    m = req.manifest
    assert m["content"]["digest"] == req.content_digest and m["agreement_id"] == req.agreement_id
    assert m["operator"]["org_id"] == c.operator.org_id and m["product"] == PRODUCT
    signed = exports.signed_manifest(req)
    check = exports.verify_manifest(db_session, manifest=signed["manifest"], signature=signed["signature"],
                                    key_id=signed["key_id"])
    assert check.valid and check.export_id == req.id and check.manifest_sm3 == req.manifest_digest

    out = exports.released_content(db_session, actor=c.operator, export_id=req.id)
    assert sm3.hexdigest(out.content) == req.content_digest and out.media_type == "application/json"
    body = json.loads(out.content)
    assert body["columns"] == ["county_code", "n"] and body["rows"] == [[v for v, _ in row] for row in run.cells]
    assert "supports" not in body
    [approve] = [e for e in events(db_session, "opdomain:export:approve") if e.object_id == str(req.id)]
    assert approve.data["manifest_sm3"] == req.manifest_digest and approve.changes == {"state": ["submitted",
                                                                                                 "approved"]}
    assert events(db_session, "opdomain:export:download")[-1].object_id == str(req.id)


def test_a_clean_file_is_released_byte_for_byte(db_session, c, setup) -> None:
    req = file_request(db_session, c, CLEAN_CSV)
    assert not req.blocked
    exports.decide(db_session, actor=c.agency, export_id=req.id, decision="approve")
    out = exports.released_content(db_session, actor=c.operator, export_id=req.id)
    assert out.content == CLEAN_CSV and out.file_name == "report.csv"
    assert req.manifest["content"]["size"] == len(CLEAN_CSV)
    assert exports.verify_manifest(db_session, manifest=req.manifest, signature=req.signature, key_id=req.key_id,
                                   content_sm3=sm3.hexdigest(CLEAN_CSV)).valid


def test_tampered_manifests_and_content_fail_verification(db_session, c, setup) -> None:
    req = file_request(db_session, c, CLEAN_CSV)
    exports.decide(db_session, actor=c.agency, export_id=req.id, decision="approve")
    forged = json.loads(json.dumps(req.manifest))
    forged["product"] = "另一个产品"
    assert not exports.verify_manifest(db_session, manifest=forged, signature=req.signature, key_id=req.key_id).valid
    check = exports.verify_manifest(db_session, manifest=req.manifest, signature=req.signature, key_id=req.key_id,
                                    content_sm3=sm3.hexdigest(CLEAN_CSV + b"x"))
    assert not check.valid and "摘要" in (check.reason or "")
    assert not exports.verify_manifest(db_session, manifest=req.manifest, signature="zz", key_id=req.key_id).valid
    assert not exports.verify_manifest(db_session, manifest={"format": "x"}, signature="", key_id="").valid


def test_refusal_needs_a_reason(db_session, c, setup) -> None:
    req = file_request(db_session, c, CLEAN_CSV)
    with pytest.raises(ValidationFailed) as e:
        exports.decide(db_session, actor=c.agency, export_id=req.id, decision="refuse", note="  ")
    assert e.value.errors[0].field == "note"
    with pytest.raises(ValidationFailed) as e:
        exports.decide(db_session, actor=c.agency, export_id=req.id, decision="maybe")
    assert e.value.errors[0].code == "bad_decision"
    exports.decide(db_session, actor=c.agency, export_id=req.id, decision="refuse", note="用途与产品不符")
    assert (req.state, req.decision_note, req.manifest) == ("refused", "用途与产品不符", None)
    assert events(db_session, "opdomain:export:refuse")[-1].changes == {"state": ["submitted", "refused"]}


def test_only_the_agreements_agency_decides(db_session, c, setup) -> None:
    req = file_request(db_session, c, CLEAN_CSV)
    other_agency = actor_of(make_user(db_session, Role.IMPLEMENTING_AGENCY))
    for actor in (c.operator, c.industry, c.authority):
        with pytest.raises(DomainError) as refused:
            exports.decide(db_session, actor=actor, export_id=req.id, decision="approve")
        assert refused.value.status in (403, 404)
    # Another agency learns no more than from a missing id.
    with pytest.raises(NotFound) as e:
        exports.decide(db_session, actor=other_agency, export_id=req.id, decision="approve")
    with pytest.raises(NotFound) as missing:
        exports.decide(db_session, actor=other_agency, export_id=req.id + 10_000, decision="approve")
    assert (e.value.status, e.value.code) == (missing.value.status, missing.value.code) == (404, "export_not_found")
    assert req.state == "submitted"


# --- authority in force (OPS-21, OPS-26) ----------------------------------------------------------------------


def test_a_terminated_agreement_stops_approval_and_download(db_session, c, setup) -> None:
    w, grant = setup
    released = file_request(db_session, c, CLEAN_CSV)
    exports.decide(db_session, actor=c.agency, export_id=released.id, decision="approve")
    pending = result_request(db_session, c, ran(db_session, c, grant, BY_COUNTY))
    measures.terminate(db_session, actor=c.agency, agreement_id=w.agreement.id, ground="security_incident",
                       reason="数据泄露")
    with pytest.raises(PermissionDenied) as e:
        exports.decide(db_session, actor=c.agency, export_id=pending.id, decision="approve")
    assert e.value.code == "no_active_agreement" and pending.state == "submitted"
    assert events(db_session, "opdomain:export:approve_refused")[-1].data["code"] == "no_active_agreement"
    with pytest.raises(PermissionDenied):
        exports.released_content(db_session, actor=c.operator, export_id=released.id)
    assert events(db_session, "opdomain:export:download") == []


def test_a_result_is_exported_under_its_own_agreement_only(db_session, c, setup, tmp: Path) -> None:
    import dataclasses

    from pubdata.operation import agreements, plans
    from tests.operation.support import decided_selection, draft, plan_content, resource, review_all

    w, grant = setup
    run = ran(db_session, c, grant, BY_COUNTY)
    pending = result_request(db_session, c, run)
    assert pending.agreement_id == run.agreement_id == w.agreement.id
    # A second, newer agreement with another agency: the old result must not go to that agency for review.
    c2 = dataclasses.replace(c, agency=actor_of(make_user(db_session, Role.IMPLEMENTING_AGENCY)))
    ids = [resource(db_session, c2, tmp, "全省水路运输监测数据")]
    plan = plans.create_plan(db_session, actor=c2.agency, content=plan_content(ids))
    plans.submit_plan(db_session, actor=c2.agency, plan_id=plan.id)
    review_all(db_session, c2, plan.id)
    plans.file_plan(db_session, actor=c2.authority, plan_id=plan.id, filed_with="国家数据局", filing_ref="备 2026-002")
    second = draft(db_session, c2, decided_selection(db_session, c2, plan.id, c.operator.org_id).id, ids)
    agreements.sign_agency(db_session, actor=c2.agency, agreement_id=second.id, decision_ref="中心党委会〔2026〕4号")
    agreements.sign_operator(db_session, actor=c.operator, agreement_id=second.id)
    assert second.agency_org_id != w.agreement.agency_org_id
    with pytest.raises(PermissionDenied) as e:
        result_request(db_session, c, run)
    assert e.value.code == "agreement_not_in_force"
    with pytest.raises(PermissionDenied) as e:
        exports.decide(db_session, actor=c.agency, export_id=pending.id, decision="approve")
    assert e.value.code == "agreement_not_in_force" and pending.state == "submitted"


def test_a_revoked_grant_or_withdrawn_dataset_stops_a_result_request(db_session, c, setup) -> None:
    from pubdata.opdomain import grants

    _, grant = setup
    run = ran(db_session, c, grant, BY_COUNTY)
    grants.revoke(db_session, actor=c.industry, grant_id=grant.id, reason="超范围使用")
    with pytest.raises(PermissionDenied) as e:
        result_request(db_session, c, run)
    assert e.value.code == "grant_inactive"


def test_a_withdrawn_dataset_stops_a_result_request(db_session, c, setup) -> None:
    from pubdata.opdomain import datasets

    w, grant = setup
    run = ran(db_session, c, grant, BY_COUNTY)
    datasets.withdraw_dataset(db_session, actor=c.industry, dataset_id=w.dataset.id, reason="数据源停止更新")
    with pytest.raises(DomainError) as e:
        result_request(db_session, c, run)
    assert e.value.code in ("grant_inactive", "dataset_withdrawn") and e.value.status in (403, 409)
    assert db_session.query(ExportRequest).count() == 0


def test_approval_while_the_operator_is_suspended_is_refused_and_audited(db_session, c, setup) -> None:
    w, _ = setup
    req = file_request(db_session, c, CLEAN_CSV)
    measures.suspend(db_session, actor=c.agency, agreement_id=w.agreement.id, facts="未按要求整改数据安全问题")
    with pytest.raises(PermissionDenied) as e:
        exports.decide(db_session, actor=c.agency, export_id=req.id, decision="approve")
    assert e.value.code == "operator_suspended" and req.state == "submitted" and req.manifest is None
    [refused] = events(db_session, "opdomain:export:approve_refused")
    assert refused.object_id == str(req.id) and refused.data["code"] == "operator_suspended"
    for attempt in (lambda: exports.query_runs(db_session, actor=c.operator),
                    lambda: exports.get_query_run(db_session, actor=c.operator, query_run_id=1)):
        with pytest.raises(DomainError) as e2:
            attempt()
        assert e2.value.code in ("operator_suspended", "query_run_not_found")


def test_a_suspended_operator_cannot_read_its_stored_results(db_session, c, setup) -> None:
    w, grant = setup
    run = ran(db_session, c, grant, BY_COUNTY)
    assert exports.get_query_run(db_session, actor=c.operator, query_run_id=run.id) is run
    measures.suspend(db_session, actor=c.agency, agreement_id=w.agreement.id, facts="未按要求整改数据安全问题")
    for attempt in (lambda: exports.query_runs(db_session, actor=c.operator),
                    lambda: exports.get_query_run(db_session, actor=c.operator, query_run_id=run.id)):
        with pytest.raises(PermissionDenied) as e:
            attempt()
        assert e.value.code == "operator_suspended"


def test_a_refused_approval_refreshes_blocked_and_is_audited(db_session, c, setup) -> None:
    _, grant = setup
    pending = result_request(db_session, c, ran(db_session, c, grant, BY_COUNTY_OVER_5))
    assert not pending.blocked
    _released(db_session, c, ran(db_session, c, grant, BY_COUNTY))
    with pytest.raises(Conflict):
        exports.decide(db_session, actor=c.agency, export_id=pending.id, decision="approve")
    assert pending.blocked and "differencing" in {f["code"] for f in pending.findings}
    [refused] = events(db_session, "opdomain:export:approve_refused")
    assert refused.data["code"] == "blocking_findings" and refused.data["blocked"] is True


# --- free text, keys and storage ------------------------------------------------------------------------------


def test_identifiers_in_free_text_are_refused_at_the_field(db_session, c, setup) -> None:
    _, grant = setup
    run = ran(db_session, c, grant, BY_COUNTY)
    with pytest.raises(ValidationFailed) as e:
        result_request(db_session, c, run, purpose=f"核对 {RIC} 的收入", product="联系 138-1234-5678")
    assert {(err.field, err.code) for err in e.value.errors} == {("purpose", "identifier_in_text"),
                                                                 ("product", "identifier_in_text")}
    assert all("身份证" in err.message for err in e.value.errors)
    with pytest.raises(ValidationFailed) as e:
        file_request(db_session, c, CLEAN_CSV, name=f"{RIC}.csv")
    assert [(err.field, err.code) for err in e.value.errors] == [("file", "identifier_in_text")]
    assert db_session.query(ExportRequest).count() == 0


def test_the_agency_may_download_pending_content_for_review(db_session, c, setup) -> None:
    req = file_request(db_session, c, f"身份证\n{RIC}\n".encode())
    out = exports.review_content(db_session, actor=c.agency, export_id=req.id)
    assert out.content == f"身份证\n{RIC}\n".encode() and out.file_name == "report.csv"
    [event] = events(db_session, "opdomain:export:review_download")
    assert event.object_id == str(req.id) and event.actor_user_id == c.agency.user_id
    other_agency = actor_of(make_user(db_session, Role.IMPLEMENTING_AGENCY))
    with pytest.raises(NotFound):
        exports.review_content(db_session, actor=other_agency, export_id=req.id)
    for actor in (c.operator, c.industry, c.authority):
        with pytest.raises(DomainError) as e:
            exports.review_content(db_session, actor=actor, export_id=req.id)
        assert e.value.status in (403, 404)
    exports.decide(db_session, actor=c.agency, export_id=req.id, decision="refuse", note="含身份证号码")
    with pytest.raises(Conflict) as e:
        exports.review_content(db_session, actor=c.agency, export_id=req.id)
    assert e.value.code == "export_not_pending"
    assert len(events(db_session, "opdomain:export:review_download")) == 1


def test_a_retired_key_does_not_vouch_for_later_manifests(db_session, c, setup, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import uuid

    from pubdata.crypto.keys import KeyRing
    from pubdata.ledger.canonical import canonical_bytes
    from pubdata.ledger.checkpoints import settings_for

    monkeypatch.setattr(exports, "KEY_NAME", f"export-test-{uuid.uuid4().hex[:8]}")  # a key ring of its own

    req = file_request(db_session, c, CLEAN_CSV)
    exports.decide(db_session, actor=c.agency, export_id=req.id, decision="approve")
    ring = KeyRing.open(settings_for(db_session), exports.KEY_NAME)
    forged = {**req.manifest, "export_id": 999_999, "released_at": "2099-01-01T00:00:00Z"}
    key_id, sig = ring.sign(canonical_bytes(forged))
    check = exports.verify_manifest(db_session, manifest=forged, signature=sig.hex(), key_id=key_id)
    assert check.valid and not check.registered and check.export_id is None  # signed, but no platform record
    ring.rotate()
    check = exports.verify_manifest(db_session, manifest=forged, signature=sig.hex(), key_id=key_id)
    assert not check.valid and "停用" in (check.reason or "")
    old = exports.verify_manifest(db_session, manifest=req.manifest, signature=req.signature, key_id=req.key_id)
    assert old.valid and old.registered and old.export_id == req.id


def test_a_missing_key_or_stored_file_is_a_conflict_not_an_error(db_session, c, setup, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import os
    import uuid

    from pubdata.crypto.keys import KeyRing
    from pubdata.ledger.checkpoints import settings_for

    monkeypatch.setattr(exports, "KEY_NAME", f"export-test-{uuid.uuid4().hex[:8]}")  # a key ring of its own

    req = file_request(db_session, c, CLEAN_CSV)
    exports.decide(db_session, actor=c.agency, export_id=req.id, decision="approve")
    exports.exports_store().path_for(req.content_digest).unlink()
    with pytest.raises(Conflict) as e:
        exports.released_content(db_session, actor=c.operator, export_id=req.id)
    assert e.value.code == "content_missing" and "缺失" in e.value.detail
    ring = KeyRing.open(settings_for(db_session), exports.KEY_NAME)
    (ring.path / f"{req.key_id}.pem").unlink()
    other = file_request(db_session, c, CLEAN_CSV + b"z")
    with pytest.raises(Conflict) as e:
        exports.decide(db_session, actor=c.agency, export_id=other.id, decision="approve")
    assert e.value.code == "signing_key_unavailable" and other.state == "submitted"
    assert os.path.exists(ring.path)


@pytest.mark.parametrize(("done", "action"), [
    ("approve", "approve"), ("approve", "refuse"), ("approve", "withdraw"),
    ("refuse", "approve"), ("refuse", "refuse"), ("refuse", "withdraw"),
    ("withdraw", "approve"), ("withdraw", "refuse"), ("withdraw", "withdraw"),
])
def test_every_illegal_transition_is_refused(db_session, c, setup, done: str, action: str) -> None:
    req = file_request(db_session, c, CLEAN_CSV)

    def act(name: str) -> None:
        if name == "withdraw":
            exports.withdraw(db_session, actor=c.operator, export_id=req.id)
        else:
            exports.decide(db_session, actor=c.agency, export_id=req.id, decision=name, note="理由")

    act(done)
    state = req.state
    with pytest.raises(IllegalTransition) as e:
        act(action)
    assert e.value.code == "illegal_transition" and e.value.status == 409 and req.state == state
    assert set(exports.EXPORT.allowed_actions("submitted")) == {"approve", "refuse", "withdraw"}
    assert exports.EXPORT.allowed_actions(state) == []


def test_withdrawal_is_the_operators_and_versions_are_checked(db_session, c, setup) -> None:
    req = file_request(db_session, c, CLEAN_CSV)
    with pytest.raises(NotFound):
        exports.withdraw(db_session, actor=actor_of(make_user(db_session, Role.OPERATOR)), export_id=req.id)
    with pytest.raises(Conflict) as e:
        exports.withdraw(db_session, actor=c.operator, export_id=req.id, version=req.version + 1)
    assert e.value.code == "stale_version"
    with pytest.raises(Conflict) as e:
        exports.decide(db_session, actor=c.agency, export_id=req.id, decision="approve", version=req.version - 1)
    assert e.value.code == "stale_version"
    exports.withdraw(db_session, actor=c.operator, export_id=req.id, version=req.version)
    assert req.state == "withdrawn" and db_session.get(ExportRequest, req.id) is not None
    assert events(db_session, "opdomain:export:withdraw")[-1].changes == {"state": ["submitted", "withdrawn"]}


# --- downloads ----------------------------------------------------------------------------------------------


def test_pending_refused_and_withdrawn_content_is_served_to_nobody(db_session, c, setup) -> None:
    pending = file_request(db_session, c, CLEAN_CSV)
    refused = file_request(db_session, c, CLEAN_CSV + b"x")
    exports.decide(db_session, actor=c.agency, export_id=refused.id, decision="refuse", note="不符合要求")
    withdrawn = file_request(db_session, c, CLEAN_CSV + b"y")
    exports.withdraw(db_session, actor=c.operator, export_id=withdrawn.id)
    stranger = actor_of(make_user(db_session, Role.OPERATOR))
    for req in (pending, refused, withdrawn):
        with pytest.raises(Conflict) as e:
            exports.released_content(db_session, actor=c.operator, export_id=req.id)
        assert e.value.code == "export_not_released"
        with pytest.raises(Conflict):
            exports.get_released(db_session, req.id)
        for actor in (c.agency, c.industry, c.authority, stranger):
            with pytest.raises(DomainError) as e:
                exports.released_content(db_session, actor=actor, export_id=req.id)
            assert e.value.status in (403, 404)
    assert events(db_session, "opdomain:export:download") == []


def test_a_suspended_operator_can_neither_request_nor_download(db_session, c, setup) -> None:
    w, grant = setup
    run = ran(db_session, c, grant, BY_COUNTY)
    req = file_request(db_session, c, CLEAN_CSV)
    exports.decide(db_session, actor=c.agency, export_id=req.id, decision="approve")
    measures.suspend(db_session, actor=c.agency, agreement_id=w.agreement.id, facts="未按要求整改数据安全问题")
    for attempt in (lambda: result_request(db_session, c, run), lambda: file_request(db_session, c, CLEAN_CSV),
                    lambda: exports.released_content(db_session, actor=c.operator, export_id=req.id)):
        with pytest.raises(PermissionDenied) as e:
            attempt()
        assert e.value.code == "operator_suspended"


# --- JSON API -----------------------------------------------------------------------------------------------


def test_api_request_review_release_and_verify(client, db_session, c, setup) -> None:  # type: ignore[no-untyped-def]
    from tests.web.test_api import PROBLEM, token_for

    _, grant = setup
    db_session.commit()
    operator, agency = token_for(client, c.operator.label), token_for(client, c.agency.label)
    industry = token_for(client, c.industry.label)
    r = client.post(f"/api/v1/opdomain/grants/{grant.id}/queries", json={"sql": BY_COUNTY}, headers=operator)
    run_id = r.json()["query_run_id"]
    runs = client.get("/api/v1/opdomain/query-runs", headers=operator).json()
    assert [x["id"] for x in runs] == [run_id] and "supports" not in runs[0]

    body = {"query_run_id": run_id, "purpose": "发布县区人口指数", "product": PRODUCT}
    r = client.post("/api/v1/opdomain/exports", json={**body, "purpose": ""}, headers=operator)
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    assert r.json()["errors"][0]["field"] == "purpose" and r.json()["errors"][0]["code"] == "required"
    assert client.post("/api/v1/opdomain/exports", json=body, headers=agency).status_code == 403
    r = client.post("/api/v1/opdomain/exports", json=body, headers=operator)
    assert r.status_code == 201, r.text
    export = r.json()
    assert export["state_label"] == "待审核" and export["content_url"] is None and "signature" not in export

    # Pending: the content is served to nobody.
    for headers in (operator, agency, industry):
        r = client.get(f"/api/v1/opdomain/exports/{export['id']}/content", headers=headers)
        assert r.status_code in (403, 404, 409) and r.headers["content-type"] == PROBLEM
    assert client.get(f"/api/v1/opdomain/exports/{export['id']}/content", headers=operator).json()["code"] == \
        "export_not_released"
    assert client.get(f"/api/v1/opdomain/exports/{export['id']}/manifest", headers=operator).status_code == 409
    assert client.get(f"/api/v1/opdomain/exports/{export['id']}/content").status_code == 401

    assert [x["id"] for x in client.get("/api/v1/opdomain/exports?state=submitted", headers=agency).json()] == [
        export["id"]]
    url = f"/api/v1/opdomain/exports/{export['id']}/decision"
    r = client.post(url, json={"decision": "refuse"}, headers=agency)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "note"
    r = client.post(url, json={"decision": "approve", "version": export["version"] + 5}, headers=agency)
    assert r.status_code == 409 and r.json()["code"] == "stale_version"
    assert client.post(url, json={"decision": "approve"}, headers=operator).status_code == 403
    r = client.post(url, json={"decision": "approve", "version": export["version"]}, headers=agency)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "approved" and r.json()["content_url"]
    r = client.post(url, json={"decision": "refuse", "note": "再次"}, headers=agency)
    assert r.status_code == 409 and r.json()["code"] == "illegal_transition"

    r = client.get(f"/api/v1/opdomain/exports/{export['id']}/content", headers=operator)
    assert r.status_code == 200 and r.headers["x-content-sm3"] == sm3.hexdigest(r.content)
    content_sm3 = r.headers["x-content-sm3"]
    assert client.get(f"/api/v1/opdomain/exports/{export['id']}/content", headers=agency).status_code == 403
    signed = client.get(f"/api/v1/opdomain/exports/{export['id']}/manifest", headers=operator).json()
    assert signed["manifest_sm3"] == r.headers["x-manifest-sm3"]

    verify = {"manifest": signed["manifest"], "signature": signed["signature"], "key_id": signed["key_id"],
              "content_sm3": content_sm3}
    r = client.post("/api/v1/opdomain/exports/manifests/verify", json=verify)  # public
    assert r.status_code == 200 and r.json()["valid"] is True and r.json()["export_id"] == export["id"]
    assert r.json()["registered"] is True
    r = client.post("/api/v1/opdomain/exports/manifests/verify",
                    json={**verify, "manifest": {**signed["manifest"], "purpose": "改过的用途"}})
    assert r.json()["valid"] is False and r.json()["reason"]
    keys = client.get("/api/v1/opdomain/exports/manifests/keys").json()["keys"]
    assert [k["key_id"] for k in keys] == [signed["key_id"]]


def test_api_upload_over_the_limit_is_refused_at_the_field(client, db_session, c, setup, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from starlette.datastructures import UploadFile

    from pubdata.files.store import BlobStore
    from tests.web.test_api import token_for

    async def whole_file_in_memory(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("the upload must be streamed in chunks, not read whole")

    small = BlobStore(root=exports.exports_store().root, max_bytes=1000)
    monkeypatch.setattr(exports, "exports_store", lambda: small)
    monkeypatch.setattr(UploadFile, "read", whole_file_in_memory)
    db_session.commit()
    operator = token_for(client, c.operator.label)
    r = client.post("/api/v1/opdomain/exports/files", data={"purpose": "模型评估报告", "product": PRODUCT},
                    headers=operator, files={"file": ("big.csv", b"a,b\n" + b"1,2\n" * 2000, "text/csv")})
    assert r.status_code in (413, 422), r.text
    assert r.json()["errors"][0]["field"] == "file" and r.json()["errors"][0]["code"] == "file_too_large"
    assert client.get("/api/v1/opdomain/exports", headers=operator).json() == []
    r = client.post("/api/v1/opdomain/exports/files", data={"purpose": "模型评估报告", "product": PRODUCT},
                    headers=operator, files={"file": ("small.csv", CLEAN_CSV, "text/csv")})
    assert r.status_code == 201 and r.json()["file_size"] == len(CLEAN_CSV)


def test_api_agency_reviews_pending_files_the_operator_cannot_download(client, db_session, c, setup) -> None:  # type: ignore[no-untyped-def]
    from tests.web.test_api import token_for

    db_session.commit()
    operator, agency = token_for(client, c.operator.label), token_for(client, c.agency.label)
    doc = OLE + "报告".encode("utf-16-le")
    r = client.post("/api/v1/opdomain/exports/files", data={"purpose": "模型评估报告", "product": PRODUCT},
                    headers=operator, files={"file": ("model.doc", doc, "application/msword")})
    assert r.status_code == 201, r.text
    export = r.json()
    assert export["blocked"] is True and export["findings"][0]["code"] == "unscannable"
    url = f"/api/v1/opdomain/exports/{export['id']}"
    assert client.get(f"{url}/review-content", headers=operator).status_code == 403
    assert client.get(f"{url}/content", headers=operator).status_code == 409
    r = client.get(f"{url}/review-content", headers=agency)
    assert r.status_code == 200 and r.content == doc
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["content-disposition"].startswith(
        "attachment")
    r = client.post(f"{url}/decision", json={"decision": "approve"}, headers=agency)
    assert r.status_code == 409 and r.json()["code"] == "blocking_findings"
    db_session.expire_all()
    assert [e.object_id for e in events(db_session, "opdomain:export:approve_refused")] == [str(export["id"])]
    assert [e.object_id for e in events(db_session, "opdomain:export:review_download")] == [str(export["id"])]


def test_api_file_upload_and_withdrawal(client, db_session, c, setup) -> None:  # type: ignore[no-untyped-def]
    from tests.web.test_api import token_for

    db_session.commit()
    operator = token_for(client, c.operator.label)
    form = {"purpose": "模型评估报告", "product": PRODUCT}
    r = client.post("/api/v1/opdomain/exports/files", data=form, headers=operator,
                    files={"file": ("名单.csv", f"身份证\n{RIC}\n".encode(), "text/csv")})
    assert r.status_code == 201, r.text
    assert r.json()["blocked"] is True and r.json()["findings"][0]["code"] == "identifier"
    r = client.post("/api/v1/opdomain/exports/files", data=form, headers=operator)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "file"
    r = client.post("/api/v1/opdomain/exports/files", data={**form, "product": ""}, headers=operator,
                    files={"file": ("a.csv", CLEAN_CSV, "text/csv")})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "product"
    r = client.post("/api/v1/opdomain/exports/files", data=form, headers=operator,
                    files={"file": ("a.csv", CLEAN_CSV, "text/csv")})
    export = r.json()
    assert r.status_code == 201 and export["blocked"] is False and export["file_name"] == "a.csv"
    r = client.post(f"/api/v1/opdomain/exports/{export['id']}/withdraw", json={"version": export["version"]},
                    headers=operator)
    assert r.status_code == 200 and r.json()["state"] == "withdrawn"
    r = client.post(f"/api/v1/opdomain/exports/{export['id']}/withdraw", json={}, headers=operator)
    assert r.status_code == 409 and r.json()["code"] == "illegal_transition"
    assert client.get(f"/api/v1/opdomain/exports/{export['id']}/content", headers=operator).status_code == 409
