"""Taking an issued certificate through the registry's other procedures (renewal, cancellation)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy.orm import Session

from pubdata import clock
from pubdata.audit import Actor
from pubdata.registry import applications as svc
from pubdata.registry.certificates import current_certificate
from pubdata.registry.models import Application, Certificate
from tests.registry.support import documents


def renew(session: Session, subject: Actor, clerk: Actor, tmp: Path, registration_id: int, on: dt.date
          ) -> tuple[Application, Certificate]:
    """File, accept and pass a renewal on ``on``; returns it and the new certificate."""
    with clock.frozen(on):
        app = svc.create_application(session, actor=subject, kind="renewal", registration_id=registration_id,
                                     documents=documents(session, subject, tmp))
        svc.submit(session, actor=subject, application_id=app.id)
        svc.accept(session, actor=clerk, application_id=app.id)
        svc.pass_review(session, actor=clerk, application_id=app.id)
    cert = current_certificate(session, registration_id)
    assert app.state == "certified" and cert is not None
    return app, cert


def cancel(session: Session, subject: Actor, clerk: Actor, tmp: Path, cert: Certificate, on: dt.date) -> Application:
    """The subject's own cancellation (REG-25(四)), completed on ``on``."""
    with clock.frozen(on):
        app = svc.create_application(session, actor=subject, kind="cancellation", registration_id=cert.registration_id,
                                     details={"ground": "lost", "certificate_number": cert.number},
                                     documents=documents(session, subject, tmp, "ground_evidence"))
        svc.submit(session, actor=subject, application_id=app.id)
        svc.accept(session, actor=clerk, application_id=app.id)
        svc.complete_cancellation(session, actor=clerk, application_id=app.id)
    return app


def change(session: Session, subject: Actor, clerk: Actor, tmp: Path, registration_id: int, on: dt.date,
           summary: str = "新增服务区客流数据。") -> Certificate:
    """A change registration certified on ``on`` (notice period skipped, as the registry tests do)."""
    from pubdata.registry.certificates import certify

    with clock.frozen(on):
        app = svc.create_application(session, actor=subject, kind="change", registration_id=registration_id,
                                     details={"change_reason": "新增数据项"})
        content = dict(app.content)
        content["basic"] = {**content["basic"], "summary": summary}
        svc.update_draft(session, actor=subject, application_id=app.id, content=content,
                         documents=documents(session, subject, tmp, "change_evidence"))
        svc.submit(session, actor=subject, application_id=app.id)
        svc.accept(session, actor=clerk, application_id=app.id)
        svc.pass_review(session, actor=clerk, application_id=app.id)
        return certify(session, actor=Actor.system("test"), application=app)
