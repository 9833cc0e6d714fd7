"""The signed form of each certificate record, and public announcements (公告).

The registry's ``certificate`` table keeps the record and its lifecycle state; ``certificate_document`` keeps
what was signed (the exact canonical bytes), the signature, the ledger leaf of the issuing event, the PDF's
SM3 digest, and the dates of its lifecycle changes that the public status shows.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pubdata.db.base import Base, IdMixin, utcnow


class CertificateDocument(IdMixin, Base):
    __tablename__ = "certificate_document"
    __table_args__ = {"comment": "电子凭证的签名文本、签名、账本位置与 PDF 摘要（REG-29/34/42）"}

    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificate.id"), unique=True, comment="凭证记录")
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"), index=True, comment="登记记录")
    format: Mapped[str] = mapped_column(String(40), comment="凭证格式版本，如 pubdata-certificate/1")
    certificate_version: Mapped[int] = mapped_column(Integer, comment="该登记的第几份凭证（从 1 起）")
    signed_json: Mapped[str] = mapped_column(Text, comment="被签名的凭证内容：RFC 8785 规范化 JSON 原文")
    document_sm3: Mapped[str] = mapped_column(String(64), comment="signed_json 的 SM3 摘要（十六进制）")
    signature: Mapped[bytes] = mapped_column(LargeBinary, comment="SM2 签名（DER），SM3 杂凑、默认用户标识")
    key_name: Mapped[str] = mapped_column(String(80), comment="签名密钥名称（签发机构）")
    key_id: Mapped[str] = mapped_column(String(16), comment="签名公钥标识")
    ledger_event_id: Mapped[int] = mapped_column(ForeignKey("audit_event.id"), comment="签发凭证的审计事件")
    ledger_leaf_index: Mapped[int] = mapped_column(BigInteger, comment="该事件在账本中的叶子序号")
    pdf_sm3: Mapped[str | None] = mapped_column(String(64), comment="PDF 文件的 SM3 摘要（生成后记录）")
    pdf_size: Mapped[int | None] = mapped_column(Integer, comment="PDF 文件字节数")
    pdf_rendered_at: Mapped[dt.datetime | None] = mapped_column(comment="PDF 生成时间")
    ended_on: Mapped[dt.date | None] = mapped_column(Date, comment="更新、注销、撤销或期满注销之日")
    end_reason: Mapped[str | None] = mapped_column(Text, comment="撤销或注销的理由（不公开）")
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("certificate.id"), comment="取代本凭证的新凭证")
    reminded_on: Mapped[dt.date | None] = mapped_column(Date, comment="已发出续展提醒之日（REG-37）")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="签名时间")

    def __audit_root__(self) -> tuple[str, int]:
        return ("registration", self.registration_id)


class Announcement(IdMixin, Base):
    __tablename__ = "announcement"
    __table_args__ = (
        Index("ix_announcement_published", "published_on", "id"),
        {"comment": "登记机构的公告（如凭证期满未续展的注销公告，REG-37）"},
    )

    kind: Mapped[str] = mapped_column(String(40), comment="公告类型：expiry_cancellation 期满注销等")
    title: Mapped[str] = mapped_column(String(200), comment="标题")
    body: Mapped[str] = mapped_column(Text, comment="正文（仅含公开信息）")
    registration_id: Mapped[int | None] = mapped_column(ForeignKey("registration.id"), index=True,
                                                        comment="所涉登记记录")
    registration_code: Mapped[str | None] = mapped_column(String(40), comment="所涉登记编码")
    certificate_number: Mapped[str | None] = mapped_column(String(40), comment="所涉凭证编号")
    issuer_name: Mapped[str] = mapped_column(String(200), comment="发布机构")
    published_on: Mapped[dt.date] = mapped_column(Date, comment="公告日期（北京时间）")
    published_at: Mapped[dt.datetime] = mapped_column(default=utcnow, comment="发布时间")
