"""Numbers as papers print them in prose and in hyperparameter tables: 0.01, 1e-3, 5 × 10^-4,
10^-3, 1,000, 100k, 10%, and small counts written as words ("five runs")."""

from __future__ import annotations

import re

Number = int | float

# In plain text (see plain.py): exponents arrive as `10^-3`, `\times` as `×`. Anchored pieces,
# no nested repeats, so matching stays linear.
NUM = (r"10\s*\^\s*[-+]?\s*\d+|(?:\d{1,3}(?:,\d{3})+(?![\d.])|\d+(?:\.\d+)?|\.\d+)"
       r"(?:\s?[eE]\s?[-+]?\s?\d+|\s*[×x]\s*10\s*\^\s*[-+]?\s*\d+)?(?:\s?[kKM](?![A-Za-z\d]))?")
WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
         "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "fifty": 50,
         "hundred": 100}
WORD = r"(?:" + "|".join(WORDS) + r")"
NUM_RE = re.compile(NUM)
SCALE = {"k": 1_000, "K": 1_000, "M": 1_000_000}


def parse_number(text: str) -> Number | None:
    """One printed number → int when printed as an integer, else float; None if it is not one."""
    raw = text.strip().replace(" ", "")
    if raw.lower() in WORDS:
        return WORDS[raw.lower()]
    percent = raw.endswith("%")
    raw = raw.rstrip("%")
    scale = 1
    if raw[-1:] in SCALE:
        scale, raw = SCALE[raw[-1]], raw[:-1]
    try:
        value = _mantissa_and_power(raw)
    except ValueError:
        return None
    if percent:
        return value / 100
    if scale != 1:
        value = value * scale
        return int(value) if float(value).is_integer() else value
    return value


def _mantissa_and_power(raw: str) -> Number:
    power = re.fullmatch(r"(?:(.+?)[×x])?10\^([-+]?\d+)", raw)
    if power:
        mantissa = float(power.group(1)) if power.group(1) else 1.0
        exponent = int(power.group(2))
        value = mantissa * 10.0**exponent
        return int(value) if exponent >= 0 and value.is_integer() else float(f"{value:.12g}")
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+", raw):
        return int(raw.replace(",", ""))
    if re.fullmatch(r"\d+", raw):
        return int(raw)
    value = float(raw)
    return float(f"{value:.12g}")  # 3e-4 → 0.0003, not 0.00030000000000000003
