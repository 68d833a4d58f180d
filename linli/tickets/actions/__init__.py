"""Writes of the tickets app. Every function takes ``actor=`` (keyword-only), runs in one transaction, writes the
ticket's event and the audit entry, and queues notifications through linli.notify in that same transaction.

- ``submit``: submit_ticket, add_photos
- ``flow``: accept, reject, withdraw, assign, grab, dispatch (round-robin), reassign, transfer, start, pause,
  resume, resolve, confirm, auto-close, reopen; allowed_actions
- ``feedback``: comment_ticket, rate_ticket
- ``visits``: complete_return_visit (visits are created when a ticket closes)
- ``deadlines``: sweep_deadlines (reminders, overdue flags, escalation, auto-close)
- ``config``: categories, organisations, members, on-duty
"""

from .config import (
    add_member,
    create_category,
    create_organisation,
    remove_member,
    set_on_duty,
    update_category,
    update_organisation,
)
from .deadlines import sweep_deadlines
from .feedback import comment_ticket, rate_ticket
from .flow import (
    accept_ticket,
    allowed_actions,
    assign_ticket,
    auto_close_ticket,
    check_step,
    confirm_ticket,
    dispatch_ticket,
    grab_ticket,
    pause_ticket,
    reassign_ticket,
    reject_ticket,
    reopen_ticket,
    resolve_ticket,
    resume_ticket,
    start_ticket,
    transfer_ticket,
    withdraw_ticket,
)
from .submit import Upload, add_photos, photo_stages, responsible_kind, submit_ticket
from .visits import complete_return_visit

__all__ = [
    "Upload", "accept_ticket", "add_member", "add_photos", "allowed_actions", "assign_ticket", "auto_close_ticket", "check_step",
    "comment_ticket", "complete_return_visit", "confirm_ticket", "create_category", "create_organisation",
    "dispatch_ticket", "grab_ticket", "pause_ticket", "rate_ticket", "reassign_ticket", "reject_ticket",
    "reopen_ticket", "resolve_ticket", "responsible_kind", "resume_ticket", "set_on_duty", "start_ticket",
    "submit_ticket", "sweep_deadlines", "transfer_ticket", "update_category", "withdraw_ticket",
    "remove_member", "update_organisation", "photo_stages",
]
