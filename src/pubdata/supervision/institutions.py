"""Which registration institution an application belongs to.

Applications carry no institution column: any institution may act on any application. Supervision therefore
attributes each application to the institution whose user last acted on it (accept, supplement, refuse …, read
from the audit trail, like ``certificates.issue.issuer_for``), and an application no institution has touched
yet to the *competent* institution: the one whose jurisdiction (its role's region, none = the province) most
narrowly contains the subject's region (REG-19(二) 属地原则). Nothing matched: unassigned (None).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata.audit import AuditEvent
from pubdata.identity.models import Organisation, OrganisationRole
from pubdata.identity.roles import Role
from pubdata.reference.regions import GANSU, is_within, region_path
from pubdata.registry.models import Application, Registration
from pubdata.registry.workflow import INSTITUTION_ACTIONS

INSTITUTION_TAGS = tuple(sorted(f"registry:application:{a}" for a in INSTITUTION_ACTIONS))


@dataclass(frozen=True)
class Institution:
    org_id: int
    name: str
    uscc: str
    #: Jurisdiction: the role's region, the province when it names none.
    region_code: str
    #: False once the role is revoked (取消资格, REG-42); its past work still counts.
    active: bool


def institutions(session: Session) -> list[Institution]:
    """Every organisation that holds or held the institution role, with its latest role row's region."""
    rows = session.execute(
        select(OrganisationRole, Organisation).join(Organisation, Organisation.id == OrganisationRole.organisation_id)
        .where(OrganisationRole.role == Role.REGISTRATION_INSTITUTION.value).order_by(OrganisationRole.id)).all()
    latest: dict[int, tuple[OrganisationRole, Organisation]] = {}
    active: set[int] = set()
    for role, org in rows:
        latest[org.id] = (role, org)
        if role.revoked_at is None:
            active.add(org.id)
    return [Institution(org.id, org.name, org.uscc, role.region_code or GANSU, org.id in active)
            for role, org in latest.values()]


def get_institution(session: Session, org_id: int) -> Institution | None:
    return next((i for i in institutions(session) if i.org_id == org_id), None)


def handlers(session: Session, application_ids: Iterable[int] | None = None) -> dict[int, int]:
    """Application id → the organisation whose user last acted on it as institution."""
    stmt = (select(AuditEvent.object_id, AuditEvent.actor_org_id)
            .where(AuditEvent.object_type == "application", AuditEvent.tag.in_(INSTITUTION_TAGS),
                   AuditEvent.actor_org_id.is_not(None)).order_by(AuditEvent.id))
    if application_ids is not None:
        ids = [str(i) for i in application_ids]
        if not ids:
            return {}
        stmt = stmt.where(AuditEvent.object_id.in_(ids))
    out: dict[int, int] = {}
    for object_id, org_id in session.execute(stmt):
        out[int(object_id)] = int(org_id)
    return out


def covering(insts: Sequence[Institution], region_code: str | None) -> list[Institution]:
    """Active institutions whose jurisdiction contains the region, narrowest first."""
    if not region_code:
        return []
    found = [i for i in insts if i.active and is_within(region_code, i.region_code)]
    return sorted(found, key=lambda i: (-len(region_path(i.region_code)), i.org_id))


def competent(insts: Sequence[Institution], region_code: str | None) -> Institution | None:
    found = covering(insts, region_code)
    return found[0] if found else None


def attribute(session: Session, apps: Sequence[Application]) -> dict[int, int | None]:
    """Application id → institution org id (or None: unassigned), as the module docstring explains."""
    insts = institutions(session)
    acted = handlers(session, [a.id for a in apps])
    subject_regions = _subject_regions(session, apps)
    out: dict[int, int | None] = {}
    for app in apps:
        if app.id in acted:
            out[app.id] = acted[app.id]
        else:
            inst = competent(insts, subject_regions.get(app.registration.subject_org_id))
            out[app.id] = inst.org_id if inst else None
    return out


def _subject_regions(session: Session, apps: Sequence[Application]) -> dict[int, str]:
    ids = {a.registration.subject_org_id for a in apps}
    if not ids:
        return {}
    stmt = select(Organisation.id, Organisation.region_code).where(Organisation.id.in_(ids))
    return {org_id: region for org_id, region in session.execute(stmt)}


def institutions_of_registration(session: Session, registration: Registration) -> set[int]:
    """Every institution a third party must be independent of for this registration (REG-44): those that acted
    on any of its applications and every active one whose jurisdiction covers the subject."""
    app_ids = list(session.scalars(select(Application.id).where(Application.registration_id == registration.id)))
    acted = set(handlers(session, app_ids).values())
    subject = session.get(Organisation, registration.subject_org_id)
    region = subject.region_code if subject else None
    return acted | {i.org_id for i in covering(institutions(session), region)}
