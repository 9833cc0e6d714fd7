"""The registration form (``registry.form``) as render-ready sections, and posted form values back to content.

Pages render ``FIELDS`` grouped by section with the input each kind needs; a posted form whose input names
are the dotted field paths becomes the nested content the services validate. What does not apply — the
sections of the other registration types (REG-7), the details behind a "否" (agency REG-8, sensitive data
REG-9, co-owners REG-12 …) — is shown with a note when the controlling answer is still open, hidden by
``static/applicant.js`` once it is given, and dropped from the content here so that it is neither kept nor
validated. Nothing here touches the database.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol

from pubdata.reference import industries as industry_table
from pubdata.reference import regions as region_table
from pubdata.registry import vocab, wording
from pubdata.registry.form import ALWAYS, CO_OWNER_FIELDS, COMMITMENT_TEXT, FIELDS, Field, _get
from pubdata.registry.requirements import DOCUMENT_LABELS, REQUIRED
from pubdata.registry.workflow import Kind

#: Name prefixes of the inputs that are not content values themselves.
UPLOAD = "file:"  # <input type=file name="file:resource.security_assessment">
REMOVE = "remove:"  # checkbox dropping a kept attachment or a co-owner row
MORE = "more:"  # free text next to a picker (further region codes)
CO_OWNERS = "co_ownership.co_owners"
TAG_SPLIT = re.compile(r"[,，、;；\s]+")
#: Form spelling of the yes/no answers.
YES, NO = "true", "false"


@dataclass(frozen=True)
class When:
    """A field or section applies when ``controller`` has one of ``values`` (form spelling); ``negate`` inverts."""

    controller: str
    values: frozenset[str]
    negate: bool = False

    def note(self) -> str:
        label = LABELS.get(self.controller, self.controller)
        answers = "、".join(f"“{_answer_label(self.controller, v)}”" for v in sorted(self.values))
        return f"“{label}”{'不' if self.negate else ''}选择{answers}时填写"


def _when(controller: str, *values: str, negate: bool = False) -> When:
    return When(controller, frozenset(values), negate)


#: Dependent fields (REG-7..14): shown and kept only when their controlling answer calls for them.
DEPENDS: dict[str, When] = {
    **{f"resource.{k}": _when("resource.authorized", YES)
       for k in ("operator_name", "operator_uscc", "authorization_start", "authorization_end")},
    **{f"agency.{k}": _when("agency.is_agent", YES) for k in ("principal_name", "principal_uscc", "start", "end",
                                                             "agreement")},
    "storage.subjects_involved": _when("storage.contains_sensitive", YES),
    "storage.desensitised": _when("storage.contains_sensitive", YES),
    "storage.desensitisation_method": _when("storage.desensitised", YES),
    "storage.evidence_proof": _when("storage.evidence_method", "platform", negate=True),
    "storage.evidence_receipt_no": _when("storage.evidence_method", "platform"),
    "sharing.conditions": _when("sharing.sharing_type", "conditional"),
    "sharing.method": _when("sharing.sharing_type", "none", negate=True),
    "sharing.opening_conditions": _when("sharing.open_to_public", YES),
    "catalog.reference": _when("catalog.based_on_existing", YES),
    CO_OWNERS: _when("co_ownership.co_owned", YES),
}


@dataclass(frozen=True)
class SectionSpec:
    key: str
    title: str
    article: str
    #: The registration type the section belongs to (REG-7), None for every type.
    registration_type: str | None = None


SECTION_SPECS: tuple[SectionSpec, ...] = (
    SectionSpec("basic", "基本信息", "第七条"),
    SectionSpec("resource", "数据资源", "第七条", "data_resource"),
    SectionSpec("product", "数据产品和服务", "第七条", "data_product"),
    SectionSpec("open_data", "开放数据资源", "国家登记平台第三类", "open_data"),
    SectionSpec("agency", "委托代理", "第八条"),
    SectionSpec("storage", "存储与更新", "第九条"),
    SectionSpec("scenario", "应用场景", "第十条"),
    SectionSpec("sharing", "共享开放", "第十一条"),
    SectionSpec("co_ownership", "共有数据", "第十二条"),
    SectionSpec("legality", "合法来源与承诺", "第十三条"),
    SectionSpec("catalog", "目录依据", "第十四条"),
    SectionSpec("additional", "附加材料", "第十五条"),
)
TYPE_OF_GROUP = {s.key: s.registration_type for s in SECTION_SPECS if s.registration_type}
LABELS = {f.path: f.label for f in FIELDS}

#: Answers that make every conditional field required, to tell "required when it applies" from "optional".
_PROBES: tuple[dict[str, Any], ...] = tuple(
    {"basic": {"registration_type": t}, "resource": {"authorized": True}, "agency": {"is_agent": True},
     "storage": {"contains_sensitive": True, "desensitised": True, "evidence_method": method},
     "sharing": {"sharing_type": "conditional", "open_to_public": True},
     "co_ownership": {"co_owned": True}, "catalog": {"based_on_existing": True}}
    for t in vocab.items("registration_type") for method in ("third_party", "platform"))

WIDGETS = {"text": "text", "uscc": "uscc", "long_text": "textarea", "bool": "bool", "date": "date", "int": "number",
           "regions": "regions", "industries": "industries", "tags": "tags", "file": "file", "files": "files",
           "regions1": "region1"}


def _answer_label(path: str, value: str) -> str:
    if value in (YES, NO):
        return "是" if value == YES else "否"
    kind = next((f.kind for f in FIELDS if f.path == path), "")
    return vocab.label(kind.split(":", 1)[1], value) if kind.startswith("enum:") else value


@dataclass(frozen=True)
class FieldView:
    path: str
    label: str
    kind: str
    widget: str
    #: "always" | "applies" (required whenever it applies) | "optional"
    need: str
    options: tuple[tuple[str, str], ...] = ()
    when: When | None = None
    max_len: int = 200

    @property
    def dom_id(self) -> str:
        return dom_id(self.path)

    @property
    def required_mark(self) -> bool:
        return self.need != "optional"


@dataclass(frozen=True)
class SectionView:
    spec: SectionSpec
    fields: tuple[FieldView, ...]
    when: When | None = None

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def type_note(self) -> str:
        return f"仅适用于登记类型“{vocab.label('registration_type', self.spec.registration_type)}”" \
            if self.spec.registration_type else ""


def dom_id(path: str) -> str:
    """The element id of a field's input: ``f-`` and the path with dots as hyphens (ids stay CSS-safe)."""
    return "f-" + path.replace(".", "-")


