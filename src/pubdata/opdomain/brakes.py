"""Brakes on the SQL console (OPS-25, OPS-33): rate limits, per-grant counters, alerts and suspension.

Every query that reaches a grant of the actor's own organisation is *settled* here in the query's transaction:

- **Rate limits** (GCRA: a theoretical arrival time per user and grant, and one per grant for all the operator's
  staff together). ``admit`` reads both before anything runs and refuses with 429 ``query_rate_limited`` and a
  ``Retry-After``; ``settle`` consumes them with one conditional UPDATE each *after* the query, so no row lock is
  held while DuckDB works. Sequential queries are limited exactly; of concurrent ones that all passed ``admit``,
  those the limit no longer allows when they settle are answered 429 too and their results withheld.
- **Counters** of allowed, refused, failed and throttled queries per grant (opdomain_query_counter), one UPDATE.
- **Thresholds**: refused, failed and throttled queries within a window raise an alert to the implementing
  agency (QueryAlert + ``opdomain:grant:alert``) and, past the second threshold, suspend the grant
  (``grants.suspend``) until the agency resumes it. Each level is claimed by a conditional UPDATE, so concurrent
  queries raise it once per window.

Settings (``opdomain_*`` in pubdata.config) come from the session's settings (the app's), else the process's.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Final

from sqlalchemy import Float, bindparam, case, select, text, update
from sqlalchemy.orm import Session

from pubdata.audit import Actor, record
from pubdata.certificates.signing import settings_for
from pubdata.config import Settings
from pubdata.errors import DomainError, TooManyRequests
from pubdata.opdomain import grants
from pubdata.opdomain.engine import QueryFailed
from pubdata.opdomain.models import DataGrant, QueryAlert, QueryBucket, QueryCounter
from pubdata.operation.agreements import get_agreement

COUNTER, BUCKET = QueryCounter.__table__, QueryBucket.__table__
OUTCOMES: Final = ("allowed", "refused", "failed", "throttled")
#: Alert levels, in order: what a window's count of bad queries has reached.
LEVELS: Final = {1: "alert", 2: "suspension"}
LEVEL_LABELS: Final = {"alert": "告警", "suspension": "暂停授权"}
OUTCOME_LABELS: Final = {"allowed": "允许", "refused": "拒绝", "failed": "出错", "throttled": "限流"}


def now() -> float:
    """Wall-clock seconds: the rate limits are shared by every worker process (tests replace this)."""
    return time.time()


@dataclass(frozen=True)
class Limits:
    user_interval: float
    user_tolerance: float
    grant_interval: float
    grant_tolerance: float
    window: float
    alert_threshold: int
    suspend_threshold: int

    @classmethod
    def of(cls, s: Settings) -> Limits:
        ui, gi = 60.0 / max(1, s.opdomain_query_rate_per_minute), 60.0 / max(1, s.opdomain_grant_rate_per_minute)
        return cls(ui, ui * (max(1, s.opdomain_query_burst) - 1), gi, gi * (max(1, s.opdomain_grant_burst) - 1),
                   float(s.opdomain_brake_window_seconds), s.opdomain_alert_threshold, s.opdomain_suspend_threshold)


class RateLimited(TooManyRequests):
    code = "query_rate_limited"

    def __init__(self, retry_after: float) -> None:
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(f"查询过于频繁，已超过本授权的查询频率限制，请 {self.retry_after} 秒后再试。")


def outcome_of(error: DomainError) -> str:
    if isinstance(error, RateLimited):
        return "throttled"
    return "failed" if isinstance(error, QueryFailed) else "refused"


_ENSURE_COUNTER = text(f"INSERT INTO {COUNTER.name} (grant_id) VALUES (:g) ON CONFLICT (grant_id) DO NOTHING")
_ENSURE_BUCKET = text(f"INSERT INTO {BUCKET.name} (grant_id, user_id) VALUES (:g, :u) "
                      "ON CONFLICT (grant_id, user_id) DO NOTHING")


def _consume(table, *where):  # type: ignore[no-untyped-def]
    """GCRA: allowed while tat ≤ now + tolerance; then tat = max(tat, now) + interval — in one statement. Built
    once with bound parameters: building expressions per query cost more than running them."""
    tat, t = table.c.tat, bindparam("t", type_=Float)
    return (update(table).where(*where, tat <= t + bindparam("tolerance", type_=Float))
            .values(tat=case((tat > t, tat), else_=t) + bindparam("interval", type_=Float)).returning(table.c.id))


_G, _U = bindparam("g"), bindparam("u")
_ADMIT = select(COUNTER.c.tat, BUCKET.c.tat).select_from(COUNTER.outerjoin(
    BUCKET, (BUCKET.c.grant_id == COUNTER.c.grant_id) & (BUCKET.c.user_id == _U))).where(COUNTER.c.grant_id == _G)
_CONSUME_USER = _consume(BUCKET, BUCKET.c.grant_id == _G, BUCKET.c.user_id == _U)
_CONSUME_GRANT = _consume(COUNTER, COUNTER.c.grant_id == _G)


def _count_statement(outcome: str):  # type: ignore[no-untyped-def]
    """Count one outcome and keep the threshold window (a new one once the last has passed), in one UPDATE."""
    c, t = COUNTER.c, bindparam("t", type_=Float)
    bad = int(outcome != "allowed")
    expired = c.window_start + bindparam("window", type_=Float) <= t
    return update(COUNTER).where(c.grant_id == _G).values({
        c[outcome]: c[outcome] + 1,
        c.window_bad: case((expired, bad), else_=c.window_bad + bad),
        c.alert_level: case((expired, 0), else_=c.alert_level),
        c.window_start: case((expired, t), else_=c.window_start),
    }).returning(c.window_bad, c.alert_level, c.window_start)


_COUNT = {outcome: _count_statement(outcome) for outcome in OUTCOMES}


class Brake:
    """One query's bookkeeping on its grant (created once the grant is known to be the actor's own)."""

    def __init__(self, session: Session, grant: DataGrant, actor: Actor, limits: Limits | None = None) -> None:
        self.session, self.grant, self.actor = session, grant, actor
        self.limits = limits or Limits.of(settings_for(session))
        self.admitted = False
        self.settled: str | None = None

    def admit(self) -> None:
        """Before anything runs: refuse (429) when either rate limit is exhausted."""
        s, g, u, t = self.session, self.grant.id, self.actor.user_id, now()
        row = s.execute(_ADMIT, {"g": g, "u": u}).first()
        if row is None or (u is not None and row[1] is None):
            s.execute(_ENSURE_COUNTER, {"g": g})
            if u is not None:
                s.execute(_ENSURE_BUCKET, {"g": g, "u": u})
            row = (0.0, 0.0)
        grant_tat, user_tat = row[0], row[1] or 0.0
        wait = max(user_tat - self.limits.user_tolerance - t, grant_tat - self.limits.grant_tolerance - t)
        if wait > 0:
            raise RateLimited(wait)
        self.admitted = True

    def settle(self, outcome: str) -> None:
        """Consume the rate limits (for an admitted query), count the outcome, raise alerts; once per query. An
        allowed query that a concurrent one left no room for is counted as throttled and raises 429 instead
        (its result is withheld); a refusal or failure stays what it was."""
        if self.settled is not None:
            return
        s, g, u, t, lim = self.session, self.grant.id, self.actor.user_id, now(), self.limits
        if self.admitted:
            ok = u is None or s.execute(_CONSUME_USER, {"g": g, "u": u, "t": t, "interval": lim.user_interval,
                                                        "tolerance": lim.user_tolerance}).first() is not None
            ok = ok and s.execute(_CONSUME_GRANT, {"g": g, "t": t, "interval": lim.grant_interval,
                                                   "tolerance": lim.grant_tolerance}).first() is not None
        else:
            ok = True
            s.execute(_ENSURE_COUNTER, {"g": g})
        withheld = outcome == "allowed" and not ok
        self.settled = "throttled" if withheld else outcome
        self._count(self.settled, t)
        if withheld:
            raise RateLimited(lim.user_interval)

    def _count(self, outcome: str, t: float) -> None:
        lim = self.limits
        window_bad, level, start = self.session.execute(
            _COUNT[outcome], {"g": self.grant.id, "t": t, "window": lim.window}).one()
        if outcome == "allowed":
            return
        for lvl, threshold in ((1, lim.alert_threshold), (2, lim.suspend_threshold)):
            if threshold > 0 and window_bad >= threshold and level < lvl and self._claim(lvl, start):
                self._raise(LEVELS[lvl], window_bad, threshold)

    def _claim(self, level: int, start: float) -> bool:
        c = COUNTER.c
        return self.session.execute(update(COUNTER).where(
            c.grant_id == self.grant.id, c.alert_level < level, c.window_start == start)
            .values(alert_level=level).returning(c.id)).first() is not None

    def _raise(self, level: str, window_bad: int, threshold: int) -> None:
        grant, s = self.grant, self.session
        agreement = get_agreement(s, grant.agreement_id)
        counts = counters(s, [grant.id]).get(grant.id, {})
        alert = QueryAlert(grant_id=grant.id, agreement_id=agreement.id, agency_org_id=agreement.agency_org_id,
                           operator_org_id=grant.operator_org_id, level=level, window_bad=window_bad,
                           threshold=threshold, counts=counts)
        s.add(alert)
        s.flush()
        system = Actor.system("query-brakes").with_request(request_id=self.actor.request_id,
                                                           client_addr=self.actor.client_addr)
        record(s, actor=system, tag="opdomain:grant:alert", object_type="opdomain_grant", object_id=grant.id,
               data={"alert_id": alert.id, "level": level, "window_bad": window_bad, "threshold": threshold,
                     "window_seconds": self.limits.window, "counts": counts,
                     "agency_org_id": agreement.agency_org_id, "last_user_id": self.actor.user_id})
        if level == "suspension":
            minutes = round(self.limits.window / 60)
            grants.suspend(s, actor=system, grant=grant, alert_id=alert.id,
                           facts=f"{minutes} 分钟内被拒绝、出错或限流的查询达到 {window_bad} 次"
                                 f"（阈值 {threshold} 次），授权暂停，待实施机构审查。")


def counters(session: Session, grant_ids: list[int]) -> dict[int, dict[str, int]]:
    """Each grant's counts (grants without any query have none)."""
    if not grant_ids:
        return {}
    c = COUNTER.c
    rows = session.execute(select(c.grant_id, c.allowed, c.refused, c.failed, c.throttled, c.window_bad)
                           .where(c.grant_id.in_(grant_ids)))
    return {r.grant_id: {"allowed": r.allowed, "refused": r.refused, "failed": r.failed, "throttled": r.throttled,
                         "window_bad": r.window_bad} for r in rows}
