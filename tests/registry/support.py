"""Building complete, valid applications for the registry tests — through the real services and file store."""

from __future__ import annotations

import copy
import datetime as dt
import itertools
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from pubdata import clock
from pubdata.audit import Actor
from pubdata.config import Settings
from pubdata.files.service import store_upload
from pubdata.registry import applications as svc
from pubdata.registry import samples
from pubdata.registry.certificates import certify
from pubdata.registry.models import Application
from pubdata.registry.sweep import due_for_certification

_n = itertools.count(1)


def upload(session: Session, actor: Actor, tmp: Path, label: str = "材料") -> str:
    """A real PDF-looking file in the real store; returns its SM3 digest."""
    data = b"%PDF-1.7\n% " + f"{label} {next(_n)}".encode() + b"\n%%EOF\n"
    stored = store_upload(session, actor=actor, stream=data, filename=f"{label}.pdf", declared_type="application/pdf",
                          settings=Settings(var_dir=tmp))
    return stored.digest


def resource_content(session: Session, actor: Actor, tmp: Path, name: str = "全省公路路网运行监测数据") -> dict[str, Any]:
    return samples.resource_content(lambda label: upload(session, actor, tmp, label), name=name)


def documents(session: Session, actor: Actor, tmp: Path, *keys: str) -> dict[str, str]:
    return {k: upload(session, actor, tmp, k) for k in ("identity_proof", *keys)}


def submitted_first(session: Session, subject: Actor, tmp: Path, **content_overrides: Any) -> Application:
    content = resource_content(session, subject, tmp)
    for group, values in content_overrides.items():
        content[group] = {**content.get(group, {}), **values}
    app = svc.create_application(session, actor=subject, kind="first", content=content,
                                 documents=documents(session, subject, tmp))
    return svc.submit(session, actor=subject, application_id=app.id)


def registered(session: Session, subject: Actor, clerk: Actor, tmp: Path, **overrides: Any) -> Application:
    """A first registration taken all the way to its certificate."""
    app = submitted_first(session, subject, tmp, **overrides)
    svc.accept(session, actor=clerk, application_id=app.id)
    svc.pass_review(session, actor=clerk, application_id=app.id)
    certify(session, actor=Actor.system("test"), application=app)
    return app


def after_notice(app: Application) -> dt.date:
    assert app.notice_end is not None
    return app.notice_end + dt.timedelta(days=1)


def deep(content: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(content)


__all__ = ["after_notice", "clock", "deep", "documents", "due_for_certification", "registered", "resource_content",
           "submitted_first", "upload"]
