import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.clients import identifiers
from apps.clients.identifiers import CREDIT_ALPHABET, InvalidIdentifier, validate

VALID = ["91350100M000100Y43", "92320105MA1WMUAP8T", "91320118MA1X7GFL8Q", "91320118MA20LU6N3P"]


@pytest.mark.parametrize("code", VALID)
def test_domain_examples_are_valid_credit_codes(code):
    identifier = validate(code)
    assert identifier.value == code and not identifier.legacy and identifier.form == "credit_code"


def test_input_is_normalised():
    assert validate(" ９１３５０１００ｍ０００１００ｙ４３ ").value == "91350100M000100Y43"
    assert validate("9135 0100 m000 100y 43").value == "91350100M000100Y43"


@pytest.mark.parametrize(
    "text, message",
    [
        ("91350100M000100Y44", "校验码应为3，实际为4"),
        ("91350100M0001O0Y43", "第14位含非法字符“O”"),
        ("9135010IM000100Y43", "第8位含非法字符“I”"),
        ("913501", "实际为6位"),
        ("91350100M000100Y4", "实际为17位"),
    ],
)
def test_refusals_say_what_is_wrong(text, message):
    with pytest.raises(InvalidIdentifier, match=message):
        validate(text)


def test_a_wrong_embedded_organisation_code_is_refused_even_with_a_matching_check_character():
    assert identifiers.org_code_check_character("M000100Y") == "4"  # 91350100[M000100Y4]3
    first17 = "91350100" + "M000100Y" + "5"
    code = first17 + identifiers.credit_check_character(first17)
    with pytest.raises(InvalidIdentifier, match="组织机构代码校验位应为4，实际为5"):
        validate(code)


@pytest.mark.parametrize(
    "text, form",
    [
        ("350100M000100Y4", "legacy_15"),
        ("110101199003074477", "legacy_id_card_18"),
        ("11010119900307447712", "legacy_20"),
    ],
)
def test_legacy_forms_are_accepted_and_flagged(text, form):
    identifier = validate(text)
    assert identifier.legacy and identifier.form == form


@pytest.mark.parametrize(
    "text, message",
    [
        ("350100M000100Y5", "组织机构代码校验位应为4，实际为5"),
        ("110101199003074478", "身份证号校验位应为7，实际为8"),
        ("1101011990030744771A", "第20位含非法字符“A”"),
    ],
)
def test_legacy_forms_are_validated_where_they_can_be(text, message):
    with pytest.raises(InvalidIdentifier, match=message):
        validate(text)


def test_org_code_check_maps_ten_and_eleven():
    # Sums that give 11 - 10 → X and 11 - 0 → 0 (GB 11714).
    codes = {identifiers.org_code_check_character(f"{n:08d}") for n in range(0, 400)}
    assert {"X", "0"} <= codes


org_body = st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=8, max_size=8)
head = st.text(alphabet=CREDIT_ALPHABET, min_size=8, max_size=8)


@st.composite
def credit_codes(draw):
    body = draw(org_body)
    org_check = identifiers.org_code_check_character(body)
    first17 = draw(head) + body + org_check
    return first17 + identifiers.credit_check_character(first17)


@given(credit_codes())
def test_every_valid_code_round_trips(code):
    identifier = validate(code)
    assert (identifier.value, identifier.legacy) == (code, False)
    assert validate(code.lower()).value == code


@given(credit_codes(), st.integers(min_value=0, max_value=17), st.sampled_from(CREDIT_ALPHABET + "IOSVZ"))
def test_every_single_character_change_is_refused(code, position, replacement):
    changed = code[:position] + replacement + code[position + 1 :]
    if changed == code:
        return
    try:
        identifier = validate(changed)
    except InvalidIdentifier:
        return
    # The only way through is the genuine ambiguity of 18 digits: an individual's ID card number.
    assert identifier.form == "legacy_id_card_18"
    assert identifiers.looks_like_id_card(changed)
