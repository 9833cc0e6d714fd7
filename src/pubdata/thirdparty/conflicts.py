"""The 回避 check (REG-22(五), REG-44): a third party may not be the same organisation as, or related to, the
registration subject (joint applicants included) or the registration institution.

Relatedness is the transitive closure of the declared relations and group memberships: if the provider is a
subsidiary of P, and P shares its legal representative with the subject, the provider is related to the subject.
Siblings under one parent are thereby related too, which is what the article's "隶属或关联关系" means in
practice. The check answers with the chain it found, so a refusal can say exactly why.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from pubdata.identity.models import Organisation
from pubdata.registry.models import Application, Registration
from pubdata.supervision.institutions import institutions_of_registration
from pubdata.thirdparty.models import Engagement, OrganisationGroup, OrganisationRelation
from pubdata.thirdparty.relations import RELATION_KINDS, group_members

#: Upper bound on organisations visited: a safety net against a pathological graph, far above real groups.
MAX_VISITED = 20000
PARTY_LABELS = {"subject": "登记主体", "institution": "登记机构"}


@dataclass(frozen=True)
class Link:
    org_id: int
    #: How this organisation is reached from the previous one on the chain.
    via: str


@dataclass(frozen=True)
class Finding:
    party: str
    party_org_id: int
    #: From the provider (first, via "") to the party (last); one element when they are the same organisation.
    chain: tuple[Link, ...]

    @property
    def same_organisation(self) -> bool:
        return len(self.chain) == 1

    def describe(self, names: dict[int, str]) -> str:
        party = f"{PARTY_LABELS[self.party]}“{names.get(self.party_org_id, self.party_org_id)}”"
        if self.same_organisation:
            return f"第三方专业服务机构与{party}是同一单位。"
        steps = [f"“{names.get(self.chain[0].org_id, self.chain[0].org_id)}”"]
        steps += [f"—{link.via}— “{names.get(link.org_id, link.org_id)}”" for link in self.chain[1:]]
        return f"第三方专业服务机构与{party}存在关联：" + " ".join(steps) + "。"


def _relation_label(rel: OrganisationRelation) -> str:
    if rel.kind in {"parent", "subsidiary"}:
        return "隶属关系"
    if rel.kind == "other":
        return f"{RELATION_KINDS['other']}（{rel.note}）" if rel.note else RELATION_KINDS["other"]
    return RELATION_KINDS.get(rel.kind, rel.kind)


def parties(session: Session, registration: Registration) -> tuple[set[int], set[int]]:
    """(subjects incl. joint applicants, institutions) the provider must be independent of."""
    subjects = {registration.subject_org_id}
    stmt = select(Application.joint_org_ids).where(Application.registration_id == registration.id)
    for joint in session.scalars(stmt):
        subjects |= {int(i) for i in joint or []}
    return subjects, institutions_of_registration(session, registration)


def find(session: Session, *, provider_org_id: int, registration: Registration) -> list[Finding]:
    """Every subject or institution the provider is (or is related to), with the shortest chain for each."""
    subjects, insts = parties(session, registration)
    chains = search(session, provider_org_id, subjects | insts)
    return [Finding("subject" if org_id in subjects else "institution", org_id, chain)
            for org_id, chain in sorted(chains.items())]


def institution_findings(session: Session, *, registration: Registration, institution_org_id: int) -> list[Finding]:
    """For the registry, before an institution acts on a registration: the providers engaged on it (open
    engagements) that are, or are related to, that institution. Not wired in yet — see docs/supervision.md."""
    stmt = select(Engagement.provider_org_id).where(Engagement.registration_id == registration.id,
                                                    Engagement.state.in_(("engaged", "reported")))
    findings: list[Finding] = []
    for provider_org_id in sorted(set(session.scalars(stmt))):
        chain = search(session, provider_org_id, {institution_org_id}).get(institution_org_id)
        if chain is not None:
            findings.append(Finding("institution", institution_org_id, chain))
    return findings


def search(session: Session, start: int, targets: set[int]) -> dict[int, tuple[Link, ...]]:
    """Breadth-first over declared relations and groups from ``start``: the shortest chain to each target
    reached (``start`` itself, if a target, with a one-link chain)."""
    came_from: dict[int, tuple[int, str] | None] = {start: None}
    groups = list(session.scalars(select(OrganisationGroup).where(OrganisationGroup.status == "active")))
    members: dict[int, list[int]] = {}
    frontier = [start]
    while frontier and not targets <= came_from.keys() and len(came_from) < MAX_VISITED:
        next_level: list[int] = []
        for source, target, via in _neighbours(session, frontier, groups, members):
            if target not in came_from:
                came_from[target] = (source, via)
                next_level.append(target)
        frontier = next_level
    return {org_id: _chain(came_from, org_id) for org_id in targets & came_from.keys()}


def _chain(came_from: dict[int, tuple[int, str] | None], org_id: int) -> tuple[Link, ...]:
    """Walk back from ``org_id`` to the provider; each link says how it was reached."""
    links: list[Link] = []
    node: int | None = org_id
    while node is not None:
        step = came_from[node]
        links.append(Link(node, step[1] if step else ""))
        node = step[0] if step else None
    return tuple(reversed(links))


def _neighbours(session: Session, level: list[int], groups: list[OrganisationGroup],
                members: dict[int, list[int]]) -> list[tuple[int, int, str]]:
    """(from, to, how) for every declared relation and shared group of the organisations in ``level``;
    ``members`` caches each group's member ids for the whole search."""
    out: list[tuple[int, int, str]] = []
    rels = session.scalars(select(OrganisationRelation).where(
        OrganisationRelation.status == "active",
        or_(OrganisationRelation.org_id.in_(level), OrganisationRelation.related_org_id.in_(level)))
        .order_by(OrganisationRelation.id))
    in_level = set(level)
    for rel in rels:
        label = _relation_label(rel)
        if rel.org_id in in_level:
            out.append((rel.org_id, rel.related_org_id, label))
        if rel.related_org_id in in_level:
            out.append((rel.related_org_id, rel.org_id, label))
    if groups:
        stmt = select(Organisation.id, Organisation.uscc).where(Organisation.id.in_(level))
        codes = {org_id: uscc for org_id, uscc in session.execute(stmt)}
        for org_id in level:
            for group in groups:
                if codes.get(org_id, "").startswith(group.uscc_prefix):
                    if group.id not in members:
                        members[group.id] = [m.id for m in group_members(session, group.uscc_prefix)]
                    label = f"同属“{group.name}”（信用代码前缀 {group.uscc_prefix}）"
                    out += [(org_id, m, label) for m in members[group.id] if m != org_id]
    return out


def names_of(session: Session, findings: list[Finding]) -> dict[int, str]:
    ids = {link.org_id for f in findings for link in f.chain} | {f.party_org_id for f in findings}
    if not ids:
        return {}
    stmt = select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids))
    return {org_id: name for org_id, name in session.execute(stmt)}
