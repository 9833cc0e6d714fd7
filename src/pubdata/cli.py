"""The ``pubdata`` command for operators of the platform."""

from __future__ import annotations

import sys
from typing import NoReturn

import typer

from pubdata.audit import Actor
from pubdata.calendar.cli import app as calendar_app
from pubdata.certificates.cli import app as cert_app
from pubdata.db import migrate
from pubdata.db.session import get_engine, unit_of_work
from pubdata.errors import DomainError
from pubdata.ledger.cli import app as ledger_app

app = typer.Typer(help="甘肃省公共数据资源登记与授权运营平台 命令行", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="数据库迁移", no_args_is_help=True)
org_app = typer.Typer(help="单位管理", no_args_is_help=True)
user_app = typer.Typer(help="用户管理", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(org_app, name="org")
app.add_typer(user_app, name="user")
app.add_typer(calendar_app, name="calendar")
app.add_typer(ledger_app, name="ledger")
app.add_typer(cert_app, name="cert")


def fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def report(exc: DomainError) -> NoReturn:
    lines = [f"错误（{exc.code}）：{exc.detail}"]
    lines += [f"  {e.field}: {e.message}（{e.code}）" for e in exc.errors]
    fail("\n".join(lines))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """把数据库迁移到最新版本。"""
    engine = get_engine()
    migrate.upgrade(engine)
    typer.echo(f"数据库已迁移到 {migrate.current_revision(engine)}（{engine.url.render_as_string(hide_password=True)}）")


@db_app.command("current")
def db_current() -> None:
    """显示数据库当前版本与最新版本。"""
    engine = get_engine()
    typer.echo(f"当前 {migrate.current_revision(engine) or '未迁移'}，最新 {migrate.head_revision()}")


def _require_migrated() -> None:
    if not migrate.is_up_to_date(get_engine()):
        fail("数据库尚未迁移到最新版本。请先运行：pubdata db upgrade")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="监听地址"),
    port: int = typer.Option(8000, help="监听端口"),
    migrate_first: bool = typer.Option(False, "--migrate", help="启动前自动迁移数据库"),
    workers: int = typer.Option(1, min=1, max=64, help="工作进程数（生产环境宜与 CPU 核数相同）"),
) -> None:
    """启动 Web 服务。数据库未迁移时拒绝启动（或加 --migrate 先迁移）。"""
    import uvicorn

    engine = get_engine()
    if migrate_first:
        migrate.upgrade(engine)
    elif not migrate.is_up_to_date(engine):
        fail(
            f"数据库未迁移（当前 {migrate.current_revision(engine) or '空'}，需要 {migrate.head_revision()}）。"
            "请先运行 pubdata db upgrade，或使用 pubdata serve --migrate。"
        )
    # An import string, so that each worker process builds its own application (engine, pools, caches).
    uvicorn.run("pubdata.web.app:create_app", factory=True, workers=workers, host=host, port=port,
                proxy_headers=False, log_level="info")


@app.command()
def demo(if_empty: bool = typer.Option(False, "--if-empty", help="仅当数据库中没有任何单位时才加载")) -> None:
    """加载演示单位与用户（可重复执行，已有的跳过）。"""
    from pubdata.demo import DEMO_PASSWORD, is_empty, load_demo

    _require_migrated()
    with unit_of_work() as session:
        if if_empty and not is_empty(session):
            typer.echo("数据库已有数据，跳过演示数据。")
            return
        created = load_demo(session)
    typer.echo(f"演示数据：新建 {len(created)} 项。所有演示用户口令：{DEMO_PASSWORD}" if created else "演示数据已齐全。")
    if created:
        from pubdata.ledger.cli import checkpoint as ledger_checkpoint

        ledger_checkpoint(if_due=False)  # the portal shows a signed tree head from the start


@app.command("catalog-rebuild")
def catalog_rebuild() -> None:
    """重建公共数据资源目录（由登记记录重新生成目录条目与检索索引）。"""
    from pubdata.catalog.index import rebuild

    _require_migrated()
    with get_engine().begin() as conn:
        count = rebuild(conn)
    typer.echo(f"目录已重建：{count} 条登记记录。")


