"""Why a customer is at risk, in words a branch head and an RM read: one phrase per
feature, with the customer's value beside the typical (median) customer's.

`top_reasons` in churn_model picks the features; this module only words them, in the
configured locale (en or zh_CN)."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

Formatter = Callable[[float], str]


def _num(v: float) -> str:
    return f"{v:,.0f}"


def _money(v: float) -> str:
    return f"{v:,.0f}"


def _signed_money(v: float) -> str:
    return f"{v:+,.0f}"


def _pct(v: float) -> str:
    return f"{100 * v:.0f}%"


def _signed_pct(v: float) -> str:
    return f"{100 * v:+.0f}%"


# feature -> (formatter, English template, Chinese template); {v} the customer, {m} typical.
PHRASES: dict[str, tuple[Formatter, str, str]] = {
    "recency_days": (
        _num,
        "no own transaction for {v} days (typical {m})",
        "{v}天无主动交易（中位数{m}天）",
    ),
    "frequency": (
        _num,
        "{v} active days in the window (typical {m})",
        "窗口内活跃{v}天（中位数{m}天）",
    ),
    "txn_count": (
        _num,
        "{v} own transactions in the window (typical {m})",
        "窗口内主动交易{v}笔（中位数{m}笔）",
    ),
    "monetary": (_money, "value {v} in the window (typical {m})", "窗口内贡献{v}（中位数{m}）"),
    "aum": (_money, "AUM {v} (typical {m})", "AUM {v}（中位数{m}）"),
    "liabilities": (_money, "borrowing {v} (typical {m})", "负债{v}（中位数{m}）"),
    "products_held": (_num, "{v} products held (typical {m})", "持有{v}种产品（中位数{m}）"),
    "digital_share": (
        _pct,
        "{v} of transactions on digital channels (typical {m})",
        "数字渠道交易占比{v}（中位数{m}）",
    ),
    "days_since_rm_contact": (
        _num,
        "no RM contact for {v} days (typical {m})",
        "{v}天未获客户经理联系（中位数{m}天）",
    ),
    "tenure_months": (
        _num,
        "customer for {v} months (typical {m})",
        "开户{v}个月（中位数{m}个月）",
    ),
    "age": (_num, "aged {v} (typical {m})", "年龄{v}岁（中位数{m}岁）"),
    "rfm_r": (_num, "RFM recency score {v} (typical {m})", "RFM近度评分{v}（中位数{m}）"),
    "rfm_f": (_num, "RFM frequency score {v} (typical {m})", "RFM频度评分{v}（中位数{m}）"),
    "rfm_m": (_num, "RFM value score {v} (typical {m})", "RFM价值评分{v}（中位数{m}）"),
    "tier_rank": (_num, "tier rank {v} (typical {m})", "客户层级序号{v}（中位数{m}）"),
}
_AUM_CHANGE = re.compile(r"^aum_change_(pct_)?(\d+)m$")
# Yes/no features: (English when yes, when no, Chinese when yes, when no).
FLAGS: dict[str, tuple[str, str, str, str]] = {
    "dormant": ("dormant", "not dormant", "休眠", "非休眠"),
    "digital_enrolled": (
        "uses digital banking",
        "not enrolled in digital banking",
        "已开通数字银行",
        "未开通数字银行",
    ),
    "gender_m": ("male", "female", "男性", "女性"),
}


def phrase_codes(
    feature: str, values: np.ndarray, median: float, locale: str
) -> tuple[list[str], np.ndarray]:
    """The phrases of `feature`'s distinct values and, per value, its phrase's index.

    Each distinct value is worded once (a million customers share far fewer values)."""
    zh = locale == "zh_CN"
    unique, inverse = np.unique(np.asarray(values, dtype=float), return_inverse=True)
    if feature in FLAGS or feature.startswith("has_"):
        yes, no = _flag_words(feature, zh)
        words = [yes if v >= 0.5 else no for v in unique]
    else:
        fmt, en, cn = _template(feature)
        template = cn if zh else en
        typical = fmt(median) if np.isfinite(median) else ("无" if zh else "n/a")
        words = [
            template.format(v=fmt(v), m=typical) if np.isfinite(v) else _missing(feature, zh)
            for v in unique
        ]
    return words, inverse.ravel()


def _flag_words(feature: str, zh: bool) -> tuple[str, str]:
    if feature in FLAGS:
        en_yes, en_no, zh_yes, zh_no = FLAGS[feature]
        return (zh_yes, zh_no) if zh else (en_yes, en_no)
    product = feature.removeprefix("has_").replace("_", " ")
    return (f"持有{product}", f"未持有{product}") if zh else (f"holds {product}", f"no {product}")


def _template(feature: str) -> tuple[Formatter, str, str]:
    if feature in PHRASES:
        return PHRASES[feature]
    match = _AUM_CHANGE.match(feature)
    if match:
        months = match.group(2)
        fmt = _signed_pct if match.group(1) else _signed_money
        return (
            fmt,
            f"AUM {{v}} over {months} months (typical {{m}})",
            f"近{months}个月AUM变化{{v}}（中位数{{m}}）",
        )
    return (
        lambda v: f"{v:,.4g}",
        f"{feature} {{v}} (typical {{m}})",
        f"{feature} {{v}}（中位数{{m}}）",
    )


def _missing(feature: str, zh: bool) -> str:
    if feature == "days_since_rm_contact":
        return "从未获客户经理联系" if zh else "never contacted by an RM"
    if feature == "recency_days":
        return "从无主动交易" if zh else "no own transaction ever"
    return f"{feature}：无数据" if zh else f"{feature} not known"
