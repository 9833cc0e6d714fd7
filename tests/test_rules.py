"""Every statutory number lives in one place with the article it comes from."""

from pubdata import rules


def test_every_rule_names_its_article_and_unit():
    assert len(rules.ALL) >= 14
    for r in rules.ALL:
        assert r.article.startswith(("REG-", "OPS-")) and r.value > 0 and r.text


def test_the_statutory_deadlines():
    assert (rules.ACCEPTANCE.value, rules.ACCEPTANCE.unit) == (3, rules.Unit.WORKING_DAYS)
    assert (rules.REVIEW.value, rules.PUBLIC_NOTICE.value, rules.CANCELLATION_COMPLETE.value) == (20, 10, 10)
    assert (rules.CERTIFICATE_VALIDITY.value, rules.RENEWAL_WINDOW.value) == (3, 60)
    assert (rules.AGREEMENT_MAX_TERM.value, rules.RECORD_RETENTION.value) == (5, 20)
    assert len(rules.BY_KEY) == len(rules.ALL)
