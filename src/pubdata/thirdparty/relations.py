"""Declared relations between organisations, the ground of the 回避 check (REG-22(五), REG-44).

Two ways to be related:
* a *relation* between two organisations: parent (隶属，上级), subsidiary (下属), shared legal representative,
  or another stated relation (控股、参股、人员交叉 …, described in the note);
* membership of an *organisation group*: a named group defined by a prefix of the unified social credit code
  (统一社会信用代码). Every organisation whose code begins with the prefix belongs to the group, including those
  that join the platform later. The first 8 characters of a code (registration authority, kind, region) are
  shared by thousands of unrelated organisations, so a prefix must run at least 4 characters into the 9-character
  organisation code (12 of 18 characters): it names a block of organisation codes assigned together, such as
  the units of one department or the members of one 集团 whose codes were reserved as a block.

An organisation declares relations it is party to and groups its own code belongs to; the data authority
declares any. Declarations are withdrawn (by the declarer or the authority), never deleted; each is audited.
"""

from __future__ import annotations

import re

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from pubdata.audit import Actor, record
from pubdata.db.base import utcnow
from pubdata.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from pubdata.identity.access import require
from pubdata.identity.models import Organisation
from pubdata.identity.permissions import Permission
from pubdata.thirdparty.models import OrganisationGroup, OrganisationRelation

RELATION_KINDS = {
    "parent": "母公司（上级单位）",
    "subsidiary": "子公司（下属单位）",
    "shared_legal_representative": "法定代表人相同",
    "other": "其他关联关系",
}
#: parent/subsidiary are one relation seen from either side; duplicates are checked on the normalised form.
_INVERSE = {"parent": "subsidiary", "subsidiary": "parent"}
MIN_PREFIX, MAX_PREFIX = 12, 17
#: GB 32100 characters: digits and capitals without I, O, S, V, Z.
PREFIX_RE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]+$")


def _authority(actor: Actor) -> bool:
    return actor.kind == "system" or actor.can(Permission.SUPERVISE.value)


def _note(note: str, errors: list[FieldError], required: bool) -> str:
    text = (note or "").strip()
    if required and not text:
        errors.append(FieldError("note", "required", "请说明关联关系的具体情况。"))
    elif len(text) > 2000:
        errors.append(FieldError("note", "too_long", "说明不超过 2000 字。"))
    return text


def declare_relation(session: Session, *, actor: Actor, org_id: int, related_org_id: int, kind: str,
                     note: str = "") -> OrganisationRelation:
    """``kind`` is what ``org_id`` is to ``related_org_id`` (parent: org_id is the parent)."""
    require(actor, Permission.RELATION_DECLARE)
    if not _authority(actor) and actor.org_id not in {org_id, related_org_id}:
        raise PermissionDenied("只能申报本单位与其他单位的关联关系。", code="other_organisation")
    errors: list[FieldError] = []
    if kind not in RELATION_KINDS:
        errors.append(FieldError("kind", "unknown_kind", "关联关系应为母公司、子公司、法定代表人相同或其他关联关系。"))
    text = _note(note, errors, required=kind in {"other", "shared_legal_representative"})
    for field, oid in (("org_id", org_id), ("related_org_id", related_org_id)):
        if session.get(Organisation, oid) is None:
            errors.append(FieldError(field, "organisation_not_found", "单位不存在。"))
    if org_id == related_org_id:
        errors.append(FieldError("related_org_id", "same_organisation", "关联单位不能是本单位。"))
    if errors:
        raise ValidationFailed(errors)
    for rel in _active_between(session, org_id, related_org_id):
        same = rel.kind == kind if rel.org_id == org_id else rel.kind == _INVERSE.get(kind, kind)
        if same:
            raise Conflict("该关联关系已申报。", code="duplicate_relation")
    rel = OrganisationRelation(org_id=org_id, related_org_id=related_org_id, kind=kind, note=text,
                               declared_by_org_id=actor.org_id, declared_by_user_id=actor.user_id, status="active")
    session.add(rel)
    session.flush()
    record(session, actor=actor, tag="thirdparty:relation:declared", object_type="organisation_relation",
           object_id=rel.id, changes={"status": [None, "active"]},
           data={"org_id": org_id, "related_org_id": related_org_id, "kind": kind, "note": text})
    return rel


def _active_between(session: Session, a: int, b: int) -> list[OrganisationRelation]:
    stmt = select(OrganisationRelation).where(
        OrganisationRelation.status == "active",
        or_((OrganisationRelation.org_id == a) & (OrganisationRelation.related_org_id == b),
            (OrganisationRelation.org_id == b) & (OrganisationRelation.related_org_id == a)))
    return list(session.scalars(stmt))


