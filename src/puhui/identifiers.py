"""Identifiers of the feed contract: USCC (GB 32100-2015) and resident ids (GB 11643-1999).

Pure functions: check characters (scalar and vectorised over numpy arrays, for the simulator
and the loaders), validation, the keyed hash used for joins, and the masked display form.
Nothing here logs or stores a clear person id.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import date

import numpy as np
import numpy.typing as npt
from stdnum.cn import ric

#: USCC alphabet: digits and capitals without I, O, S, V, Z; a character's value is its index.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = np.array([pow(3, i, 31) for i in range(17)], dtype=np.int64)
#: GB 11714 organisation-code weights (characters 9..16 of a USCC).
ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
#: GB 11643 weights 2^(17-i) mod 11 for the first 17 digits of a resident id.
RIC_WEIGHTS = np.array([pow(2, 17 - i, 11) for i in range(17)], dtype=np.int64)

_USCC_VALUE = {ch: i for i, ch in enumerate(USCC_ALPHABET)}
_ALPHABET_BYTES = np.frombuffer(USCC_ALPHABET.encode(), dtype=np.uint8)
_RIC_CHECK_BYTES = np.frombuffer(b"0123456789X", dtype=np.uint8)


def uscc_check_values(values: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Check-character values for rows of 17 USCC character values (shape ``(n, 17)``)."""
    return (31 - (values @ USCC_WEIGHTS) % 31) % 31


def org_code_check_values(values: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """GB 11714 check values (0..10, 10 written ``X``) for rows of 8 organisation-code values.

    Organisation-code characters take digits 0-9 and letters A=10 … Z=35 (their own scale,
    not the USCC alphabet); 11 - (sum mod 11), with 11 written as 0.
    """
    return (11 - (values @ ORG_WEIGHTS) % 11) % 11


def ric_check_values(digits: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Check values (0..10, 10 written ``X``) for rows of 17 resident-id digits."""
    return (1 - digits @ RIC_WEIGHTS) % 11


def values_to_strings(codes: npt.NDArray[np.uint8]) -> npt.NDArray[np.str_]:
    """Rows of ASCII bytes (shape ``(n, k)``) to an array of ``k``-character strings."""
    codes = np.ascontiguousarray(codes, dtype=np.uint8)
    return codes.view(f"S{codes.shape[1]}").ravel().astype(f"U{codes.shape[1]}")


def make_usccs(
    authority: npt.NDArray[np.int64],
    entity_kind: npt.NDArray[np.int64],
    division: npt.NDArray[np.int64],
    org_serial: npt.NDArray[np.int64],
) -> npt.NDArray[np.str_]:
    """Build valid USCCs, vectorised.

    ``authority`` and ``entity_kind`` are digit values (e.g. 9 and 1/2/3), ``division`` the
    6-digit region code, ``org_serial`` a number below 10**8 that becomes the organisation
    code's 8 digits (its GB 11714 check character and the final USCC check are computed).
    """
    n = len(org_serial)
    values = np.empty((n, 17), dtype=np.int64)
    values[:, 0] = authority
    values[:, 1] = entity_kind
    values[:, 2:8] = (division[:, None] // 10 ** np.arange(5, -1, -1)) % 10
    org = (org_serial[:, None] // 10 ** np.arange(7, -1, -1)) % 10
    values[:, 8:16] = org
    org_check = org_code_check_values(org)
    # X (value 10 on the organisation scale) is the USCC alphabet's 'X'.
    values[:, 16] = np.where(org_check == 10, USCC_ALPHABET.index("X"), org_check)
    check = uscc_check_values(values)
    chars = _ALPHABET_BYTES[np.concatenate([values, check[:, None]], axis=1)]
    return values_to_strings(chars)


def make_person_ids(
    division: npt.NDArray[np.int64],
    birth: npt.NDArray[np.datetime64],
    sequence: npt.NDArray[np.int64],
) -> npt.NDArray[np.str_]:
    """Build valid resident ids from birth-place code, birth date and 3-digit sequence."""
    days = birth.astype("datetime64[D]")
    years = days.astype("datetime64[Y]").astype(np.int64) + 1970
    months = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day_of_month = (days - days.astype("datetime64[M]")).astype(np.int64) + 1
    yyyymmdd = years * 10000 + months * 100 + day_of_month
    digits = np.empty((len(division), 17), dtype=np.int64)
    digits[:, 0:6] = (division[:, None] // 10 ** np.arange(5, -1, -1)) % 10
    digits[:, 6:14] = (yyyymmdd[:, None] // 10 ** np.arange(7, -1, -1)) % 10
    digits[:, 14:17] = (sequence[:, None] // 10 ** np.arange(2, -1, -1)) % 10
    check = ric_check_values(digits)
    chars = np.concatenate([digits + ord("0"), _RIC_CHECK_BYTES[check][:, None]], axis=1)
    return values_to_strings(chars.astype(np.uint8))


def uscc_check_char(body: str) -> str:
    """The 18th character for a 17-character USCC body."""
    values = np.array([[_USCC_VALUE[ch] for ch in body]], dtype=np.int64)
    return USCC_ALPHABET[int(uscc_check_values(values)[0])]


def is_valid_uscc(code: str) -> bool:
    """Whether ``code`` is a well-formed USCC with a correct check character.

    Wider than python-stdnum, which wants digits in the first two places: registering
    authorities may be letters (``N`` rural collective economic organisations, ``Y`` …) and
    so may entity kinds under them. Positions 3-8 (the region) are digits.
    """
    if len(code) != 18 or any(ch not in _USCC_VALUE for ch in code):
        return False
    if not code[2:8].isdigit():
        return False
    return uscc_check_char(code[:17]) == code[17]


def is_valid_person_id(number: str) -> bool:
    """GB 11643 resident id: 18 characters, check character, real birth date and place."""
    try:
        return bool(ric.is_valid(number))
    except KeyError:  # stdnum raises for an unknown county of a known province
        return False


def person_birth_date(number: str) -> date:
    return ric.get_birth_date(number)


def hash_person_id(number: str, key: bytes) -> str:
    """Keyed hash (HMAC-SHA256, 32 hex characters) of a person id or phone, for joins.

    Keyed, so a leaked table cannot be reversed by hashing every possible id.
    """
    return hmac.new(key, number.strip().upper().encode(), hashlib.sha256).hexdigest()[:32]


def mask_identifier(value: str, keep_start: int = 4, keep_end: int = 4) -> str:
    """Display form that hides the middle: ``332601199001011234`` → ``3326**********1234``."""
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    hidden = len(value) - keep_start - keep_end
    return value[:keep_start] + "*" * hidden + value[len(value) - keep_end :]
