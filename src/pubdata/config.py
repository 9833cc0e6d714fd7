"""Settings from the environment (``PUBDATA_*``) or ``pubdata.toml``; defaults run with nothing installed."""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path


def _project_root() -> Path:
    return Path(os.environ.get("PUBDATA_HOME", Path.cwd())).resolve()


@dataclass(frozen=True)
class Settings:
    #: Where the SQLite database, keys and attachments live.
    var_dir: Path = field(default_factory=lambda: _project_root() / "var")
    #: SQLAlchemy URL; SQLite under var/ unless PostgreSQL is configured.
    database_url: str = ""
    #: Secret for CSRF tokens; generated once into var/secret_key when not given.
    secret_key: str = ""
    #: Public base URL, used in links printed on certificates and in e-mails.
    base_url: str = "http://127.0.0.1:8000"
    #: Send cookies only over HTTPS (true in production behind TLS).
    secure_cookies: bool = False
    #: Web session lifetime in minutes of inactivity.
    session_idle_minutes: int = 120
    #: Failed password attempts before an account is locked.
    login_max_failures: int = 5
    #: First lockout in minutes; doubles with each further failure.
    login_lockout_minutes: int = 15
    #: Lifetime of new API tokens in days.
    api_token_days: int = 90
    #: Name similarity (0–1) from which a registration is flagged to the reviewer as a near duplicate (REG-30).
    duplicate_name_threshold: float = 0.8
    #: Largest attachment accepted, in bytes (50 MiB); larger uploads are refused while streaming.
    upload_max_bytes: int = 50 * 1024 * 1024
    #: Sign a ledger checkpoint once this many events are not yet covered by one (0: never by count).
    ledger_checkpoint_events: int = 1000
    #: …or once the oldest uncovered event is this many seconds past the last checkpoint (0: never by time).
    #: Checked at each commit that writes events; run `pubdata ledger checkpoint --if-due` from a timer so
    #: that the last events before a quiet period are covered too.
    ledger_checkpoint_seconds: int = 300
    #: Checked queries of the operation domain (OPS-25, OPS-33): each user may run this many per minute on one
    #: grant, with bursts of up to ``opdomain_query_burst`` at once…
    opdomain_query_rate_per_minute: int = 30
    opdomain_query_burst: int = 10
    #: …and all the operator's staff together this many per minute on one grant (bursts of ``…_grant_burst``).
    opdomain_grant_rate_per_minute: int = 120
    opdomain_grant_burst: int = 30
    #: Refused, failed and throttled queries on one grant within one window (seconds) that raise an alert to the
    #: implementing agency, and that suspend the grant until the agency resumes it.
    opdomain_brake_window_seconds: int = 3600
    opdomain_alert_threshold: int = 50
    opdomain_suspend_threshold: int = 200
    #: A query's answer is given no earlier than the next multiple of this many milliseconds after the request
    #: arrived (at least one), so its timing does not reveal data-dependent work (0: off).
    opdomain_answer_quantum_ms: int = 250

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'pubdata.sqlite3'}"

    def resolved_secret_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        path = self.var_dir / "secret_key"
        if not path.exists():
            self.var_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
        return path.read_text().strip()


def _coerce(raw: object, default: object) -> object:
    if isinstance(default, bool):
        return str(raw).lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(raw)  # type: ignore[arg-type]
    if isinstance(default, float):
        return float(raw)  # type: ignore[arg-type]
    if isinstance(default, Path):
        return Path(str(raw))
    return str(raw)


def load_settings(**overrides: object) -> Settings:
    """Read pubdata.toml (if present), then PUBDATA_* environment variables, then explicit overrides."""
    values: dict[str, object] = {}
    defaults = Settings()
    toml_path = Path(os.environ.get("PUBDATA_CONFIG", _project_root() / "pubdata.toml"))
    if toml_path.is_file():
        values.update(tomllib.loads(toml_path.read_text(encoding="utf-8")))
    for f in fields(Settings):
        env = os.environ.get(f"PUBDATA_{f.name.upper()}")
        if env is not None:
            values[f.name] = env
    values.update(overrides)
    known = {f.name for f in fields(Settings)}
    return Settings(**{k: _coerce(v, getattr(defaults, k)) for k, v in values.items() if k in known})


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
