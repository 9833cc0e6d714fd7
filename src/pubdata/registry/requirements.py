"""The materials each application type must carry (REG-25) and the checks that its attachments exist.

The application form itself (登记申请表) is the structured content; the documents below are uploaded files
referenced by their SM3 digest.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from pubdata.errors import FieldError
from pubdata.registry import vocab
from pubdata.registry.form import DIGEST_RE, attachment_digests
from pubdata.registry.models import Application, Certificate
from pubdata.registry.workflow import Kind

DOCUMENT_LABELS = {
    "identity_proof": "登记主体身份证明材料",
    "power_of_attorney": "授权委托书",
    "change_evidence": "变更内容的相关证明材料",
    "previous_identity_proof": "原登记主体身份证明材料",
    "error_proof": "证明记载事项错误的材料",
    "consent": "登记主体或利害关系人同意更正的书面材料",
    "ground_evidence": "注销情形的证明材料",
    "other": "其他必要材料",
}

#: REG-25: documents every application of the kind needs (besides the power of attorney for agents).
REQUIRED: dict[Kind, tuple[str, ...]] = {
    Kind.FIRST: ("identity_proof",),
    Kind.CHANGE: ("identity_proof", "change_evidence"),
    Kind.CORRECTION: ("identity_proof",),
    Kind.CANCELLATION: ("identity_proof", "ground_evidence"),
    Kind.RENEWAL: ("identity_proof",),
}


def _file_exists(session: Session, app: Application) -> Callable[[str], bool]:
    """An application may cite only files its filer or its subject uploaded (not another organisation's)."""
    from pubdata.files.service import exists

    owners = {app.filed_by_org_id, app.registration.subject_org_id}
    return lambda digest: any(exists(session, digest, organisation_id=org) for org in owners)


def document_errors(session: Session, app: Application, *, acting_as_agent: bool) -> list[FieldError]:
    kind = Kind(app.kind)
    docs = app.documents or {}
    errors: list[FieldError] = []
    needed = list(REQUIRED[kind])
    if acting_as_agent or (app.content.get("agency") or {}).get("is_agent") is True:
        needed.append("power_of_attorney")  # REG-25: 委托他人或代理机构申请的，应当出具授权委托书
    for key in needed:
        if not docs.get(key):
            errors.append(FieldError(f"documents.{key}", "required", f"请上传“{DOCUMENT_LABELS[key]}”（第二十五条）。"))
    if kind is Kind.CORRECTION:
        if not docs.get("error_proof") and not docs.get("consent"):
            errors.append(FieldError("documents.error_proof", "required",
                                     "更正登记须有登记主体书面同意或证明记载事项确有错误的材料（第二十五条第三项）。"))
        if not str(app.details.get("correction_items") or "").strip():
            errors.append(FieldError("details.correction_items", "required", "请写明须更正的登记事项及正确内容。"))
    if kind is Kind.CHANGE and not str(app.details.get("change_reason") or "").strip():
        errors.append(FieldError("details.change_reason", "required", "请写明变更事项及原因。"))
    if kind is Kind.CANCELLATION:
        ground = app.details.get("ground")
        if ground not in vocab.items("cancellation_ground"):
            errors.append(FieldError("details.ground", "required", "请选择注销情形（第二十五条第四项）。"))
        number = str(app.details.get("certificate_number") or "").strip()
        valid = session.query(Certificate).filter_by(registration_id=app.registration_id, number=number).first()
        if valid is None:
            errors.append(FieldError("details.certificate_number", "certificate_mismatch",
                                     "请填写该登记的原登记凭证编号。"))
    for key, digest in docs.items():
        if key not in DOCUMENT_LABELS:
            errors.append(FieldError(f"documents.{key}", "unknown_document", "未知的材料类型。"))
        elif not isinstance(digest, str) or not DIGEST_RE.match(digest):
            errors.append(FieldError(f"documents.{key}", "bad_attachment", "应为已上传文件的 64 位 SM3 摘要。"))
    exists = _file_exists(session, app)
    referenced = [(f"documents.{k}", v) for k, v in docs.items() if isinstance(v, str) and DIGEST_RE.match(v)]
    referenced += [(path, d) for path, d in attachment_digests(app.content) if DIGEST_RE.match(d)]
    errors += [FieldError(path, "attachment_missing", "附件不存在，请重新上传。")
               for path, digest in referenced if not exists(digest)]
    return errors
