"""``pubdata ledger …``: verify, checkpoint, export and verify archive bundles, manage the ledger key.

Exit codes: 0 all holds; 1 verification found a problem; 2 the command could not run (bad arguments,
unmigrated database, unreadable key file).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from pubdata.config import get_settings
from pubdata.crypto.keys import KeyFileError, PublicKey, load_public_keys, public_keys_document

app = typer.Typer(help="审计账本：校验、检查点、归档导出与离线校验、签名密钥", no_args_is_help=True)


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def _engine():  # type: ignore[no-untyped-def]
    from pubdata.db import migrate
    from pubdata.db.session import get_engine

    engine = get_engine()
    if not migrate.is_up_to_date(engine):
        _fail("数据库尚未迁移到最新版本。请先运行：pubdata db upgrade")
    return engine


def _keys_from(path: Path | None) -> dict[str, PublicKey]:
    """Public keys from a published document, else from the platform's own key files."""
    from pubdata.ledger.checkpoints import keyring

    try:
        if path is not None:
            return load_public_keys(json.loads(path.read_text(encoding="utf-8")))
        return {k.key_id: k for k in keyring(get_settings()).public_keys()}
    except (OSError, ValueError, KeyFileError) as exc:
        _fail(f"无法读取公钥：{exc}")


def _date(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        _fail(f"{option} 应为 YYYY-MM-DD 格式的日期，收到 {value!r}。")


PUBLIC_KEYS = typer.Option(
    None, "--public-keys", help="用独立取得的公钥文件（keys.json 或 /api/v1/public/ledger/keys 的输出）校验签名"
)


@app.command()
def verify(
    public_keys: Path | None = PUBLIC_KEYS,
    limit: int = typer.Option(20, "--show", help="最多列出多少个问题"),
) -> None:
    """从事件行重算每个叶子、整棵树和每个检查点签名；全部成立时退出码为 0。"""
    from pubdata.ledger.verify import verify_database

    engine = _engine()
    report = verify_database(engine, keys=_keys_from(public_keys),
                             progress=lambda n: typer.echo(f"  已校验 {n} 个叶子…", err=True))
    summary = (f"{report.events} 个事件，{report.leaves} 个叶子，{report.checkpoints} 个检查点，"
               f"用时 {report.seconds:.1f} 秒")
    if report.ok:
        typer.echo(f"账本校验通过：{summary}；每个事件都与其叶子一致，树与全部检查点签名成立。")
        return
    first = report.first_bad_event
    lines = [f"账本校验失败：{summary}，发现 {len(report.problems)}{'+' if report.truncated else ''} 个问题。"]
    if first is not None:
        lines.append(f"第一个不符的事件：#{first.event_id}（{first.message}）")
    lines += [f"  [{p.kind}] {p.message}" for p in report.problems[:limit]]
    _fail("\n".join(lines), code=1)


@app.command()
def checkpoint(
    if_due: bool = typer.Option(False, "--if-due", help="只在按事件数或时间间隔到期时签发（供定时任务调用）"),
) -> None:
    """签发一个检查点（签名树头）。"""
    from sqlalchemy.orm import Session

    from pubdata.ledger import checkpoints as cps

    engine = _engine()
    settings = get_settings()
    try:
        with Session(engine) as session, session.begin():
            reason = cps.due(session, settings) if if_due else "demand"
            if reason is None:
                typer.echo("检查点未到期，未签发。")
                return
            cp = cps.create(session, keys=cps.keyring(settings), reason=reason)
    except KeyFileError as exc:
        _fail(f"账本签名密钥不可用：{exc}")
    typer.echo(f"已签发检查点 #{cp.id}：树大小 {cp.tree_size}，根哈希 {cp.root_hash.hex()}，密钥 {cp.key_id}。")


@app.command()
def status() -> None:
    """显示账本大小与最新检查点。"""
    from pubdata.ledger import checkpoints as cps
    from pubdata.ledger import tree

    with _engine().connect() as conn:
        size, latest = tree.tree_size(conn), cps.latest(conn)
    typer.echo(f"账本共有 {size} 个叶子。")
    if latest is None:
        typer.echo("尚无检查点。")
    else:
        typer.echo(f"最新检查点 #{latest.id}：树大小 {latest.tree_size}，根哈希 {latest.root_hash.hex()}，"
                   f"签名时间 {latest.created_at.isoformat()}，未覆盖 {size - latest.tree_size} 个叶子。")


@app.command()
def export(
    out: Annotated[Path, typer.Argument(help="输出目录（不存在或为空）")],
    date_from: str = typer.Option(..., "--from", help="开始日期（北京时间，含）YYYY-MM-DD"),
    date_to: str = typer.Option(..., "--to", help="结束日期（北京时间，含）YYYY-MM-DD"),
) -> None:
    """导出一段期间的自验证归档包（OPS-37）。"""
    from pubdata.ledger import bundle
    from pubdata.ledger.checkpoints import keyring

    start, end = _date(date_from, "--from"), _date(date_to, "--to")
    try:
        manifest = bundle.export(_engine(), date_from=start, date_to=end, out=out, keys=keyring(get_settings()))
    except (bundle.BundleError, KeyFileError) as exc:
        _fail(f"导出失败：{exc}")
    leaves = manifest["leaves"]
    typer.echo(f"已导出 {leaves['count']} 个事件（叶子 {leaves['first']} 起）到 {out}，"
               f"锚定检查点树大小 {manifest['anchor']['tree_size']}。")


@app.command("verify-bundle")
def verify_bundle(
    path: Annotated[Path, typer.Argument(help="归档包目录")],
    public_keys: Path | None = PUBLIC_KEYS,
) -> None:
    """不连接数据库，校验一个归档包；全部成立时退出码为 0。"""
    from pubdata.ledger.bundle import verify_bundle as run

    if not (path / "manifest.json").is_file():
        _fail(f"{path} 不是归档包目录（缺少 manifest.json）。")
    trusted = _keys_from(public_keys) if public_keys is not None else None
    report = run(path, trusted_keys=trusted)
    if not report.ok:
        _fail("归档包校验失败：\n" + "\n".join(f"  {p}" for p in report.problems), code=1)
    extra = f"，其中 {report.outside_period} 个发生时间在期间之外" if report.outside_period else ""
    typer.echo(f"归档包校验通过：{report.events} 个事件（叶子 {report.first_leaf} 起{extra}）包含在树大小为 "
               f"{report.anchor_size} 的已签名检查点中，另有 {report.checkpoints} 个检查点与之一致。")


@app.command()
def keys() -> None:
    """以 JSON 输出账本的全部公钥（含已轮换的旧公钥）。"""
    from pubdata.ledger.checkpoints import keyring

    typer.echo(json.dumps(public_keys_document(keyring(get_settings()).public_keys()), ensure_ascii=False, indent=2))


@app.command("rotate-key")
def rotate_key() -> None:
    """轮换账本签名密钥：新密钥用于此后的检查点，旧公钥保留以验证旧签名，旧私钥销毁。"""
    from sqlalchemy.orm import Session

    from pubdata.audit import Actor, record
    from pubdata.ledger import checkpoints as cps

    engine = _engine()
    ring = cps.keyring(get_settings())
    old = ring.signing_key().key_id if ring.exists() else None
    with Session(engine) as session, session.begin():
        if old is not None:
            cps.create(session, keys=ring, reason="demand")  # the old key's last word covers all so far
        new = ring.rotate()
        record(session, actor=Actor.system("cli"), tag="ledger:key:rotated", object_type="ledger_key",
               object_id=new.key_id, data={"previous": old, "public_key": new.public.public_key.hex()})
    typer.echo(f"账本签名密钥已轮换：新密钥 {new.key_id}" + (f"，旧密钥 {old} 已停用（公钥保留）。" if old else "。"))
