"""Platform roles of organisations (REG-3, REG-16..22, OPS-5..10) and organisation kinds."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    DATA_AUTHORITY = "data_authority"
    REGISTRATION_INSTITUTION = "registration_institution"
    REGISTRATION_SUBJECT = "registration_subject"
    AGENT = "agent"
    THIRD_PARTY = "third_party_service"
    INDUSTRY_DEPARTMENT = "industry_department"
    REGULATOR = "regulator"
    IMPLEMENTING_AGENCY = "implementing_agency"
    OPERATOR = "operator"
    # Bodies that review an operation implementation plan (OPS-10, OPS-17).
    JUSTICE_DEPARTMENT = "justice_department"
    MARKET_REGULATION = "market_regulation"
    PEOPLES_GOVERNMENT = "peoples_government"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS: dict[Role, str] = {
    Role.DATA_AUTHORITY: "数据主管部门",
    Role.REGISTRATION_INSTITUTION: "登记机构",
    Role.REGISTRATION_SUBJECT: "登记主体",
    Role.AGENT: "委托代理机构",
    Role.THIRD_PARTY: "第三方专业服务机构",
    Role.INDUSTRY_DEPARTMENT: "行业主管部门",
    Role.REGULATOR: "监管部门",
    Role.IMPLEMENTING_AGENCY: "实施机构",
    Role.OPERATOR: "运营机构",
    Role.JUSTICE_DEPARTMENT: "司法行政部门",
    Role.MARKET_REGULATION: "市场监督管理部门",
    Role.PEOPLES_GOVERNMENT: "本级人民政府",
}


class OrgKind(StrEnum):
    PARTY_GOVERNMENT = "党政机关"
    PUBLIC_INSTITUTION = "事业单位"
    ENTERPRISE = "企业"
    SOCIAL_ORGANISATION = "社会组织"
    OTHER = "其他"


class AuthorityLevel(StrEnum):
    """A data authority works at province or city (市州) level, for its region (REG-16)."""

    PROVINCE = "province"
    CITY = "city"

    @property
    def label(self) -> str:
        return {"province": "省级", "city": "市州级"}[self.value]


class VerificationStatus(StrEnum):
    UNVERIFIED = "unverified"
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"
    SUSPENDED = "suspended"

    @property
    def label(self) -> str:
        return {
            "unverified": "未核验",
            "pending": "待核验",
            "verified": "已实名核验",
            "rejected": "核验未通过",
            "suspended": "核验已暂停",
        }[self.value]
