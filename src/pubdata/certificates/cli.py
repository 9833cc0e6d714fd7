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
