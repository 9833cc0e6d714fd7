"""``pubdata cert``: offline verification of certificates (no database, only published public keys)."""

from __future__ import annotations

from pathlib import Path

import typer

from pubdata import clock
from pubdata.certificates.offline import load_keys, verify_file
from pubdata.crypto.keys import KeyFileError

app = typer.Typer(help="电子凭证", no_args_is_help=True)

KEYS = typer.Option(None, "--keys", help="公钥文件（/api/v1/public/keys 的输出、keys.json 或 keyring.json）或密钥目录；"
                                         "默认使用本机 var/keys")


@app.command("verify")
def verify(
    file: Path = typer.Argument(..., help="凭证 JSON 或 PDF 文件", exists=False),
    keys: Path | None = KEYS,
) -> None:
    """离线核验凭证：用已公布的公钥校验 SM2 签名与内容。有效退出码 0，无效 1（并说明原因），无法核验 2。"""
    if keys is None:
        from pubdata.config import get_settings
        from pubdata.crypto.keys import keys_dir

        keys = keys_dir(get_settings())
    try:
        trusted = load_keys(keys)
    except KeyFileError as exc:
        typer.echo(f"无法读取公钥：{exc}", err=True)
        raise typer.Exit(2) from None
    if not trusted:
        typer.echo(f"{keys} 中没有任何公钥，无法核验。请用 --keys 指定从 /api/v1/public/keys 下载的公钥文件。",
                   err=True)
        raise typer.Exit(2)
    result = verify_file(file, trusted)
    for line in result.lines(clock.today()):
        typer.echo(line, err=not result.valid)
    raise typer.Exit(0 if result.valid else 1)


@app.command("keys")
def keys_list() -> None:
    """列出本机全部凭证签名公钥（含已轮换的旧公钥），JSON 格式，与 /api/v1/public/keys 相同。"""
    import json

    from pubdata.certificates.signing import KEY_PREFIX
    from pubdata.config import get_settings
    from pubdata.crypto.keys import all_public_keys, keys_dir, public_keys_document

    found = [k for k in all_public_keys(keys_dir(get_settings())) if k.name.startswith(KEY_PREFIX)]
    typer.echo(json.dumps(public_keys_document(found), ensure_ascii=False, indent=2))


@app.command("rotate-key")
def rotate_key(issuer: str = typer.Option(..., "--issuer", help="签发机构统一社会信用代码（或 platform）")) -> None:
    """轮换签发机构的凭证签名密钥：旧公钥保留（旧凭证仍可核验），旧私钥销毁。"""
    from pubdata.certificates.signing import key_name_for
    from pubdata.config import get_settings
    from pubdata.crypto.keys import KeyRing

    name = key_name_for(None if issuer == "platform" else issuer.strip().upper())
    if issuer != "platform" and name == key_name_for(None):
        typer.echo(f"统一社会信用代码 {issuer} 格式不正确。", err=True)
        raise typer.Exit(2)
    ring = KeyRing.open(get_settings(), name)
    if not ring.exists():
        typer.echo(f"{name} 尚无密钥（首次签发凭证时自动生成），无需轮换。", err=True)
        raise typer.Exit(1)
    new = ring.rotate()
    typer.echo(f"已轮换 {name}：新密钥 {new.key_id}；旧公钥仍公布于 /api/v1/public/keys。")
