"""The status table of tickets: (from status, action) -> (to status, who may do it). The only place the flow is
written down; actions look up every step here and an illegal step is a Conflict (409).

Who ("parties") is decided per ticket, not per role, because a resident may act only on their own ticket and an
assignee only on what was given to them:

- ``reporter``: the resident who reported the ticket (their account);
- ``handler``: a user holding ``ticket.handle`` over the ticket's place;
- ``dispatcher``: a user holding ``ticket.dispatch`` over the ticket's place;
- ``assignee``: the user the ticket is assigned to;
- ``member``: an on-duty member of the ticket's responsible organisation (who may grab it);
- ``system``: the periodic tasks (auto-close after N days).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.utils import translation

from linli.core.errors import Conflict

from .choices import TicketStatus as S


class Party(StrEnum):
    REPORTER = "reporter"
    HANDLER = "handler"
    DISPATCHER = "dispatcher"
    ASSIGNEE = "assignee"
    MEMBER = "member"
    SYSTEM = "system"


class Action(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"
    WITHDRAW = "withdraw"
    ASSIGN = "assign"
    GRAB = "grab"
    DISPATCH = "dispatch"  # round-robin: the system picks the on-duty member assigned longest ago
    REASSIGN = "reassign"
    TRANSFER = "transfer"
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    RESOLVE = "resolve"
    CONFIRM = "confirm"
    AUTO_CLOSE = "auto_close"
    REOPEN = "reopen"


@dataclass(frozen=True)
class Step:
    to: str
    parties: frozenset[Party]


R, H, D, A, M, SYS = Party.REPORTER, Party.HANDLER, Party.DISPATCHER, Party.ASSIGNEE, Party.MEMBER, Party.SYSTEM


def _p(*parties: Party) -> frozenset[Party]:
    return frozenset(parties)


# Round-robin dispatch also runs as the system right after an accept or a transfer of a round-robin category.
TABLE: dict[tuple[str, str], Step] = {
    (S.SUBMITTED, Action.ACCEPT): Step(S.ACCEPTED, _p(H)),
    (S.SUBMITTED, Action.REJECT): Step(S.REJECTED, _p(H)),
    (S.SUBMITTED, Action.WITHDRAW): Step(S.WITHDRAWN, _p(R)),
    (S.ACCEPTED, Action.WITHDRAW): Step(S.WITHDRAWN, _p(R)),
    (S.ACCEPTED, Action.ASSIGN): Step(S.DISPATCHED, _p(D)),
    (S.ACCEPTED, Action.GRAB): Step(S.DISPATCHED, _p(M)),
    (S.ACCEPTED, Action.DISPATCH): Step(S.DISPATCHED, _p(D, SYS)),
    (S.ACCEPTED, Action.TRANSFER): Step(S.ACCEPTED, _p(D)),
    (S.REOPENED, Action.ASSIGN): Step(S.DISPATCHED, _p(D)),
    (S.REOPENED, Action.DISPATCH): Step(S.DISPATCHED, _p(D, SYS)),
    (S.REOPENED, Action.TRANSFER): Step(S.ACCEPTED, _p(D)),
    (S.REOPENED, Action.START): Step(S.IN_PROGRESS, _p(A)),
    (S.DISPATCHED, Action.REASSIGN): Step(S.DISPATCHED, _p(D)),
    (S.DISPATCHED, Action.TRANSFER): Step(S.ACCEPTED, _p(D)),
    (S.DISPATCHED, Action.START): Step(S.IN_PROGRESS, _p(A)),
    (S.IN_PROGRESS, Action.REASSIGN): Step(S.DISPATCHED, _p(D)),
    (S.IN_PROGRESS, Action.TRANSFER): Step(S.ACCEPTED, _p(D)),
    (S.IN_PROGRESS, Action.PAUSE): Step(S.PAUSED, _p(A, H)),
    (S.IN_PROGRESS, Action.RESOLVE): Step(S.RESOLVED, _p(A, H)),
    (S.PAUSED, Action.RESUME): Step(S.IN_PROGRESS, _p(A, H)),
    (S.PAUSED, Action.REASSIGN): Step(S.DISPATCHED, _p(D)),
    (S.PAUSED, Action.TRANSFER): Step(S.ACCEPTED, _p(D)),
    (S.RESOLVED, Action.CONFIRM): Step(S.CLOSED, _p(R)),
    (S.RESOLVED, Action.AUTO_CLOSE): Step(S.CLOSED, _p(SYS)),
    (S.RESOLVED, Action.REOPEN): Step(S.REOPENED, _p(R, H)),
    (S.CLOSED, Action.REOPEN): Step(S.REOPENED, _p(R, H)),  # within the category's reopen window
}

# Statuses in which the clocks run: the response clock before any response, the resolution clock after it.
AWAITING_RESPONSE = frozenset({S.SUBMITTED})
RESOLUTION_RUNNING = frozenset({S.ACCEPTED, S.DISPATCHED, S.IN_PROGRESS, S.REOPENED})
OPEN = frozenset({S.SUBMITTED, S.ACCEPTED, S.DISPATCHED, S.IN_PROGRESS, S.PAUSED, S.REOPENED})
FINAL = frozenset({S.REJECTED, S.WITHDRAWN, S.CLOSED})


def step(status: str, action: str) -> Step:
    """The step ``action`` takes from ``status``; a Conflict naming both when the table has none."""
    found = TABLE.get((status, action))
    if found is None:
        raise illegal(status, action)
    return found


def status_zh(status: str) -> str:
    """The Chinese name of a status whatever language is active (the zh message is always Chinese)."""
    with translation.override("zh-hans"):
        return str(S(status).label) if status in S.values else status


def illegal(status: str, action: str) -> Conflict:
    return Conflict(f"工单当前状态为“{status_zh(status)}”，不能执行“{ACTION_LABELS_ZH.get(action, action)}”",
                    f"the ticket is {status}: {action} is not allowed now", code="illegal_transition")


def actions_from(status: str) -> list[str]:
    return [a for (s, a) in TABLE if s == status]


ACTION_LABELS_ZH: dict[str, str] = {
    Action.ACCEPT: "受理", Action.REJECT: "不予受理", Action.WITHDRAW: "撤回", Action.ASSIGN: "派单",
    Action.GRAB: "抢单", Action.DISPATCH: "轮派", Action.REASSIGN: "改派", Action.TRANSFER: "转办",
    Action.START: "开始处理", Action.PAUSE: "挂起", Action.RESUME: "恢复处理", Action.RESOLVE: "办结",
    Action.CONFIRM: "确认办结", Action.AUTO_CLOSE: "自动关闭", Action.REOPEN: "重新打开",
}
