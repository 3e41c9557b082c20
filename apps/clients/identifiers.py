"""Taxpayer identifiers: the 18-character unified social credit code (GB 32100-2015) and the
legacy 纳税人识别号 forms still on file. Messages say what is wrong, in Chinese (translatable)."""

import datetime as dt
import unicodedata
from dataclasses import dataclass

from django.utils.translation import gettext as _

CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z
CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # GB 11714: letters A–Z count 10–35
ID_CARD_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CARD_CHECKS = "10X98765432"


class InvalidIdentifier(ValueError):
    pass


@dataclass(frozen=True)
class Identifier:
    value: str
    legacy: bool
    form: str  # "credit_code", "legacy_15", "legacy_id_card_18", "legacy_20"


def normalise(text: str) -> str:
    """Full-width to half-width, spaces out, upper case."""
    text = unicodedata.normalize("NFKC", text or "")
    return "".join(text.split()).upper()


def credit_check_character(first17: str) -> str:
    total = sum(CREDIT_ALPHABET.index(c) * w for c, w in zip(first17, CREDIT_WEIGHTS, strict=True))
    return CREDIT_ALPHABET[(31 - total % 31) % 31]


def org_code_check_character(first8: str) -> str:
    total = sum(ORG_ALPHABET.index(c) * w for c, w in zip(first8, ORG_CODE_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def id_card_check_character(first17: str) -> str:
    return ID_CARD_CHECKS[sum(int(c) * w for c, w in zip(first17, ID_CARD_WEIGHTS, strict=True)) % 11]


def _refuse_characters(value: str, allowed: str, rule: str, first_position: int = 1) -> None:
    for position, char in enumerate(value, start=first_position):
        if char not in allowed:
            raise InvalidIdentifier(
                _("第%(position)d位含非法字符“%(char)s”（%(rule)s）")
                % {"position": position, "char": char, "rule": rule}
            )


def _validate_org_code(code9: str, where: str, first_position: int) -> None:
    _refuse_characters(code9[:8], ORG_ALPHABET, _("组织机构代码本体只用数字和大写字母"), first_position)
    expected = org_code_check_character(code9[:8])
    if code9[8] != expected:
        raise InvalidIdentifier(
            _("%(where)s的组织机构代码校验位应为%(expected)s，实际为%(actual)s")
            % {"where": where, "expected": expected, "actual": code9[8]}
        )


def _validate_credit_code(value: str) -> Identifier:
    _refuse_characters(value, CREDIT_ALPHABET, _("统一社会信用代码不使用 I、O、S、V、Z"))
    expected = credit_check_character(value[:17])
    if value[17] != expected:
        raise InvalidIdentifier(
            _("校验码应为%(expected)s，实际为%(actual)s") % {"expected": expected, "actual": value[17]}
        )
    _validate_org_code(value[8:17], _("第9–17位"), first_position=9)
    return Identifier(value, legacy=False, form="credit_code")


def _validate_id_card(value18: str) -> None:
    _refuse_characters(value18[:17], "0123456789", _("身份证号前17位只用数字"))
    expected = id_card_check_character(value18[:17])
    if value18[17] != expected:
        raise InvalidIdentifier(
            _("身份证号校验位应为%(expected)s，实际为%(actual)s") % {"expected": expected, "actual": value18[17]}
        )


def looks_like_id_card(value18: str) -> bool:
    """18 digits (the last may be X) with a province digit and a real birth date at 7–14."""
    if not (value18[:17].isdigit() and value18[17] in "0123456789X" and value18[0] in "12345678"):
        return False
    try:
        born = dt.date(int(value18[6:10]), int(value18[10:12]), int(value18[12:14]))
    except ValueError:
        return False
    return born.year >= 1900


def validate(text: str) -> Identifier:
    """Normalise and validate; raises InvalidIdentifier with the reason.

    An 18-character value is a credit code first; only a value that is not a valid credit code
    and looks like an ID card number (个体户) is read as one."""
    value = normalise(text)
    if len(value) == 18:
        try:
            return _validate_credit_code(value)
        except InvalidIdentifier:
            if not looks_like_id_card(value):
                raise
        _validate_id_card(value)
        return Identifier(value, legacy=True, form="legacy_id_card_18")
    if len(value) == 15:
        _refuse_characters(value[:6], "0123456789", _("前6位行政区划代码只用数字"))
        _validate_org_code(value[6:], _("第7–15位"), first_position=7)
        return Identifier(value, legacy=True, form="legacy_15")
    if len(value) == 20:
        if not looks_like_id_card(value[:18]):
            raise InvalidIdentifier(_("20位旧纳税人识别号的前18位应为身份证号"))
        _validate_id_card(value[:18])
        _refuse_characters(value[18:], "0123456789", _("第19–20位只用数字"), first_position=19)
        return Identifier(value, legacy=True, form="legacy_20")
    raise InvalidIdentifier(
        _("长度应为18位（统一社会信用代码），或15、18、20位（旧纳税人识别号），实际为%(length)d位")
        % {"length": len(value)}
    )
