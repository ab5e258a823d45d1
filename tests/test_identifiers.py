from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import ric, uscc

from puhui.identifiers import (
    USCC_ALPHABET,
    hash_person_id,
    is_valid_person_id,
    is_valid_uscc,
    make_person_ids,
    make_usccs,
    mask_identifier,
    uscc_check_char,
)

divisions = st.sampled_from([331002, 331003, 331004, 331081, 331082, 330102])
birth_dates = st.dates(
    min_value=__import__("datetime").date(1995, 1, 1),
    max_value=__import__("datetime").date(2005, 12, 31),
)


@given(
    kind=st.integers(1, 3),
    division=divisions,
    serial=st.integers(0, 10**8 - 1),
)
def test_made_usccs_pass_stdnum(kind: int, division: int, serial: int) -> None:
    code = make_usccs(np.array([9]), np.array([kind]), np.array([division]), np.array([serial]))[0]
    assert uscc.is_valid(code)
    assert is_valid_uscc(code)
    assert code[1] == str(kind)
    assert code[2:8] == str(division)


@given(division=divisions, birth=birth_dates, sequence=st.integers(0, 999))
def test_made_person_ids_pass_stdnum(division: int, birth: object, sequence: int) -> None:
    number = make_person_ids(
        np.array([division]), np.array([birth], dtype="datetime64[D]"), np.array([sequence])
    )[0]
    assert ric.is_valid(number)
    assert is_valid_person_id(number)


@given(serial=st.integers(0, 10**8 - 1), shift=st.integers(1, 30))
def test_any_other_check_character_is_rejected(serial: int, shift: int) -> None:
    code = make_usccs(np.array([9]), np.array([1]), np.array([331002]), np.array([serial]))[0]
    wrong = USCC_ALPHABET[(USCC_ALPHABET.index(code[-1]) + shift) % 31]
    assert not is_valid_uscc(code[:-1] + wrong)


def test_known_codes() -> None:
    # Published examples: stdnum's doctest code, and one with a rural-collective authority.
    assert is_valid_uscc("91110000600037341L")
    body = "N2331002MA2ABCDE"[:16] + "0"
    letter_authority = body + uscc_check_char(body)
    assert is_valid_uscc(letter_authority)
    assert not uscc.is_valid(letter_authority)  # stdnum is stricter than the standard
    assert not is_valid_uscc("91110000600037341")
    assert not is_valid_uscc("9111000060003734IL")  # I is not in the alphabet


def test_mask_and_hash() -> None:
    number = "332601198512310082"
    assert mask_identifier(number) == "3326**********0082"
    assert mask_identifier("123") == "***"
    key_a, key_b = b"a" * 32, b"b" * 32
    assert hash_person_id(number, key_a) == hash_person_id(" " + number.lower(), key_a)
    assert hash_person_id(number, key_a) != hash_person_id(number, key_b)
    assert number not in hash_person_id(number, key_a)
    assert len(hash_person_id(number, key_a)) == 32


def test_person_id_with_an_unknown_county_is_invalid_not_an_error() -> None:
    # stdnum raises KeyError for an unknown county of a known province (e.g. 339999).
    body = "33999919800101123"
    digits = np.array([[int(c) for c in body]])
    from puhui.identifiers import ric_check_values

    check = int(ric_check_values(digits)[0])
    assert not is_valid_person_id(body + ("X" if check == 10 else str(check)))
