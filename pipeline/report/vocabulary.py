"""The bank's data in words, in English and Simplified Chinese: the churn model's features,
why a customer is at risk (reason templates), and why ingest rejected a row.

Report labels (titles, column heads, notes) are in i18n.py; this module holds the names
that come from the data and the models, so that no code name (`aum_change_pct_3m`,
`unknown_customer`) reaches a reader. Features named by a pattern -- an AUM change over
any configured number of months, holding any product -- are worded from the pattern.
"""

from __future__ import annotations

import re

# Model features (pipeline.scoring.churn.feature_columns) by name.
FEATURES: dict[str, dict[str, str]] = {
    "en": {
        "tenure_months": "Months as a customer",
        "age": "Age",
        "digital_enrolled": "Enrolled in digital banking",
        "aum": "AUM",
        "liabilities": "Borrowing (loans and cards)",
        "products_held": "Products held",
        "recency_days": "Days since the last own transaction",
        "frequency": "Activity in the RFM window (frequency)",
        "monetary": "Value of own transactions in the window",
        "txn_count": "Own transactions in the window",
        "digital_share": "Digital share of own transactions",
        "days_since_rm_contact": "Days since the last RM contact",
        "dormant": "Dormant",
        "rfm_r": "RFM recency score (1-5)",
        "rfm_f": "RFM frequency score (1-5)",
        "rfm_m": "RFM monetary score (1-5)",
        "gender_m": "Gender (male)",
        "tier_rank": "Tier",
        # patterns: {k} months, {product}
        "aum_change_k": "AUM change over {k} months (amount)",
        "aum_change_pct_k": "AUM change over {k} months (%)",
        "has_product": "Holds {product}",
    },
    "zh_CN": {
        "tenure_months": "客户关系时长（月）",
        "age": "年龄",
        "digital_enrolled": "已开通数字银行",
        "aum": "资产管理规模（AUM）",
        "liabilities": "负债（贷款与信用卡）",
        "products_held": "持有产品数",
        "recency_days": "距上次主动交易天数",
        "frequency": "RFM窗口内活跃度（频度）",
        "monetary": "窗口内主动交易贡献",
        "txn_count": "窗口内主动交易笔数",
        "digital_share": "数字渠道交易占比",
        "days_since_rm_contact": "距客户经理上次联系天数",
        "dormant": "休眠",
        "rfm_r": "RFM近度评分（1-5）",
        "rfm_f": "RFM频度评分（1-5）",
        "rfm_m": "RFM金额评分（1-5）",
        "gender_m": "性别（男）",
        "tier_rank": "客户层级",
        "aum_change_k": "近{k}个月AUM变动额",
        "aum_change_pct_k": "近{k}个月AUM变动率",
        "has_product": "持有{product}",
    },
}

# Why a customer is at risk: {v} the customer's value, {m} the typical customer's, both
# already formatted; "_na" when the customer has no value; flags have "_yes" and "_no".
REASONS: dict[str, dict[str, str]] = {
    "en": {
        "recency_days": "no own transaction for {v} days (typical {m})",
        "recency_days_na": "no own transaction ever",
        "frequency_day": "active on {v} days in the window (typical {m})",
        "frequency_transaction": "{v} own transactions in the window (typical {m})",
        "txn_count": "{v} own transactions in the window (typical {m})",
        "monetary": "own transactions worth {v} in the window (typical {m})",
        "aum": "AUM {v} (typical {m})",
        "liabilities": "borrowing {v} (typical {m})",
        "products_held": "{v} products held (typical {m})",
        "digital_share": "{v} of own transactions on digital channels (typical {m})",
        "days_since_rm_contact": "no RM contact for {v} days (typical {m})",
        "days_since_rm_contact_na": "never contacted by an RM",
        "tenure_months": "customer for {v} months (typical {m})",
        "age": "aged {v} (typical {m})",
        "rfm_r": "RFM recency score {v} of 5 (typical {m})",
        "rfm_f": "RFM frequency score {v} of 5 (typical {m})",
        "rfm_m": "RFM monetary score {v} of 5 (typical {m})",
        "tier_rank": "{v} tier (typical {m})",
        "aum_down": "AUM down {v} in {k} months",
        "aum_up": "AUM up {v} in {k} months",
        "aum_same": "AUM unchanged in {k} months",
        "aum_change_na": "no AUM {k} months ago",
        "typical_change": " (typical {m})",
        "typical_unchanged": " (typical: unchanged)",
        "dormant_yes": "dormant",
        "dormant_no": "not dormant",
        "digital_enrolled_yes": "enrolled in digital banking",
        "digital_enrolled_no": "not enrolled in digital banking",
        "gender_m_yes": "male",
        "gender_m_no": "female",
        "has_yes": "holds {product}",
        "has_no": "does not hold {product}",
        "other": "{feature}: {v} (typical {m})",
        "missing": "{feature}: not known",
        "separator": "; ",
    },
    "zh_CN": {
        "recency_days": "{v}天无主动交易（一般客户{m}天）",
        "recency_days_na": "从无主动交易",
        "frequency_day": "窗口内活跃{v}天（一般客户{m}天）",
        "frequency_transaction": "窗口内主动交易{v}笔（一般客户{m}笔）",
        "txn_count": "窗口内主动交易{v}笔（一般客户{m}笔）",
        "monetary": "窗口内主动交易贡献{v}（一般客户{m}）",
        "aum": "AUM {v}（一般客户{m}）",
        "liabilities": "负债{v}（一般客户{m}）",
        "products_held": "持有{v}种产品（一般客户{m}种）",
        "digital_share": "数字渠道交易占比{v}（一般客户{m}）",
        "days_since_rm_contact": "{v}天未获客户经理联系（一般客户{m}天）",
        "days_since_rm_contact_na": "从未获客户经理联系",
        "tenure_months": "开户{v}个月（一般客户{m}个月）",
        "age": "年龄{v}岁（一般客户{m}岁）",
        "rfm_r": "RFM近度评分{v}分（满分5分，一般客户{m}分）",
        "rfm_f": "RFM频度评分{v}分（满分5分，一般客户{m}分）",
        "rfm_m": "RFM金额评分{v}分（满分5分，一般客户{m}分）",
        "tier_rank": "{v}（一般客户为{m}）",
        # a zero width space: the line may break before 下降/上升 (never inside a word)
        "aum_down": "近{k}个月AUM\u200b下降{v}",
        "aum_up": "近{k}个月AUM\u200b上升{v}",
        "aum_same": "近{k}个月AUM不变",
        "aum_change_na": "{k}个月前无AUM",
        "typical_change": "（一般客户{m}）",
        "typical_unchanged": "（一般客户不变）",
        "dormant_yes": "休眠",
        "dormant_no": "非休眠",
        "digital_enrolled_yes": "已开通数字银行",
        "digital_enrolled_no": "未开通数字银行",
        "gender_m_yes": "男性",
        "gender_m_no": "女性",
        "has_yes": "持有{product}",
        "has_no": "未持有{product}",
        "other": "{feature}：{v}（一般客户{m}）",
        "missing": "{feature}：无数据",
        "separator": "；",
    },
}

