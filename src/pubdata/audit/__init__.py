"""Append-only audit trail. Every change of state writes an event in the same transaction."""

from pubdata.audit.actor import Actor
from pubdata.audit.models import AuditEvent
from pubdata.audit.service import record

__all__ = ["Actor", "AuditEvent", "record"]
