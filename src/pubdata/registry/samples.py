"""Complete, valid registration content for the demo data and the tests (one source, so both stay valid
as the form evolves). ``upload(label)`` stores a file and returns its SM3 digest."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pubdata.identity.validation import make_uscc

Upload = Callable[[str], str]


def resource_content(upload: Upload, name: str = "全省公路路网运行监测数据",
                     summary: str = "全省高速公路和国省干线的路况、流量与事件数据。", industry: str = "54") -> dict[str, Any]:
    return {
        "basic": {"name": name, "registration_type": "data_resource", "category": "business", "grade": "general",
                  "industries": [industry], "regions": ["620000"], "summary": summary, "tags": ["甘肃", "公共数据"]},
        "resource": {"coverage_start": "2020-01-01", "coverage_end": "2026-06-30", "authorized": True,
                     "operator_name": "甘肃数据运营集团有限公司", "operator_uscc": make_uscc("91620000", 30003),
                     "authorization_start": "2026-01-01", "authorization_end": "2030-12-31",
                     "security_assessment": upload("数据安全评估报告")},
        "agency": {"is_agent": False},
        "storage": {"production_method": "device_collection", "structure": "structured", "delivery_format": "api",
                    "storage_method": "government_cloud", "initial_volume": 12, "volume_unit": "TB",
                    "update_frequency": "realtime", "update_method": "incremental", "growth_volume": 2,
                    "contains_sensitive": False, "subject_count": 0, "evidence_method": "third_party",
                    "evidence_description": "委托第三方机构对数据集摘要存证。", "evidence_proof": upload("存证证明")},
        "scenario": {"conditions": "经授权的运营机构", "scope": "甘肃省", "audience": "行业管理部门与服务企业",
                     "problems": "监测预警与应急调度"},
        "sharing": {"sharing_type": "conditional", "conditions": "经行业主管部门审核", "method": "api",
                    "open_to_public": False},
        "co_ownership": {"co_owned": False},
        "legality": {"source_proofs": [upload("依法获取证明")], "commitment": True},
        "catalog": {"based_on_existing": True, "reference": "甘肃省政务数据资源目录"},
    }
