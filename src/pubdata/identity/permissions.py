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
}

#: Permissions whose use requires the actor's organisation to be real-name verified (REG-36).
NEEDS_VERIFIED: frozenset[Permission] = frozenset(
    {Permission.SUBMIT, Permission.ORG_VERIFY, Permission.ROLE_GRANT, Permission.CALENDAR_IMPORT}
)

EVERY_USER: frozenset[Permission] = frozenset(
    {Permission.ACCOUNT_SELF, Permission.ORG_REQUEST_VERIFICATION, Permission.FILE_UPLOAD,
     Permission.EVIDENCE_ISSUE, Permission.OBJECTION_RAISE}
)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.DATA_AUTHORITY: frozenset(
        {Permission.ORG_READ_ALL, Permission.AUDIT_READ, Permission.ROLE_GRANT, Permission.CALENDAR_IMPORT}
    ),
    Role.REGISTRATION_INSTITUTION: frozenset(
        {Permission.ORG_VERIFY, Permission.ORG_READ_ALL, Permission.AUDIT_READ}
    ),
    Role.REGISTRATION_SUBJECT: frozenset({Permission.DRAFT_WRITE, Permission.SUBMIT}),
    Role.AGENT: frozenset({Permission.DRAFT_WRITE, Permission.SUBMIT}),
    Role.THIRD_PARTY: frozenset(),
    Role.INDUSTRY_DEPARTMENT: frozenset({Permission.ORG_READ_ALL}),
    Role.REGULATOR: frozenset({Permission.ORG_READ_ALL, Permission.AUDIT_READ}),
    Role.IMPLEMENTING_AGENCY: frozenset(),
    Role.OPERATOR: frozenset({Permission.DRAFT_WRITE, Permission.SUBMIT}),
}


def permissions_for(roles: Iterable[Role | str], *, org_admin: bool = False) -> frozenset[str]:
    perms: set[Permission] = set(EVERY_USER)
    for role in roles:
        perms |= ROLE_PERMISSIONS[Role(role)]
    if org_admin:
        perms.add(Permission.ORG_USERS_MANAGE)
    return frozenset(p.value for p in perms)
