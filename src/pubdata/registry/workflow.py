"""The registration procedure as explicit state machines, one per application type (REG-23..30, REG-37).

first / change / correction: draft → submitted → under_review (accepted) → in_notice → certified, with
supplement requests (REG-26, one notice listing everything), refusal to accept, review failure (REG-27),
refusal to register (REG-30), and withdrawal by the applicant before a decision.
cancellation: … → under_review → cancelled, completed within 10 WD of acceptance (REG-25(四)); no notice period.
renewal (REG-37): … → under_review → certified (a new certificate from the day after the old one expires).
"""

from __future__ import annotations

from enum import StrEnum

from pubdata.workflow import StateMachine


class Kind(StrEnum):
    FIRST = "first"
    CHANGE = "change"
    CORRECTION = "correction"
    CANCELLATION = "cancellation"
    RENEWAL = "renewal"

    @property
    def label(self) -> str:
        return KIND_LABELS[self]


KIND_LABELS = {Kind.FIRST: "首次登记", Kind.CHANGE: "变更登记", Kind.CORRECTION: "更正登记",
               Kind.CANCELLATION: "注销登记", Kind.RENEWAL: "凭证续展"}

STATE_LABELS = {
    "draft": "草稿", "submitted": "已提交待受理", "supplement_requested": "待补正", "not_accepted": "不予受理",
    "under_review": "已受理审查中", "review_failed": "审查未通过", "in_notice": "公示中", "certified": "已发证",
    "cancelled": "已注销", "refused": "不予登记", "withdrawn": "已撤回",
}
ACTION_LABELS = {
    "submit": "提交", "resubmit": "补正后重新提交", "accept": "受理", "request_supplement": "一次性告知补正",
    "not_accept": "不予受理", "pass": "审查通过", "fail": "审查不通过", "refuse": "不予登记",
    "certify": "公示期满发证", "complete": "完成注销", "withdraw": "撤回",
}
#: States in which the applicant is still waiting for the institution (overdue checks, queues).
OPEN_STATES = frozenset({"submitted", "supplement_requested", "under_review", "in_notice"})
FINAL_STATES = frozenset({"not_accepted", "review_failed", "certified", "cancelled", "refused", "withdrawn"})

_COMMON = {
    ("draft", "submit"): "submitted",
    ("draft", "withdraw"): "withdrawn",
    ("submitted", "accept"): "under_review",
    ("submitted", "request_supplement"): "supplement_requested",
    ("submitted", "not_accept"): "not_accepted",
    ("submitted", "withdraw"): "withdrawn",
    ("supplement_requested", "resubmit"): "submitted",
    ("supplement_requested", "withdraw"): "withdrawn",
    ("under_review", "fail"): "review_failed",
    ("under_review", "withdraw"): "withdrawn",
}
_WITH_NOTICE = {
    **_COMMON,
    ("under_review", "pass"): "in_notice",
    ("under_review", "refuse"): "refused",
    ("in_notice", "certify"): "certified",
    ("in_notice", "refuse"): "refused",
}


def _machine(kind: Kind, transitions: dict[tuple[str, str], str]) -> StateMachine:
    return StateMachine(name=KIND_LABELS[kind], transitions=transitions, labels={**STATE_LABELS, **ACTION_LABELS})


MACHINES: dict[Kind, StateMachine] = {
    Kind.FIRST: _machine(Kind.FIRST, _WITH_NOTICE),
    Kind.CHANGE: _machine(Kind.CHANGE, _WITH_NOTICE),
    Kind.CORRECTION: _machine(Kind.CORRECTION, _WITH_NOTICE),
    Kind.CANCELLATION: _machine(Kind.CANCELLATION, {**_COMMON, ("under_review", "complete"): "cancelled"}),
    Kind.RENEWAL: _machine(Kind.RENEWAL, {**_COMMON, ("under_review", "pass"): "certified",
                                          ("under_review", "refuse"): "refused"}),
}

#: Who performs each action: the applicant's side or the registration institution (or the sweep).
APPLICANT_ACTIONS = frozenset({"submit", "resubmit", "withdraw"})
INSTITUTION_ACTIONS = frozenset({"accept", "request_supplement", "not_accept", "pass", "fail", "refuse", "complete"})
SYSTEM_ACTIONS = frozenset({"certify"})
