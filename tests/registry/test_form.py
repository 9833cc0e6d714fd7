"""The application form (REG-6..15): drafts may be incomplete, submission reports every problem at once."""

from __future__ import annotations

from pubdata.demo import make_uscc
from pubdata.registry.form import content_errors, normalise_name

DIGEST = "a" * 64


def fields(errors):  # type: ignore[no-untyped-def]
    return {e.field for e in errors}


def test_an_empty_draft_is_fine_but_cannot_be_submitted():
    assert content_errors({}, complete=False) == []
    missing = fields(content_errors({}, complete=True))
    for path in ("basic.name", "basic.registration_type", "basic.category", "basic.grade", "basic.industries",
                 "basic.regions", "basic.summary", "storage.structure", "storage.update_frequency",
                 "scenario.problems", "sharing.sharing_type", "co_ownership.co_owned", "legality.source_proofs",
                 "legality.commitment", "catalog.based_on_existing", "agency.is_agent"):
        assert path in missing


def test_malformed_values_are_refused_even_in_a_draft():
    errors = content_errors({"basic": {"grade": "绝密", "regions": ["999999"], "industries": ["ZZ"],
                                       "tags": ["x" * 30]},
                             "resource": {"coverage_start": "2026-13-01"},
                             "storage": {"initial_volume": -1}}, complete=False)
    assert fields(errors) == {"basic.grade", "basic.regions.0", "basic.industries.0", "basic.tags.0",
                              "resource.coverage_start", "storage.initial_volume"}
    assert all(e.message for e in errors)


def test_type_specific_groups_are_required_by_type():
    resource = fields(content_errors({"basic": {"registration_type": "data_resource"}}, complete=True))
    assert {"resource.coverage_start", "resource.authorized", "resource.security_assessment"} <= resource
    assert "product.product_type" not in resource
    product = fields(content_errors({"basic": {"registration_type": "data_product"}}, complete=True))
    assert {"product.product_type", "product.source_registration_code", "product.purpose"} <= product
    assert "resource.security_assessment" not in product
    open_data = fields(content_errors({"basic": {"registration_type": "open_data"}}, complete=True))
    assert {"open_data.channel", "open_data.license"} <= open_data


def test_conditional_fields_follow_their_switches():
    on = fields(content_errors({"basic": {"registration_type": "data_resource"}, "resource": {"authorized": True},
                                "agency": {"is_agent": True}, "storage": {"contains_sensitive": True,
                                                                          "desensitised": True},
                                "sharing": {"sharing_type": "conditional", "open_to_public": True},
                                "catalog": {"based_on_existing": True}}, complete=True))
    assert {"resource.operator_name", "resource.operator_uscc", "agency.principal_uscc", "agency.agreement",
            "storage.subjects_involved", "storage.desensitisation_method", "sharing.conditions",
            "sharing.opening_conditions", "catalog.reference"} <= on
    off = fields(content_errors({"resource": {"authorized": False}, "agency": {"is_agent": False},
                                 "sharing": {"sharing_type": "none", "open_to_public": False}}, complete=True))
    assert not {"resource.operator_name", "agency.principal_uscc", "sharing.conditions", "sharing.method"} & off


def test_reg12_any_number_of_co_owners_each_checked():
    owners = [{"name": f"共有单位{i}", "uscc": make_uscc("91620100", 700 + i), "nature": "企业",
               "registered_place": "620100", "authorisation": DIGEST} for i in range(5)]
    owners[3]["uscc"] = "91620100MA0000000X"
    owners[4]["registered_place"] = "999999"
    errors = content_errors({"co_ownership": {"co_owned": True, "co_owners": owners}}, complete=True)
    assert {"co_ownership.co_owners.3.uscc", "co_ownership.co_owners.4.registered_place"} <= fields(errors)
    assert not any(f.startswith("co_ownership.co_owners.0") for f in fields(errors))
    assert "co_ownership.co_owners" in fields(content_errors({"co_ownership": {"co_owned": True}}, complete=True))


def test_reg13_commitment_must_be_made():
    errors = content_errors({"legality": {"commitment": False}}, complete=True)
    assert "commitment_required" in {e.code for e in errors}


def test_end_dates_cannot_precede_start_dates():
    errors = content_errors({"resource": {"coverage_start": "2026-05-01", "coverage_end": "2026-01-01"}},
                            complete=False)
    assert [(e.field, e.code) for e in errors] == [("resource.coverage_end", "end_before_start")]


def test_normalised_names_ignore_width_case_space_and_punctuation():
    assert normalise_name("全省 公路（路网）数据 ") == normalise_name("全省公路路网数据")
    assert normalise_name("ＡＢＣ数据") == normalise_name("abc 数据")
