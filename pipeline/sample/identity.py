"""Fake personal data for the customer export: names, national ID numbers, phones.

They look like a Chinese bank's export (so ingest has real PII to drop) but are drawn
at random: an 18-digit resident ID with a region code, the birth date, a sequence whose
parity gives the gender, and a valid ISO 7064 MOD 11-2 check character.
"""

from __future__ import annotations

import numpy as np

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许"
    "韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)
GIVEN_CHARS = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂兰华红"
    "玉梅辉鑫婷宇浩凯欣怡晨思雨佳琳子涵博文斌宁颖倩"
)
# Region codes of a few large cities' districts (first six digits of the resident ID).
REGION_CODES = (
    "110101",
    "110105",
    "310101",
    "310115",
    "440103",
    "440305",
    "320102",
    "330106",
    "510104",
    "420102",
    "610103",
    "370102",
    "500103",
    "120101",
    "210102",
    "350102",
)
ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
ID_CHECK = np.array(list("10X98765432"))
PHONE_PREFIXES = (
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "155",
    "157",
    "158",
    "159",
    "180",
    "186",
    "187",
    "188",
    "189",
)


def names(rng: np.random.Generator, n: int) -> np.ndarray:
    """Surname plus one or two given-name characters."""
    surname_weights = 1.0 / np.arange(1, len(SURNAMES) + 1) ** 0.8
    surname = np.array(list(SURNAMES))[
        rng.choice(len(SURNAMES), size=n, p=surname_weights / surname_weights.sum())
    ]
    chars = np.array(list(GIVEN_CHARS))
    first = chars[rng.integers(len(chars), size=n)]
    second = np.where(rng.random(n) < 0.7, chars[rng.integers(len(chars), size=n)], "")
    return np.char.add(np.char.add(surname, first), second)


def _digits_to_text(digits: np.ndarray) -> np.ndarray:
    """An (n, k) matrix of digits 0-9 -> n strings of k characters."""
    raw = (digits.astype(np.uint8) + ord("0")).tobytes()
    return np.frombuffer(raw, dtype=f"S{digits.shape[1]}").astype(str)


def national_ids(
    rng: np.random.Generator, birth_days: np.ndarray, female: np.ndarray
) -> np.ndarray:
    """18-character resident ID numbers consistent with birth date and gender."""
    n = len(birth_days)
    region = np.array([[int(c) for c in code] for code in REGION_CODES])[
        rng.integers(len(REGION_CODES), size=n)
    ]
    birth = np.asarray(birth_days, dtype="datetime64[D]")
    ymd = (
        (birth.astype("datetime64[Y]").astype(int) + 1970) * 10_000
        + (birth.astype("datetime64[M]").astype(int) % 12 + 1) * 100
        + ((birth - birth.astype("datetime64[M]").astype("datetime64[D]")).astype(int) + 1)
    )
    birth_digits = (ymd[:, None] // 10 ** np.arange(7, -1, -1)) % 10
    seq = rng.integers(0, 500, size=n) * 2 + np.where(female, 0, 1)  # odd: male
    seq_digits = (seq[:, None] // 10 ** np.arange(2, -1, -1)) % 10
    body = np.hstack([region, birth_digits, seq_digits])
    check = ID_CHECK[(body * ID_WEIGHTS).sum(axis=1) % 11]
    return np.char.add(_digits_to_text(body), check)


def phones(rng: np.random.Generator, n: int) -> np.ndarray:
    """11-digit mobile numbers."""
    prefix = np.array(PHONE_PREFIXES)[rng.integers(len(PHONE_PREFIXES), size=n)]
    return np.char.add(prefix, _digits_to_text(rng.integers(0, 10, size=(n, 8))))