def _need(f: Field) -> str:
    if f.required is ALWAYS:
        return "always"
    return "applies" if any(f.required(p) for p in _PROBES) else "optional"


def field_view(f: Field, prefix: str = "") -> FieldView:
    widget = "select" if f.kind.startswith("enum:") else WIDGETS[f.kind]
    if f.path == "legality.commitment":
        widget = "commitment"
    options = tuple(vocab.items(f.kind.split(":", 1)[1]).items()) if widget == "select" else ()
    return FieldView(prefix + f.path, f.label, f.kind, widget, _need(f), options, DEPENDS.get(f.path), f.max_len)


@cache
def sections() -> tuple[SectionView, ...]:
    out = []
    for spec in SECTION_SPECS:
        fields = tuple(field_view(f) for f in FIELDS if f.path.split(".", 1)[0] == spec.key)
        when = _when("basic.registration_type", spec.registration_type) if spec.registration_type else None
        out.append(SectionView(spec, fields, when))
    return tuple(out)


CO_OWNER_VIEWS: tuple[FieldView, ...] = tuple(field_view(f) for f in CO_OWNER_FIELDS)
COMMITMENT = COMMITMENT_TEXT


# -- pickers -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OptionGroup:
    label: str
    options: tuple[tuple[str, str], ...]


@cache
def region_groups() -> tuple[OptionGroup, ...]:
    """全国 and the provinces, then Gansu's prefectures with their counties; other codes go in a text box."""
    top = [(region_table.WHOLE_COUNTRY, "全国")] + [(r.code, r.name) for r in region_table.regions(level="province")]
    groups = [OptionGroup("全国与省级", tuple(top))]
    for pref in region_table.regions(parent=region_table.GANSU):
        children = region_table.regions(parent=pref.code)
        groups.append(OptionGroup(pref.name, ((pref.code, f"{pref.name}（全市州）"),
                                              *((c.code, f"{pref.name} {c.name}") for c in children))))
    return tuple(groups)


@cache
def region_choices() -> frozenset[str]:
    return frozenset(code for g in region_groups() for code, _ in g.options)


@cache
def industry_groups() -> tuple[OptionGroup, ...]:
    """GB/T 4754-2017: each section (门类) with its divisions (大类)."""
    groups = []
    for section in industry_table.table().select(level="section"):
        divisions = industry_table.table().select(parent=section.code)
        groups.append(OptionGroup(f"{section.code} {section.name}", (
            (section.code, f"{section.code} {section.name}（整个门类）"),
            *((d.code, f"{d.code} {d.name}") for d in divisions))))
    return tuple(groups)


