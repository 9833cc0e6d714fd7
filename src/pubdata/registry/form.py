"""The registration form (REG-6..15) and what each application type must carry (REG-25).

A form is a JSON object of field groups. Drafts are checked for well-formed values only, so they can be
saved incomplete; submission also checks completeness and the conditional parts, and every problem is
reported at once, each at its dotted field path (``co_ownership.co_owners.1.uscc``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pubdata.errors import FieldError
from pubdata.identity.validation import uscc_error
from pubdata.reference.industries import get_industry
from pubdata.reference.regions import get_region
from pubdata.registry import vocab

Content = Mapping[str, Any]
Cond = Callable[[Content], bool]
DIGEST_RE = re.compile(r"^[0-9a-f]{64}$")


def _get(content: Content, path: str) -> Any:
    node: Any = content
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def _is(path: str, value: Any) -> Cond:
    return lambda c: _get(c, path) == value


ALWAYS: Cond = lambda c: True  # noqa: E731
RESOURCE = _is("basic.registration_type", "data_resource")
PRODUCT = _is("basic.registration_type", "data_product")
OPEN_DATA = _is("basic.registration_type", "open_data")


@dataclass(frozen=True)
class Field:
    path: str
    label: str
    #: text | long_text | bool | date | int | enum:<vocabulary> | regions | industries | tags | file | files | uscc
    kind: str
    required: Cond = ALWAYS
    max_len: int = 200


F = Field
FIELDS: tuple[Field, ...] = (
    # REG-7 basic information
    F("basic.name", "登记数据名称", "text", max_len=100),
    F("basic.registration_type", "数据登记类型", "enum:registration_type"),
    F("basic.category", "数据分类", "enum:data_category"),
    F("basic.grade", "数据分级", "enum:data_grade"),
    F("basic.industries", "行业分类", "industries"),
    F("basic.regions", "资源覆盖地区", "regions"),
    F("basic.summary", "数据内容简介", "long_text", max_len=2000),
    F("basic.tags", "数据标签", "tags"),
    # REG-7 type 数据资源
    F("resource.coverage_start", "数据覆盖时间（起）", "date", RESOURCE),
    F("resource.coverage_end", "数据覆盖时间（止）", "date", lambda c: False),
    F("resource.authorized", "是否已授权运营", "bool", RESOURCE),
    F("resource.operator_name", "授权运营主体名称", "text", lambda c: RESOURCE(c) and _get(c, "resource.authorized") is True),
    F("resource.operator_uscc", "授权运营主体代码", "uscc", lambda c: RESOURCE(c) and _get(c, "resource.authorized") is True),
    F("resource.authorization_start", "授权运营时间（起）", "date", lambda c: RESOURCE(c) and _get(c, "resource.authorized") is True),
    F("resource.authorization_end", "授权运营时间（止）", "date", lambda c: RESOURCE(c) and _get(c, "resource.authorized") is True),
    F("resource.security_assessment", "数据安全评估报告", "file", RESOURCE),
    # REG-7 type 数据产品和服务
    F("product.product_type", "数据产品和服务类型", "enum:product_type", PRODUCT),
    F("product.source_registration_name", "被授权数据资源登记名称", "text", PRODUCT, 100),
    F("product.source_registration_code", "被授权数据资源登记编码", "text", PRODUCT, 40),
    F("product.authorization_start", "被授权运营时间（起）", "date", PRODUCT),
    F("product.authorization_end", "被授权运营时间（止）", "date", PRODUCT),
    F("product.purpose", "产品用途", "long_text", PRODUCT, 1000),
    # national third type 开放数据资源
    F("open_data.channel", "开放渠道（网址或平台）", "text", OPEN_DATA, 300),
    F("open_data.license", "开放许可与使用条件", "long_text", OPEN_DATA, 1000),
    # REG-8 agency
    F("agency.is_agent", "是否委托代理登记", "bool"),
    F("agency.principal_name", "委托登记主体名称", "text", _is("agency.is_agent", True)),
    F("agency.principal_uscc", "委托登记主体代码", "uscc", _is("agency.is_agent", True)),
    F("agency.start", "委托代理时间（起）", "date", _is("agency.is_agent", True)),
    F("agency.end", "委托代理时间（止）", "date", _is("agency.is_agent", True)),
    F("agency.agreement", "委托代理协议书", "file", _is("agency.is_agent", True)),
    # REG-9 storage
    F("storage.production_method", "数据产生方式", "enum:production_method"),
    F("storage.structure", "数据结构", "enum:data_structure"),
    F("storage.delivery_format", "数据提供格式", "enum:delivery_format"),
    F("storage.storage_method", "数据存储方式", "enum:storage_method"),
    F("storage.initial_volume", "数据存储量（初始）", "int"),
    F("storage.volume_unit", "存储量单位", "enum:volume_unit"),
    F("storage.update_frequency", "更新频率", "enum:update_frequency"),
    F("storage.update_method", "更新方式", "enum:update_method"),
    F("storage.growth_volume", "数据存储量（增长）", "int"),
    F("storage.contains_sensitive", "是否包含敏感信息", "bool"),
    F("storage.subjects_involved", "涉及主体", "text", _is("storage.contains_sensitive", True)),
    F("storage.subject_count", "数据覆盖数量", "int"),
    F("storage.desensitised", "是否脱敏", "bool", _is("storage.contains_sensitive", True)),
    F("storage.desensitisation_method", "脱敏方式", "text", _is("storage.desensitised", True)),
    F("storage.evidence_method", "存证方式", "enum:evidence_method"),
    F("storage.evidence_description", "存证说明", "long_text", max_len=1000),
    F("storage.evidence_proof", "存证证明文件", "file", lambda c: _get(c, "storage.evidence_method") != "platform"),
    F("storage.evidence_receipt_no", "平台存证回执编号", "text", _is("storage.evidence_method", "platform"), 40),
    # REG-10 scenario
    F("scenario.conditions", "适用条件", "long_text", max_len=1000),
    F("scenario.scope", "适用范围", "long_text", max_len=1000),
    F("scenario.audience", "适用对象", "long_text", max_len=1000),
    F("scenario.problems", "解决的主要问题", "long_text", max_len=2000),
    # REG-11 sharing and opening
    F("sharing.sharing_type", "数据共享类型", "enum:sharing_type"),
    F("sharing.conditions", "共享条件", "long_text", _is("sharing.sharing_type", "conditional"), 1000),
    F("sharing.method", "共享方式", "enum:sharing_method", lambda c: _get(c, "sharing.sharing_type") != "none"),
    F("sharing.open_to_public", "是否向社会开放", "bool"),
    F("sharing.opening_conditions", "开放条件", "long_text", _is("sharing.open_to_public", True), 1000),
    # REG-12 co-owned data (the list itself is checked in _co_owner_errors)
    F("co_ownership.co_owned", "是否共有数据", "bool"),
    # REG-13 lawful source and commitment
    F("legality.source_proofs", "依法获取数据的证明材料", "files"),
    F("legality.commitment", "合法合规承诺", "bool"),
    # REG-14 catalog basis
    F("catalog.based_on_existing", "是否基于已有成果填报数据目录", "bool"),
    F("catalog.reference", "已有目录成果名称或编号", "text", _is("catalog.based_on_existing", True)),
    # REG-15 additional materials
    F("additional.materials", "附加材料", "files", lambda c: False),
    F("additional.note", "附加说明", "long_text", lambda c: False, 2000),
)

CO_OWNER_FIELDS: tuple[Field, ...] = (
    F("name", "共有主体名称", "text"),
    F("uscc", "统一社会信用代码", "uscc"),
    F("nature", "共有主体性质", "enum:co_owner_nature"),
    F("registered_place", "共有主体注册地", "regions1"),
    F("authorisation", "共有主体授权书", "file"),
)

COMMITMENT_TEXT = (
    "本单位承诺：所登记的公共数据资源来源合法、内容合规，提交的材料真实、准确、完整、有效，"
    "不含违法违规、虚假、遗漏或误导性信息；如有不实，愿承担相应法律责任。（《实施细则》第十三条、第二十条）"
)


DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_date(value: Any) -> dt.date | None:
    if not isinstance(value, str) or not DATE_RE.match(value):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _check(field: Field, path: str, value: Any) -> FieldError | None:
    """Whether a present value is well-formed; None when it is."""
    kind = field.kind
    bad = lambda code, msg: FieldError(path, code, f"{field.label}：{msg}")  # noqa: E731
    if kind in {"text", "long_text"}:
        if not isinstance(value, str):
            return bad("not_text", "应为文字。")
        if len(value.strip()) > field.max_len:
            return bad("too_long", f"不超过 {field.max_len} 字。")
    elif kind == "bool":
        if not isinstance(value, bool):
            return bad("not_boolean", "应为“是”或“否”。")
    elif kind == "int":
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            return bad("not_count", "应为非负整数。")
    elif kind == "date":
        if parse_date(value) is None:
            return bad("bad_date", "日期格式应为 YYYY-MM-DD。")
    elif kind.startswith("enum:"):
        vocabulary = kind.split(":", 1)[1]
        if value not in vocab.items(vocabulary):
            allowed = "、".join(vocab.items(vocabulary).values())
            return bad("not_in_vocabulary", f"取值应为：{allowed}。")
    elif kind == "uscc":
        if not isinstance(value, str) or uscc_error(value, path) is not None:
            return bad("uscc_invalid", "统一社会信用代码无效（GB 32100 校验不通过）。")
    elif kind == "file":
        if not isinstance(value, str) or not DIGEST_RE.match(value):
            return bad("bad_attachment", "请上传文件（应为 64 位 SM3 摘要）。")
    elif kind in {"files", "regions", "industries", "tags"}:
        if not isinstance(value, list):
            return bad("not_list", "应为列表。")
    elif kind == "regions1":
        if not isinstance(value, str) or get_region(value) is None:
            return bad("unknown_region", f"行政区划代码 {value} 不存在（GB/T 2260）。")
    return None


def _list_errors(field: Field, path: str, values: list[Any]) -> list[FieldError]:
    errors: list[FieldError] = []
    for i, v in enumerate(values):
        p = f"{path}.{i}"
        if field.kind == "regions" and (not isinstance(v, str) or get_region(v) is None):
            errors.append(FieldError(p, "unknown_region", f"{field.label}：行政区划代码 {v} 不存在（GB/T 2260）。"))
        elif field.kind == "industries" and (not isinstance(v, str) or get_industry(v) is None):
            errors.append(FieldError(p, "unknown_industry", f"{field.label}：行业代码 {v} 不存在（GB/T 4754-2017）。"))
        elif field.kind == "tags" and (not isinstance(v, str) or not v.strip() or len(v) > 20):
            errors.append(FieldError(p, "bad_tag", f"{field.label}：每个标签 1–20 字。"))
        elif field.kind == "files" and (not isinstance(v, str) or not DIGEST_RE.match(v)):
            errors.append(FieldError(p, "bad_attachment", f"{field.label}：应为 64 位 SM3 摘要。"))
    if field.kind == "tags" and len(values) > 20:
        errors.append(FieldError(path, "too_many", f"{field.label}：最多 20 个。"))
    return errors


def _fields_errors(fields: tuple[Field, ...], content: Content, prefix: str, complete: bool,
                   condition_on: Content) -> list[FieldError]:
    errors: list[FieldError] = []
    for field in fields:
        path = f"{prefix}{field.path}"
        value = _get(content, field.path)
        if _empty(value):
            if complete and field.required(condition_on):
                errors.append(FieldError(path, "required", f"请填写“{field.label}”。"))
            continue
        if (err := _check(field, path, value)) is not None:
            errors.append(err)
        elif isinstance(value, list):
            errors.extend(_list_errors(field, path, value))
    return errors


def _range_errors(content: Content) -> list[FieldError]:
    errors = []
    for group, start, end, label in (
        ("resource", "coverage_start", "coverage_end", "数据覆盖时间"),
        ("resource", "authorization_start", "authorization_end", "授权运营时间"),
        ("product", "authorization_start", "authorization_end", "被授权运营时间"),
        ("agency", "start", "end", "委托代理时间"),
    ):
        a, b = parse_date(_get(content, f"{group}.{start}")), parse_date(_get(content, f"{group}.{end}"))
        if a and b and a > b:
            errors.append(FieldError(f"{group}.{end}", "end_before_start", f"{label}：结束日期不能早于开始日期。"))
    return errors


def _co_owner_errors(content: Content, complete: bool) -> list[FieldError]:
    owners = _get(content, "co_ownership.co_owners")
    if _empty(owners):
        if complete and _get(content, "co_ownership.co_owned") is True:
            return [FieldError("co_ownership.co_owners", "required", "共有数据须填写至少一个共有主体（第十二条）。")]
        return []
    if not isinstance(owners, list):
        return [FieldError("co_ownership.co_owners", "not_list", "共有主体应为列表。")]
    errors: list[FieldError] = []
    seen: set[str] = set()
    for i, owner in enumerate(owners):
        prefix = f"co_ownership.co_owners.{i}."
        if not isinstance(owner, Mapping):
            errors.append(FieldError(prefix[:-1], "not_object", "共有主体格式不正确。"))
            continue
        errors.extend(_fields_errors(CO_OWNER_FIELDS, owner, prefix, complete, owner))
        code = owner.get("uscc")
        if isinstance(code, str) and code in seen:
            errors.append(FieldError(f"{prefix}uscc", "duplicate_co_owner", "共有主体重复。"))
        seen.add(code if isinstance(code, str) else "")
    return errors


def content_errors(content: Any, *, complete: bool) -> list[FieldError]:
    """Every problem with a form; ``complete`` also demands the required and conditional fields."""
    if not isinstance(content, Mapping):
        return [FieldError("content", "not_object", "登记内容格式不正确。")]
    errors = _fields_errors(FIELDS, content, "", complete, content)
    errors += _range_errors(content)
    errors += _co_owner_errors(content, complete)
    if complete and _get(content, "legality.commitment") is False:
        errors.append(FieldError("legality.commitment", "commitment_required", "须作出合法合规承诺方可提交（第十三条）。"))
    return errors


def attachment_digests(content: Content) -> list[tuple[str, str]]:
    """(field path, digest) of every attachment the form references."""
    out: list[tuple[str, str]] = []
    for field in FIELDS:
        value = _get(content, field.path)
        if field.kind == "file" and isinstance(value, str):
            out.append((field.path, value))
        elif field.kind == "files" and isinstance(value, list):
            out += [(f"{field.path}.{i}", v) for i, v in enumerate(value) if isinstance(v, str)]
    owners = _get(content, "co_ownership.co_owners")
    if isinstance(owners, list):
        for i, owner in enumerate(owners):
            if isinstance(owner, Mapping) and isinstance(owner.get("authorisation"), str):
                out.append((f"co_ownership.co_owners.{i}.authorisation", owner["authorisation"]))
    return out


def normalise_name(name: str) -> str:
    """For duplicate checks (REG-30): width, case, spaces and punctuation do not make a new name."""
    import unicodedata

    folded = unicodedata.normalize("NFKC", name or "").lower()
    return "".join(ch for ch in folded if ch.isalnum())
