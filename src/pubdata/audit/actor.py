"""Who acts: the identity a service function is called with and an audit event records."""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Actor:
    #: "user", "system" (CLI, sweep, migrations) or "anonymous" (public forms).
    kind: str
    label: str
    user_id: int | None = None
    org_id: int | None = None
    #: Role codes the actor holds through its organisation (see identity.roles.Role).
    roles: tuple[str, ...] = ()
    #: Permission codes (see identity.permissions.Permission).
    permissions: frozenset[str] = field(default_factory=frozenset)
    #: True when the actor's organisation passed real-name verification (REG-36).
    org_verified: bool = False
    request_id: str | None = None
    client_addr: str | None = None

    @classmethod
    def system(cls, label: str = "cli", *, permissions: frozenset[str] | None = None) -> Actor:
        """The platform acting on its own (CLI operator, scheduled sweep); it holds every permission."""
        from pubdata.identity.permissions import Permission

        perms = permissions if permissions is not None else frozenset(p.value for p in Permission)
        return cls(kind="system", label=f"system:{label}", permissions=perms, org_verified=True)

    @classmethod
    def anonymous(cls, *, request_id: str | None = None, client_addr: str | None = None) -> Actor:
        return cls(kind="anonymous", label="anonymous", request_id=request_id, client_addr=client_addr)

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def with_request(self, *, request_id: str | None, client_addr: str | None) -> Actor:
        return replace(self, request_id=request_id, client_addr=client_addr)
