"""Demo organisations and users for every role (idempotent). Credentials are listed in README.md."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from pubdata.audit import Actor
from pubdata.identity import organisations as orgs
from pubdata.identity.models import Organisation
from pubdata.identity.roles import AuthorityLevel, Role
from pubdata.identity.users import create_user, user_by_username
from pubdata.identity.validation import make_uscc

DEMO_PASSWORD = "Pubdata@2026"


@dataclass(frozen=True)
class DemoOrg:
    name: str
    prefix8: str
    serial: int
    kind: str
    region: str
    role: orgs.RoleSpec | None
    username: str
    full_name: str
    verified: bool = True

    @property
    def uscc(self) -> str:
        return make_uscc(self.prefix8, self.serial)


R = orgs.RoleSpec
DEMO_ORGS: tuple[DemoOrg, ...] = (
    DemoOrg("甘肃省数据局", "11620000", 10001, "党政机关", "620000",
            R(Role.DATA_AUTHORITY, AuthorityLevel.PROVINCE, "620000"), "authority", "王建国"),
    DemoOrg("兰州市数据局", "11620100", 10002, "党政机关", "620100",
            R(Role.DATA_AUTHORITY, AuthorityLevel.CITY, "620100"), "lanzhou", "李明"),
    DemoOrg("甘肃省公共数据资源登记中心", "12620000", 20001, "事业单位", "620000",
            R(Role.REGISTRATION_INSTITUTION, region_code="620000"), "institution", "张华"),
    DemoOrg("甘肃省交通运输厅", "11620000", 10003, "党政机关", "620000",
            R(Role.REGISTRATION_SUBJECT), "subject", "赵丽"),
    DemoOrg("天水市秦州区统计局", "11620500", 10004, "党政机关", "620502",
            R(Role.REGISTRATION_SUBJECT), "newsubject", "孙磊", verified=False),
    DemoOrg("甘肃数智登记代理有限公司", "91620100", 30001, "企业", "620100",
            R(Role.AGENT), "agent", "周静"),
    DemoOrg("甘肃可信存证技术服务有限公司", "91620100", 30002, "企业", "620100",
            R(Role.THIRD_PARTY), "thirdparty", "吴强"),
    DemoOrg("甘肃省卫生健康委员会", "11620000", 10005, "党政机关", "620000",
            R(Role.INDUSTRY_DEPARTMENT, industry_codes=("84",)), "industry", "郑敏"),
    DemoOrg("甘肃省委网络安全和信息化委员会办公室", "11620000", 10006, "党政机关", "620000",
            R(Role.REGULATOR), "regulator", "冯涛"),
    DemoOrg("甘肃省大数据中心", "12620000", 20002, "事业单位", "620000",
            R(Role.IMPLEMENTING_AGENCY, region_code="620000"), "agency", "陈洁"),
    DemoOrg("甘肃数据运营集团有限公司", "91620000", 30003, "企业", "620000",
            R(Role.OPERATOR), "operator", "褚志远"),
    DemoOrg("甘肃省司法厅", "11620000", 10007, "党政机关", "620000",
            R(Role.JUSTICE_DEPARTMENT), "justice", "卫东"),
    DemoOrg("甘肃省市场监督管理局", "11620000", 10008, "党政机关", "620000",
            R(Role.MARKET_REGULATION), "market", "蒋宁"),
    DemoOrg("甘肃省人民政府办公厅", "11620000", 10009, "党政机关", "620000",
            R(Role.PEOPLES_GOVERNMENT), "government", "沈卓"),
)


def is_empty(session: Session) -> bool:
    return session.scalar(select(Organisation.id).limit(1)) is None


def load_demo(session: Session, *, actor: Actor | None = None, opdomain_persons: int | None = None) -> list[str]:
    """Create whatever of the demo data is missing; returns what was created. The synthetic population of the
    operation domain has ``opdomain_persons`` rows (default ``PUBDATA_DEMO_PERSONS`` or 1,000,000)."""
    actor = actor or Actor.system("demo")
    created: list[str] = []
    for d in DEMO_ORGS:
        org = session.scalar(select(Organisation).where(Organisation.uscc == d.uscc))
        if org is None:
            org = orgs.create_organisation(session, actor=actor, name=d.name, uscc=d.uscc, kind=d.kind,
                                           region_code=d.region, roles=[d.role] if d.role else [])
            created.append(d.name)
            if d.verified:
                orgs.request_verification(session, actor=actor, org_id=org.id, evidence={
                    "certificate_kind": "统一社会信用代码证书", "legal_representative": d.full_name,
                    "contact_name": d.full_name, "contact_phone": "13800000000", "authorisation": "演示数据",
                })
                orgs.decide_verification(session, actor=actor, org_id=org.id, action="approve",
                                         checked_evidence="演示数据：由平台运维人员预置")
        if user_by_username(session, d.username) is None:
            create_user(session, actor=actor, org_id=org.id, username=d.username, full_name=d.full_name,
                        password=DEMO_PASSWORD, is_org_admin=True)
            created.append(d.username)
    from pubdata.registry.demo import load as load_registrations

    created += load_registrations(session, system=actor)
    from pubdata.opdomain.demo import register_resources

    created += register_resources(session, system=actor)  # before the operation demo: its agreement covers them
    from pubdata.operation.demo import load as load_operation

    created += load_operation(session, system=actor)
    from pubdata.opdomain.demo import load as load_opdomain

    created += load_opdomain(session, system=actor, persons=opdomain_persons)
    return created
