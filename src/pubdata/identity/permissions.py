"""Permissions, which roles grant them, and which need a real-name verified organisation (REG-36)."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from pubdata.identity.roles import Role


class Permission(StrEnum):
    # Every signed-in user.
    ACCOUNT_SELF = "account.self"
    ORG_REQUEST_VERIFICATION = "org.request_verification"
    DRAFT_WRITE = "registration.draft"
    # Submitting anything to the platform: only verified organisations (REG-36).
    SUBMIT = "registration.submit"
    # Registration institution.
    ORG_VERIFY = "org.verify"
    # Oversight and statistics.
    ORG_READ_ALL = "org.read_all"
    AUDIT_READ = "audit.read"
    # Data authority: designates institutions and other roles (REG-16).
    ROLE_GRANT = "org.role_grant"
    CALENDAR_IMPORT = "calendar.import"
    # Organisation administrators manage their own organisation's users.
    ORG_USERS_MANAGE = "org.users_manage"
    # Attachments and evidence: every signed-in user, verified or not (drafts need attachments, and
    # REG-20 asks for evidence before applying, i.e. possibly before verification).
    FILE_UPLOAD = "files.upload"
    EVIDENCE_ISSUE = "evidence.issue"
    # Anyone signed in may object under their real name (REG-31).
    OBJECTION_RAISE = "objection.raise"
    # Third-party service organisations (REG-21/22/44): providers register and file reports; subjects engage
    # them; organisations declare their relations (回避 checks rest on them).
    THIRD_PARTY_SERVE = "thirdparty.serve"
    THIRD_PARTY_ENGAGE = "thirdparty.engage"
    RELATION_DECLARE = "org.relation_declare"
    # Supervision (REG-16, REG-39, REG-41/42): the authority acts, the authority and regulators read.
    SUPERVISE = "supervision.manage"
    SUPERVISE_READ = "supervision.read"
    # The institution's periodic report to the authority (REG-19(七)).
    INSTITUTION_REPORT = "supervision.report"
    # Industry departments see their industries' registrations (REG-18).
    REGISTRY_READ_INDUSTRY = "registry.read_industry"
    # Statistics derived from registrations and their disclosure (REG-40).
    STATISTICS_READ = "statistics.read"
    STATISTICS_DRAFT = "statistics.draft_release"
    STATISTICS_APPROVE = "statistics.approve"
    # Authorized operation (OPS-10..21, OPS-32, OPS-36): each step by its own body.
    OPERATION_READ = "operation.read"
    OPERATION_PLAN = "operation.plan"
    OPERATION_FEASIBILITY = "operation.feasibility"
    OPERATION_LEGALITY = "operation.legality"
    OPERATION_FAIR_COMPETITION = "operation.fair_competition"
    OPERATION_DELIBERATE = "operation.deliberate"
    OPERATION_FILE = "operation.file"
    OPERATION_SELECT = "operation.select"
    OPERATION_SUPERVISE = "operation.supervise"
    OPERATION_TERMINATE = "operation.terminate"
    OPERATION_EVALUATE = "operation.evaluate"
    OPERATION_OPERATE = "operation.operate"
    # Products (OPS-28, OPS-29): organisations subscribe; the agency caps prices and records benefit sharing; the
    # data authority records the maximum permitted revenue set with the price authority.
    PRODUCT_SUBSCRIBE = "product.subscribe"
    PRODUCT_PRICE_CAP = "product.price_cap"
    PRODUCT_REVENUE_LIMIT = "product.revenue_limit"

    @property
    def label(self) -> str:
        return PERMISSION_LABELS[self]


PERMISSION_LABELS: dict[Permission, str] = {
    Permission.ACCOUNT_SELF: "查看本人账户",
    Permission.ORG_REQUEST_VERIFICATION: "申请单位实名核验",
    Permission.DRAFT_WRITE: "填写登记草稿",
    Permission.SUBMIT: "提交登记申请",
    Permission.ORG_VERIFY: "核验单位实名信息",
    Permission.ORG_READ_ALL: "查看全部单位",
    Permission.AUDIT_READ: "查看审计记录",
    Permission.ROLE_GRANT: "授予平台角色",
    Permission.CALENDAR_IMPORT: "导入工作日安排",
    Permission.ORG_USERS_MANAGE: "管理本单位用户",
    Permission.FILE_UPLOAD: "上传附件",
    Permission.EVIDENCE_ISSUE: "申请存证",
    Permission.OBJECTION_RAISE: "提出异议",
    Permission.THIRD_PARTY_SERVE: "提供第三方专业服务",
    Permission.THIRD_PARTY_ENGAGE: "委托第三方专业服务机构",
    Permission.RELATION_DECLARE: "申报单位关联关系",
    Permission.SUPERVISE: "监督管理登记机构",
    Permission.SUPERVISE_READ: "查看监督管理信息",
    Permission.INSTITUTION_REPORT: "查看登记机构工作报告",
    Permission.REGISTRY_READ_INDUSTRY: "查看本行业登记",
    Permission.STATISTICS_READ: "查看登记统计",
    Permission.STATISTICS_DRAFT: "拟定统计信息发布",
    Permission.STATISTICS_APPROVE: "同意统计信息发布",
    Permission.OPERATION_READ: "查看授权运营",
    Permission.OPERATION_PLAN: "编制授权运营实施方案",
    Permission.OPERATION_FEASIBILITY: "组织实施方案可行性论证",
    Permission.OPERATION_LEGALITY: "实施方案合法性审查",
    Permission.OPERATION_FAIR_COMPETITION: "实施方案公平竞争审查",
    Permission.OPERATION_DELIBERATE: "审议授权运营实施方案",
    Permission.OPERATION_FILE: "授权运营备案",
    Permission.OPERATION_SELECT: "选择运营机构与签订协议",
    Permission.OPERATION_SUPERVISE: "督促运营机构整改与暂停权限",
    Permission.OPERATION_TERMINATE: "终止授权运营协议",
    Permission.OPERATION_EVALUATE: "授权运营工作评价",
    Permission.OPERATION_OPERATE: "运营机构签署与整改",
    Permission.PRODUCT_SUBSCRIBE: "订阅或订购数据产品",
    Permission.PRODUCT_PRICE_CAP: "确定产品价格上限与收益分配",
    Permission.PRODUCT_REVENUE_LIMIT: "记录最高准许收入",
}

#: Permissions whose use requires the actor's organisation to be real-name verified (REG-36).
NEEDS_VERIFIED: frozenset[Permission] = frozenset(
    {Permission.SUBMIT, Permission.ORG_VERIFY, Permission.ROLE_GRANT, Permission.CALENDAR_IMPORT,
     Permission.THIRD_PARTY_SERVE, Permission.SUPERVISE, Permission.STATISTICS_DRAFT, Permission.STATISTICS_APPROVE,
     Permission.OPERATION_PLAN, Permission.OPERATION_FEASIBILITY, Permission.OPERATION_LEGALITY,
     Permission.OPERATION_FAIR_COMPETITION, Permission.OPERATION_DELIBERATE, Permission.OPERATION_FILE,
     Permission.OPERATION_SELECT, Permission.OPERATION_SUPERVISE, Permission.OPERATION_TERMINATE,
     Permission.OPERATION_EVALUATE, Permission.OPERATION_OPERATE, Permission.PRODUCT_SUBSCRIBE,
     Permission.PRODUCT_PRICE_CAP, Permission.PRODUCT_REVENUE_LIMIT}
)

EVERY_USER: frozenset[Permission] = frozenset(
    {Permission.ACCOUNT_SELF, Permission.ORG_REQUEST_VERIFICATION, Permission.FILE_UPLOAD,
     Permission.EVIDENCE_ISSUE, Permission.OBJECTION_RAISE, Permission.RELATION_DECLARE, Permission.PRODUCT_SUBSCRIBE}
)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.DATA_AUTHORITY: frozenset(
        {Permission.ORG_READ_ALL, Permission.AUDIT_READ, Permission.ROLE_GRANT, Permission.CALENDAR_IMPORT,
         Permission.SUPERVISE, Permission.SUPERVISE_READ, Permission.INSTITUTION_REPORT,
         Permission.STATISTICS_READ, Permission.STATISTICS_DRAFT, Permission.STATISTICS_APPROVE,
         Permission.OPERATION_READ, Permission.OPERATION_PLAN, Permission.OPERATION_FEASIBILITY,
         Permission.OPERATION_FILE, Permission.OPERATION_EVALUATE, Permission.PRODUCT_REVENUE_LIMIT}
    ),
    Role.REGISTRATION_INSTITUTION: frozenset(
        {Permission.ORG_VERIFY, Permission.ORG_READ_ALL, Permission.AUDIT_READ, Permission.INSTITUTION_REPORT,
         Permission.STATISTICS_READ, Permission.STATISTICS_DRAFT}
    ),
    Role.REGISTRATION_SUBJECT: frozenset({Permission.DRAFT_WRITE, Permission.SUBMIT, Permission.THIRD_PARTY_ENGAGE}),
    Role.AGENT: frozenset({Permission.DRAFT_WRITE, Permission.SUBMIT, Permission.THIRD_PARTY_ENGAGE}),
    Role.THIRD_PARTY: frozenset({Permission.THIRD_PARTY_SERVE}),
    Role.INDUSTRY_DEPARTMENT: frozenset({Permission.ORG_READ_ALL, Permission.REGISTRY_READ_INDUSTRY,
                                         Permission.OPERATION_READ, Permission.OPERATION_SUPERVISE}),
    Role.REGULATOR: frozenset({Permission.ORG_READ_ALL, Permission.AUDIT_READ, Permission.SUPERVISE_READ,
                               Permission.INSTITUTION_REPORT, Permission.OPERATION_READ}),
    Role.IMPLEMENTING_AGENCY: frozenset({Permission.OPERATION_READ, Permission.OPERATION_PLAN,
                                         Permission.OPERATION_SELECT, Permission.OPERATION_SUPERVISE,
                                         Permission.OPERATION_TERMINATE, Permission.PRODUCT_PRICE_CAP}),
    Role.OPERATOR: frozenset({Permission.DRAFT_WRITE, Permission.SUBMIT, Permission.THIRD_PARTY_ENGAGE,
                              Permission.OPERATION_OPERATE}),
    Role.JUSTICE_DEPARTMENT: frozenset({Permission.OPERATION_READ, Permission.OPERATION_LEGALITY}),
    Role.MARKET_REGULATION: frozenset({Permission.OPERATION_READ, Permission.OPERATION_FAIR_COMPETITION}),
    Role.PEOPLES_GOVERNMENT: frozenset({Permission.OPERATION_READ, Permission.OPERATION_DELIBERATE}),
}

#: Roles that only look (REG-17: regulators oversee read-only). An organisation holding nothing but these gets
#: none of the every-user write permissions either — no uploads, objections, declarations, user management.
READ_ONLY_ROLES: frozenset[Role] = frozenset({Role.REGULATOR})


def permissions_for(roles: Iterable[Role | str], *, org_admin: bool = False) -> frozenset[str]:
    held = [Role(r) for r in roles]
    read_only = bool(held) and all(r in READ_ONLY_ROLES for r in held)
    perms: set[Permission] = {Permission.ACCOUNT_SELF} if read_only else set(EVERY_USER)
    for role in held:
        perms |= ROLE_PERMISSIONS[role]
    if org_admin and not read_only:  # a regulator's accounts are made by the platform operator (CLI)
        perms.add(Permission.ORG_USERS_MANAGE)
    return frozenset(p.value for p in perms)
