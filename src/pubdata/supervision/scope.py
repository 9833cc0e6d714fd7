"""Who oversees what (REG-16..18, REG-41): an authority its region, a regulator its region (or everything when
its role names none), an industry department its industries (and region, if its role names one).

Scopes are read from the actor's organisation's active role rows, so a revoked role stops widening anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata.audit import Actor
from pubdata.errors import PermissionDenied
from pubdata.identity.models import OrganisationRole
from pubdata.identity.roles import Role
from pubdata.reference.regions import GANSU, get_region, is_within


@dataclass(frozen=True)
class Scope:
    #: Regions (GB/T 2260) overseen; None means everywhere (the platform itself, a regulator without region).
    regions: tuple[str, ...] | None

    def covers(self, region_code: str | None) -> bool:
        if self.regions is None:
            return True
        if not region_code:
            return False
        return any(is_within(region_code, r) for r in self.regions)

    def label(self) -> str:
        if self.regions is None:
            return "全部地区"
        return "、".join(region_name(r) for r in self.regions) or "无"


EVERYWHERE = Scope(None)


def region_name(code: str) -> str:
    region = get_region(code)
    return region.name if region is not None else code


def active_roles(session: Session, org_id: int | None, roles: Iterable[Role]) -> list[OrganisationRole]:
    if org_id is None:
        return []
    stmt = select(OrganisationRole).where(
        OrganisationRole.organisation_id == org_id, OrganisationRole.revoked_at.is_(None),
        OrganisationRole.role.in_([r.value for r in roles])).order_by(OrganisationRole.id)
    return list(session.scalars(stmt))


def authority_scope(session: Session, actor: Actor) -> Scope:
    """The regions the actor's organisation administers as data authority (province or city, REG-41)."""
    if actor.kind == "system":
        return EVERYWHERE
    rows = active_roles(session, actor.org_id, [Role.DATA_AUTHORITY])
    return Scope(tuple(r.region_code or GANSU for r in rows))


def oversight_scope(session: Session, actor: Actor) -> Scope:
    """What the actor may look at in supervision views: authority regions plus regulator regions (REG-17)."""
    if actor.kind == "system":
        return EVERYWHERE
    regions: list[str] = []
    for row in active_roles(session, actor.org_id, [Role.DATA_AUTHORITY, Role.REGULATOR]):
        if row.role == Role.REGULATOR.value and not row.region_code:
            return EVERYWHERE
        regions.append(row.region_code or GANSU)
    return Scope(tuple(regions))


def require_covers(scope: Scope, region_code: str | None, what: str) -> None:
    """Object-level check for supervision: a city authority acts only within its region (REG-41)."""
    if not scope.covers(region_code):
        raise PermissionDenied(f"{what}不在本单位监管的地区（{scope.label()}）内。", code="out_of_region")
