"""SQLAlchemy models: persistence only, no rules."""

from .audit import AuditEvent
from .base import Base
from .canned import CannedReply, Draft
from .mail import InboundMail
from .notify import Escalation, Notification, OutboxMessage, ReportMailing
from .queue_view import QueueView
from .reference import Department, EscalationStep, GovernanceBody, Initiative, Theme
from .report import ReportFact, ReportMonth, ReportTimeBucket, ReportTimeCount
from .routing import MemberAbsence, ReferenceDocument, RoutingProposal
from .search import SearchDocument
from .sla import SlaEvent, TicketSla
from .ticket import Attachment, Message, Ticket, TicketCounter, TicketEvent, TicketInitiative, TicketLink
from .user import (
    JobRun,
    LoginAttempt,
    PasswordReset,
    PasswordResetRequest,
    RecoveryCode,
    SchedulerHeartbeat,
    SignInThrottle,
    User,
    UserSession,
)

__all__ = [
    "Attachment",
    "AuditEvent",
    "Base",
    "CannedReply",
    "Department",
    "Draft",
    "Escalation",
    "EscalationStep",
    "GovernanceBody",
    "InboundMail",
    "Initiative",
    "LoginAttempt",
    "MemberAbsence",
    "Message",
    "Notification",
    "OutboxMessage",
    "PasswordReset",
    "PasswordResetRequest",
    "JobRun",
    "SchedulerHeartbeat",
    "QueueView",
    "RecoveryCode",
    "ReferenceDocument",
    "ReportFact",
    "ReportMailing",
    "ReportMonth",
    "ReportTimeBucket",
    "ReportTimeCount",
    "SearchDocument",
    "SignInThrottle",
    "RoutingProposal",
    "SlaEvent",
    "Theme",
    "Ticket",
    "TicketCounter",
    "TicketEvent",
    "TicketInitiative",
    "TicketLink",
    "TicketSla",
    "User",
    "UserSession",
]
