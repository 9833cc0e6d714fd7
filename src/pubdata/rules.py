"""Every statutory number in one place, each with the article it comes from.

A revised regulation should be a change here, not in the code that uses these numbers. Units are
explicit: ``WD`` = working days (工作日, official calendar, start day not counted), ``D`` = calendar
days, ``Y`` = years. Article ids follow ../shared/REQUIREMENTS.md (REG-n registration rules, OPS-n
authorized-operation rules); the Chinese originals win over any summary.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Unit(StrEnum):
    WORKING_DAYS = "WD"
    DAYS = "D"
    YEARS = "Y"

    @property
    def label(self) -> str:
        return {"WD": "个工作日", "D": "日", "Y": "年"}[self.value]


@dataclass(frozen=True)
class Rule:
    key: str
    article: str
    value: int
    unit: Unit
    #: The rule in the regulation's words, shortened.
    text: str

    def __str__(self) -> str:
        return f"{self.text}：{self.value}{self.unit.label}（{self.article}）"


def _rule(key: str, article: str, value: int, unit: Unit, text: str) -> Rule:
    return Rule(key, article, value, unit, text)


WD, D, Y = Unit.WORKING_DAYS, Unit.DAYS, Unit.YEARS

FIRST_REGISTRATION = _rule("first_registration", "REG-25(一)", 20, WD, "开展授权运营或交付产品后提交首次登记")
FIRST_REGISTRATION_TRANSITIONAL = _rule(
    "first_registration_transitional", "REG-25(一)", 30, WD, "细则施行前已开展授权运营的，施行后提交首次登记"
)
CHANGE_MAJOR = _rule("change_major", "REG-25(二)", 5, WD, "重要更新或重大变化发生后提出变更登记")
CHANGE_NAME = _rule("change_name", "REG-25(二)", 10, WD, "名称等变更核准后提出变更登记")
CANCELLATION_COMPLETE = _rule("cancellation_complete", "REG-25(四)", 10, WD, "登记机构自受理之日起完成注销")
ACCEPTANCE = _rule("acceptance", "REG-26", 3, WD, "登记机构自收到申请之日起予以受理")
REVIEW = _rule("review", "REG-27", 20, WD, "登记机构自受理之日起完成审核")
PUBLIC_NOTICE = _rule("public_notice", "REG-28", 10, WD, "审查通过后公示期")
CERTIFICATE_VALIDITY = _rule("certificate_validity", "REG-37", 3, Y, "电子凭证有效期（自发证之日起）")
RENEWAL_WINDOW = _rule("renewal_window", "REG-37", 60, D, "期满前可申请续展的期间")
RENEWAL_MAX = _rule("renewal_max", "REG-37", 3, Y, "每次续展期最长（不超过授权运营期限）")
REGISTRATION_RULES_TERM = _rule("registration_rules_term", "REG-47", 2, Y, "登记细则有效期")
AGREEMENT_MAX_TERM = _rule("agreement_max_term", "OPS-20", 5, Y, "授权运营协议运营期限原则上最长")
RECORD_RETENTION = _rule("record_retention", "OPS-37", 20, Y, "授权运营信息及凭证资料保存期限不少于")

ALL: tuple[Rule, ...] = tuple(v for v in list(globals().values()) if isinstance(v, Rule))
BY_KEY: dict[str, Rule] = {r.key: r for r in ALL}