@app.command()
def sweep() -> None:
    """定时清扫：公示期满发证、续展提醒、期满注销、账本检查点（可重复执行，建议每分钟一次）。"""
    from pubdata.registry.sweep import run

    _require_migrated()
    for line in run().lines():
        typer.echo(line)
    # Quiet periods: the every-T-seconds checkpoint rule is otherwise only checked on commit (issue 3).
    from pubdata.ledger.cli import checkpoint as ledger_checkpoint

    ledger_checkpoint(if_due=True)


@org_app.command("create")
def org_create(
    name: str = typer.Option(..., "--name", help="单位名称"),
    uscc: str = typer.Option(..., "--uscc", help="统一社会信用代码"),
    kind: str = typer.Option(..., "--kind", help="党政机关/事业单位/企业/社会组织/其他"),
    region: str = typer.Option(..., "--region", help="GB/T 2260 行政区划代码"),
    role: list[str] = typer.Option([], "--role", help="平台角色代码，可多次给出"),
    authority_level: str | None = typer.Option(None, "--authority-level", help="province 或 city"),
    industry: list[str] = typer.Option([], "--industry", help="行业代码（行业主管部门），可多次给出"),
) -> None:
    """新建单位（未核验）。"""
    from pubdata.identity import organisations as orgs
    from pubdata.identity.roles import AuthorityLevel, Role

    _require_migrated()
    try:
        specs = [
            orgs.RoleSpec(
                Role(r),
                AuthorityLevel(authority_level) if authority_level and r == Role.DATA_AUTHORITY else None,
                region if r == Role.DATA_AUTHORITY else None,
                tuple(industry) if r == Role.INDUSTRY_DEPARTMENT else (),
            )
            for r in role
        ]
    except ValueError as exc:
        fail(f"错误（unknown_role）：角色或层级代码无效：{exc}")
    try:
        with unit_of_work() as session:
            org = orgs.create_organisation(session, actor=Actor.system("cli"), name=name, uscc=uscc, kind=kind,
                                           region_code=region, roles=specs)
            typer.echo(f"已创建单位 #{org.id} {org.name}（{org.uscc}），状态：未核验")
    except DomainError as exc:
        report(exc)


@org_app.command("verify")
def org_verify(
    org_id: int = typer.Argument(..., help="单位编号"),
    checked: str = typer.Option(..., "--checked", help="核对了哪些材料"),
) -> None:
    """以平台运维身份核验单位（用于首个登记机构的开通）。"""
    from pubdata.identity import organisations as orgs

    _require_migrated()
    try:
        with unit_of_work() as session:
            actor = Actor.system("cli")
            org = orgs.get_organisation(session, org_id=org_id)
            if org.verification_status in {"unverified", "rejected"}:
                orgs.request_verification(session, actor=actor, org_id=org_id, evidence={
                    k: checked for k in orgs.EVIDENCE_FIELDS})
            orgs.decide_verification(session, actor=actor, org_id=org_id, action="approve", checked_evidence=checked)
            typer.echo(f"单位 #{org_id} 已通过实名核验。")
    except DomainError as exc:
        report(exc)


@user_app.command("create")
def user_create(
    org_id: int = typer.Option(..., "--org", help="所属单位编号"),
    username: str = typer.Option(..., "--username", help="登录名"),
    full_name: str = typer.Option(..., "--name", help="姓名"),
    phone: str | None = typer.Option(None, "--phone", help="手机号"),
    admin: bool = typer.Option(False, "--admin", help="设为本单位管理员"),
    password: str | None = typer.Option(None, "--password", help="口令（不给则交互输入）"),
) -> None:
    """新建用户。"""
    from pubdata.identity.users import create_user

    _require_migrated()
    if password is None:
        password = typer.prompt("口令", hide_input=True, confirmation_prompt=True)
    try:
        with unit_of_work() as session:
            user = create_user(session, actor=Actor.system("cli"), org_id=org_id, username=username,
                               full_name=full_name, password=password, phone=phone, is_org_admin=admin)
            typer.echo(f"已创建用户 #{user.id} {user.username}")
    except DomainError as exc:
        report(exc)


def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