# -- posted form → content -----------------------------------------------------------------------------------


class FormLike(Protocol):
    def getlist(self, key: str) -> list[Any]: ...

    def __iter__(self) -> Any: ...


def _strings(form: FormLike, name: str) -> list[str]:
    return [v for v in form.getlist(name) if isinstance(v, str)]


def _last(form: FormLike, name: str) -> str:
    values = _strings(form, name)
    return values[-1].strip() if values else ""


def _dedupe(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def _parse_value(f: Field, form: FormLike, name: str, uploads: Mapping[str, list[str]]) -> Any:
    """The content value of one input (None when empty); malformed values are kept for content_errors to name."""
    if f.kind == "file":
        kept = "" if _strings(form, REMOVE + name) else _last(form, name)
        new = uploads.get(name) or []
        return new[-1] if new else (kept or None)
    if f.kind == "files":
        removed = set(_strings(form, REMOVE + name))
        kept = [v.strip() for v in _strings(form, name) if v.strip() and v.strip() not in removed]
        return _dedupe(kept + list(uploads.get(name) or [])) or None
    if f.kind in {"regions", "industries"}:
        picked = [v.strip() for v in _strings(form, name)]
        more = [v.upper() for v in TAG_SPLIT.split(_last(form, MORE + name)) if v]
        return _dedupe(picked + more) or None
    if f.kind == "tags":
        return _dedupe([t for t in TAG_SPLIT.split(_last(form, name)) if t]) or None
    raw = _last(form, name)
    if f.kind == "bool":
        if f.path == "legality.commitment":
            return raw == YES  # a checkbox: unticked is a refusal to commit
        return {YES: True, NO: False}.get(raw)
    if not raw:
        return None
    if f.kind == "int":
        return int(raw) if raw.isdigit() else raw
    if f.kind == "uscc":
        return raw.upper()
    return raw


def _set(content: dict[str, Any], path: str, value: Any) -> None:
    group, _, key = path.partition(".")
    content.setdefault(group, {})[key] = value


def _co_owner_rows(form: FormLike, uploads: Mapping[str, list[str]]) -> list[dict[str, Any]]:
    pattern = re.compile(rf"^(?:{UPLOAD})?{re.escape(CO_OWNERS)}\.(\d+)\.")
    indices = sorted({int(m.group(1)) for k in form if (m := pattern.match(str(k)))})
    rows = []
    for i in indices:
        prefix = f"{CO_OWNERS}.{i}."
        if _strings(form, f"{REMOVE}{CO_OWNERS}.{i}"):
            continue
        row = {f.path: v for f in CO_OWNER_FIELDS
               if (v := _parse_value(f, form, prefix + f.path, uploads)) is not None}
        if row:
            rows.append(row)
    return rows


def content_from_form(form: FormLike, uploads: Mapping[str, list[str]] | None = None) -> dict[str, Any]:
    """The nested content of a posted form; ``uploads`` maps a file field's path to the digests just stored."""
    uploads = uploads or {}
    content: dict[str, Any] = {}
    for f in FIELDS:
        value = _parse_value(f, form, f.path, uploads)
        if value is not None:
            _set(content, f.path, value)
    if owners := _co_owner_rows(form, uploads):
        content.setdefault("co_ownership", {})["co_owners"] = owners
    return prune(content)


def value_at(content: Mapping[str, Any], path: str) -> Any:
    """The raw content value at a dotted path (None when absent)."""
    return _get(content, path)


def form_value(content: Mapping[str, Any], path: str) -> str:
    """The form spelling of a content value (for radios, selects and the controllers of ``When``)."""
    value = _get(content, path)
    if value is True:
        return YES
    if value is False:
        return NO
    return "" if value is None else str(value)


def applies(content: Mapping[str, Any], path: str) -> bool:
    """Whether a field (or its section) applies given the answers so far; an open answer leaves it applying."""
    group = path.split(".", 1)[0]
    chosen = form_value(content, "basic.registration_type")
    if group in TYPE_OF_GROUP and chosen and TYPE_OF_GROUP[group] != chosen:
        return False
    when = DEPENDS.get(path)
    if when is None:
        return True
    if not applies(content, when.controller):
        return False
    answer = form_value(content, when.controller)
    if not answer:
        return True
    return (answer in when.values) != when.negate


def prune(content: Mapping[str, Any]) -> dict[str, Any]:
    """Drop what does not apply: other types' sections and details behind a "否" (REG-7..14)."""
    out: dict[str, Any] = {}
    for group, values in content.items():
        if not isinstance(values, Mapping):
            out[group] = values
            continue
        kept = {k: v for k, v in values.items() if applies(content, f"{group}.{k}")}
        if kept:
            out[group] = kept
    return out


# -- documents (REG-25) and type details -----------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentView:
    key: str
    label: str
    required: bool
    note: str = ""

    @property
    def path(self) -> str:
        return f"documents.{self.key}"

    @property
    def dom_id(self) -> str:
        return dom_id(self.path)


def documents_for(kind: str, *, agent: bool) -> tuple[DocumentView, ...]:
    """The materials an application of ``kind`` carries (REG-25), required ones first."""
    k = Kind(kind)
    needed = list(REQUIRED[k])
    if agent:
        needed.append("power_of_attorney")
    docs = [DocumentView(key, DOCUMENT_LABELS[key], True) for key in needed]
    if k is Kind.CORRECTION:
        note = "二者至少提供其一（第二十五条第三项）"
        docs += [DocumentView("error_proof", DOCUMENT_LABELS["error_proof"], False, note),
                 DocumentView("consent", DOCUMENT_LABELS["consent"], False, note)]
    if k is Kind.CHANGE:
        docs.append(DocumentView("previous_identity_proof", DOCUMENT_LABELS["previous_identity_proof"], False,
                                 "登记主体名称等信息变更时提供"))
    if not agent:
        docs.append(DocumentView("power_of_attorney", DOCUMENT_LABELS["power_of_attorney"], False,
                                 "委托他人或代理机构申请时提供"))
    docs.append(DocumentView("other", DOCUMENT_LABELS["other"], False))
    return tuple(docs)


def documents_from_form(form: FormLike, uploads: Mapping[str, list[str]], keys: Sequence[str],
                        kept: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Document digests: a new upload replaces the kept one; "remove" drops it. Unlisted kept keys survive."""
    out = {k: v for k, v in (kept or {}).items() if k not in keys}
    doc_field = Field("", "", "file")
    for key in keys:
        value = _parse_value(doc_field, form, f"documents.{key}", uploads)
        if value:
            out[key] = value
    return out


@dataclass(frozen=True)
class DetailView:
    key: str
    label: str
    widget: str
    options: tuple[tuple[str, str], ...] = ()
    hint: str = ""

    @property
    def path(self) -> str:
        return f"details.{self.key}"

    @property
    def dom_id(self) -> str:
        return dom_id(self.path)


DETAILS: dict[str, tuple[DetailView, ...]] = {
    Kind.CHANGE: (DetailView("change_reason", "变更事项及原因", "textarea",
                             hint="写明变更的登记事项、变更原因及发生日期（第二十五条第二项）"),),
    Kind.CORRECTION: (DetailView("correction_items", "须更正的登记事项及正确内容", "textarea"),),
    Kind.CANCELLATION: (
        DetailView("ground", "注销情形", "select", tuple(vocab.items("cancellation_ground").items())),
        DetailView("certificate_number", "原登记凭证编号", "text", hint="该登记现行电子凭证的编号"),
    ),
}


def details_from_form(form: FormLike, kind: str) -> dict[str, str]:
    return {d.key: v for d in DETAILS.get(kind, ()) if (v := _last(form, d.path))}


#: Application kinds whose form carries the registration content (cancellation and renewal do not change it).
EDITS_CONTENT = frozenset({Kind.FIRST, Kind.CHANGE, Kind.CORRECTION})


@dataclass
class ErrorMap:
    """Field errors keyed by the path of the input they belong to (list items fold into their list)."""

    by_path: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, errors: Sequence[Any]) -> ErrorMap:
        out = cls()
        for e in errors:
            out.by_path.setdefault(input_path(e.field), []).append(e.message)
        return out

    def get(self, path: str) -> str:
        return " ".join(self.by_path.get(path, []))


def input_path(path: str) -> str:
    """``basic.regions.0`` → ``basic.regions``; a co-owner's field keeps its row number."""
    head, _, last = path.rpartition(".")
    return head if last.isdigit() and head else path


# -- read-only display ---------------------------------------------------------------------------------------


def display(f: FieldView, value: Any) -> str:
    """A content value as the applicant reads it (labels, not codes); attachments are shown separately."""
    return wording.text(f.kind, value)