# Why ingest rejected a row (pipeline/ingest: cast.py, checks.py, core.py).
DATA_QUALITY: dict[str, dict[str, str]] = {
    "en": {
        "missing_value": "required value missing",
        "invalid_value": "value not among the allowed ones",
        "unparseable_number": "not a number",
        "unparseable_date": "not a date",
        "unparseable_timestamp": "not a date and time",
        "unparseable_bool": "not yes or no",
        "malformed_row": "row could not be read (wrong number of fields)",
        "after_as_of": "dated after the as-of date",
        "before_earliest_date": "dated before the earliest allowed date",
        "close_before_open": "closed before it was opened",
        "amount_not_positive": "amount zero or negative",
        "negative_balance": "negative balance on an asset product",
        "not_month_end": "balance date not a month end",
        "likert_out_of_scale": "answer outside the questionnaire's scale",
        "nps_out_of_range": "recommendation score outside 0-10",
        "unknown_customer": "customer not in the customer file",
        "out_of_bounds": "amount or balance beyond the bank's bounds",
        "unsafe_identifier": "identifier with characters not allowed in file names",
    },
    "zh_CN": {
        "missing_value": "必填值缺失",
        "invalid_value": "取值不在允许范围",
        "unparseable_number": "不是数字",
        "unparseable_date": "不是日期",
        "unparseable_timestamp": "不是日期时间",
        "unparseable_bool": "不是是/否值",
        "malformed_row": "行无法读取（字段数不符）",
        "after_as_of": "日期晚于数据截止日",
        "before_earliest_date": "日期早于允许的最早日期",
        "close_before_open": "销户日期早于开户日期",
        "amount_not_positive": "金额为零或负数",
        "negative_balance": "资产类产品余额为负",
        "not_month_end": "余额日期不是月末",
        "likert_out_of_scale": "答案超出问卷量表",
        "nps_out_of_range": "推荐评分超出0至10",
        "unknown_customer": "客户不在客户文件中",
        "out_of_bounds": "金额或余额超出本行设定范围",
        "unsafe_identifier": "标识符含文件名不允许的字符",
    },
}

AUM_CHANGE = re.compile(r"^aum_change_(pct_)?(\d+)m$")
PRODUCT_FLAG = "has_"


def feature_label(locale: str, feature: str, product_name) -> str:
    """A model feature's name in words; `product_name(p)` words a product. A feature
    with no label is shown as it is named (a test keeps every model feature labelled)."""
    names = FEATURES[locale]
    if feature in names:
        return names[feature]
    match = AUM_CHANGE.match(feature)
    if match:
        key = "aum_change_pct_k" if match.group(1) else "aum_change_k"
        return names[key].format(k=match.group(2))
    if feature.startswith(PRODUCT_FLAG):
        return names["has_product"].format(product=product_name(feature[len(PRODUCT_FLAG) :]))
    return feature


def has_feature_label(feature: str) -> bool:
    """Whether feature_label words `feature` in every locale (not its code name)."""
    return all(feature_label(loc, feature, str) != feature for loc in FEATURES)


def data_quality_reason(locale: str, code: str) -> str:
    """Why ingest rejected rows, in words (an unknown code is shown as it is)."""
    return DATA_QUALITY[locale].get(code, code)
