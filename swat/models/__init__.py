"""SQLAlchemy models: persistence only, no rules."""

from .base import Base
from .reference import Department, EscalationStep, GovernanceBody, Initiative, Theme
from .routing import MemberAbsence, ReferenceDocument, RoutingProposal, SlaEvent, TicketSla
from .ticket import Attachment, Message, Ticket, TicketCounter, TicketEvent, TicketInitiative
from .user import LoginAttempt, User, UserSession

__all__ = [
    "Attachment",
    "Base",
    "Department",
    "EscalationStep",
    "GovernanceBody",
    "Initiative",
    "LoginAttempt",
    "MemberAbsence",
    "Message",
    "ReferenceDocument",
    "RoutingProposal",
    "SlaEvent",
    "Theme",
    "Ticket",
    "TicketCounter",
    "TicketEvent",
    "TicketInitiative",
    "TicketSla",
    "User",
    "UserSession",
]