def _withdraw(session: Session, actor: Actor, row: OrganisationRelation | OrganisationGroup, reason: str,
              version: int | None, object_type: str, subject: str) -> None:
    if not _authority(actor) and actor.org_id != row.declared_by_org_id:
        raise PermissionDenied("只有申报单位或数据主管部门可以撤回。", code="not_declarer")
    if version is not None and version != row.version:
        raise Conflict("该申报已被他人处理，请刷新后重试。", code="stale_version")
    if row.status != "active":
        raise Conflict("该申报已撤回。", code="already_withdrawn")
    text = (reason or "").strip()
    if not text:
        raise ValidationFailed.single("reason", "required", "撤回须说明理由。")
    row.status, row.withdrawn_at, row.withdrawal_reason = "withdrawn", utcnow(), text
    session.flush()
    record(session, actor=actor, tag=f"thirdparty:{subject}:withdrawn", object_type=object_type, object_id=row.id,
           changes={"status": ["active", "withdrawn"]}, data={"reason": text})


def withdraw_relation(session: Session, *, actor: Actor, relation_id: int, reason: str,
                      version: int | None = None) -> OrganisationRelation:
    require(actor, Permission.RELATION_DECLARE)
    rel = session.get(OrganisationRelation, relation_id)
    if rel is None:
        raise NotFound("关联关系申报不存在。", code="relation_not_found")
    _withdraw(session, actor, rel, reason, version, "organisation_relation", "relation")
    return rel


def normalise_prefix(value: str) -> str:
    return (value or "").strip().upper()


def declare_group(session: Session, *, actor: Actor, name: str, uscc_prefix: str, note: str = "") -> OrganisationGroup:
    require(actor, Permission.RELATION_DECLARE)
    prefix = normalise_prefix(uscc_prefix)
    errors: list[FieldError] = []
    text_name = (name or "").strip()
    if not text_name:
        errors.append(FieldError("name", "required", "请填写集团名称。"))
    elif len(text_name) > 200:
        errors.append(FieldError("name", "too_long", "集团名称不超过 200 字。"))
    if not MIN_PREFIX <= len(prefix) <= MAX_PREFIX:
        errors.append(FieldError("uscc_prefix", "prefix_length",
                                 f"信用代码前缀应为 {MIN_PREFIX}–{MAX_PREFIX} 位（须含组织机构代码的前 4 位以上）。"))
    elif not PREFIX_RE.match(prefix):
        errors.append(FieldError("uscc_prefix", "prefix_format",
                                 "信用代码前缀含有不允许的字符（不使用 I、O、S、V、Z）。"))
    text = _note(note, errors, required=False)
    if errors:
        raise ValidationFailed(errors)
    if not _authority(actor):
        own = session.get(Organisation, actor.org_id) if actor.org_id is not None else None
        if own is None or not own.uscc.startswith(prefix):
            raise PermissionDenied("只能申报本单位所在的集团（本单位信用代码须以该前缀开头）。", code="prefix_not_own")
    duplicate = session.scalar(select(OrganisationGroup.id).where(
        OrganisationGroup.status == "active", OrganisationGroup.uscc_prefix == prefix))
    if duplicate is not None:
        raise Conflict("以该前缀定义的集团已申报。", code="duplicate_group")
    group = OrganisationGroup(name=text_name, uscc_prefix=prefix, note=text, declared_by_org_id=actor.org_id,
                              declared_by_user_id=actor.user_id, status="active")
    session.add(group)
    session.flush()
    record(session, actor=actor, tag="thirdparty:group:declared", object_type="organisation_group", object_id=group.id,
           changes={"status": [None, "active"]}, data={"name": text_name, "uscc_prefix": prefix, "note": text})
    return group


def withdraw_group(session: Session, *, actor: Actor, group_id: int, reason: str,
                   version: int | None = None) -> OrganisationGroup:
    require(actor, Permission.RELATION_DECLARE)
    group = session.get(OrganisationGroup, group_id)
    if group is None:
        raise NotFound("集团申报不存在。", code="group_not_found")
    _withdraw(session, actor, group, reason, version, "organisation_group", "group")
    return group


def group_members(session: Session, prefix: str) -> list[Organisation]:
    """Members by prefix; the prefix holds only code characters (checked on declaration), so LIKE is exact."""
    stmt = select(Organisation).where(Organisation.uscc.like(f"{prefix}%")).order_by(Organisation.id)
    return list(session.scalars(stmt))


def list_relations(session: Session, *, actor: Actor, org_id: int | None = None,
                   include_withdrawn: bool = False) -> list[OrganisationRelation]:
    """Readers of every organisation see all; anyone else the relations their organisation is party to."""
    require(actor, Permission.ACCOUNT_SELF)
    stmt = select(OrganisationRelation).order_by(OrganisationRelation.id)
    if not include_withdrawn:
        stmt = stmt.where(OrganisationRelation.status == "active")
    if not (actor.kind == "system" or actor.can(Permission.ORG_READ_ALL.value)):
        org_id = actor.org_id
    if org_id is not None:
        stmt = stmt.where(or_(OrganisationRelation.org_id == org_id, OrganisationRelation.related_org_id == org_id))
    return list(session.scalars(stmt))


def list_groups(session: Session, *, actor: Actor, include_withdrawn: bool = False) -> list[OrganisationGroup]:
    require(actor, Permission.ACCOUNT_SELF)
    stmt = select(OrganisationGroup).order_by(OrganisationGroup.id)
    if not include_withdrawn:
        stmt = stmt.where(OrganisationGroup.status == "active")
    return list(session.scalars(stmt))
