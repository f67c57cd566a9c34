"""The sample bank exported as a Chinese core banking system would: the GB18030 example.

`crm sample --layout cn_bank_gb18030` writes the generated bank (dirt included, row for
row) in the layout configs/sources/cn_bank_gb18030.yml reads: Chinese column headers,
GB18030 text, a title line above the customer header, "2026/10/05" dates with the time
in a column of its own, "1,234.50" amounts, Chinese codes for gender, status, direction,
channel, transaction type and product, "-" / "无" for no value, one transaction file per
month and one month-end balance workbook (Excel, sheet 余额) per month. Relationship-
manager contacts and questionnaires are not part of this export (the reports say so).

The conversion is DuckDB SQL over the sample's CSVs read as text: a value that does not
parse (the sample's dirt) passes through unchanged, so ingest rejects it as it would the
original. Text is written as UTF-8 by DuckDB and re-encoded to GB18030 in blocks.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import duckdb
from openpyxl import Workbook

from pipeline.catalog import Catalog
from pipeline.config import read_yaml, source_config_path
from pipeline.errors import ConfigError
from pipeline.sample import writer as w

LAYOUTS = ("cn_bank_gb18030",)
BRANCH_NAMES = (
    "北京分行",
    "上海分行",
    "广州分行",
    "深圳分行",
    "成都分行",
    "杭州分行",
    "武汉分行",
    "南京分行",
    "西安分行",
    "重庆分行",
)
GENDER = {"M": "男", "F": "女"}
STATUS = {"active": "正常", "closed": "销户"}
ENROLLED = {"true": "是", "false": "否"}
DIRECTION = {"debit": "借", "credit": "贷"}
CHANNEL = {
    "mobile": "手机银行",
    "online": "网上银行",
    "counter": "柜面",
    "atm": "ATM",
    "pos": "POS",
    "other": "其他",
}
TXN_TYPE = {
    "transfer_out": "转账转出",
    "transfer_in": "转账转入",
    "cash_deposit": "存现",
    "cash_withdrawal": "取现",
    "card_purchase": "消费",
    "bill_payment": "缴费",
    "wealth_purchase": "理财申购",
    "salary_credit": "代发工资",
    "interest_credit": "结息",
    "fee": "手续费",
}
PRODUCT = {
    "current_deposit": "活期存款",
    "time_deposit": "定期存款",
    "wealth_management": "理财产品",
    "fund": "基金",
    "insurance": "保险",
    "bond": "债券",
    "loan": "贷款",
    "credit_card": "信用卡",
}
BLOCK = 1 << 20


def _case(column: str, mapping: dict[str, str], empty: str | None = None) -> str:
    """Chinese code of a value; an unknown one as it is; NULL as `empty`."""
    whens = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in sorted(mapping.items()))
    fallback = column if empty is None else f"coalesce({column}, '{empty}')"
    return f"CASE {column} {whens} ELSE {fallback} END"


def _date(column: str, fmt: str = "%Y/%m/%d", empty: str = "-") -> str:
    """A date as the core system prints it; unparseable text as it is; NULL as `empty`."""
    parsed = f"try_strptime({column}, ['%Y-%m-%d %H:%M:%S', '%Y-%m-%d'])"
    return f"coalesce(strftime({parsed}, '{fmt}'), {column}, '{empty}')"


def _amount(column: str) -> str:
    number = f"TRY_CAST({column} AS DECIMAL(18, 2))"
    return f"CASE WHEN {number} IS NULL THEN {column} ELSE format('{{:,.2f}}', {number}) END"


def _text_csv(con: duckdb.DuckDBPyConnection, sql: str, target: Path, title: str | None) -> None:
    """A query's rows as a GB18030 CSV (quoted where a value needs it), after `title`."""
    utf8 = target.with_suffix(".utf8")
    con.execute(f"COPY ({sql}) TO '{utf8}' (HEADER, DELIMITER ',', QUOTE '\"')")
    with (
        open(utf8, encoding="utf-8") as src,
        open(target, "w", encoding="gb18030", newline="") as out,
    ):
        if title:
            out.write(title + "\n")
        while block := src.read(BLOCK):
            out.write(block)
    utf8.unlink()


def _read(path: Path) -> str:
    return f"read_csv('{path}', all_varchar=true, header=true)"


def _branches(con: duckdb.DuckDBPyConnection, customers: Path) -> dict[str, str]:
    ids = sorted(
        r[0]
        for r in con.execute(f"SELECT DISTINCT branch_id FROM {_read(customers)}").fetchall()
        if r[0]
    )
    return {b: BRANCH_NAMES[i] if i < len(BRANCH_NAMES) else f"{b}分行" for i, b in enumerate(ids)}


def write_cn_bank(sample: Path, target: Path, end_month: str) -> dict[str, int]:
    """The sample exports under `sample` in the Chinese layout under `target`; files per table."""
    con = duckdb.connect()
    customers = sample / "customers.csv"
    branches = _branches(con, customers)
    cols = [
        "customer_id AS 客户号",
        "name AS 姓名",
        "national_id AS 身份证号",
        "phone AS 手机号",
        f"{_case('branch_id', branches)} AS 所属网点",
        f"{_date('open_date')} AS 开户日期",
        f"{_date('birth_date')} AS 出生日期",
        f"{_case('gender', GENDER, '-')} AS 性别",
        "coalesce(rm_id, '') AS 客户经理",
        f"{_case('status', STATUS, '-')} AS 客户状态",
        f"{_date('close_date')} AS 销户日期",
        f"{_case('digital_enrolled', ENROLLED, '-')} AS 手机银行签约",
    ]
    year, month = end_month.split("-")
    _text_csv(
        con,
        f"SELECT {', '.join(cols)} FROM {_read(customers)}",
        target / "客户信息.csv",
        f"某某银行个人客户信息导出 {year}年{int(month)}月",
    )
    counts = {"customers": 1, "transactions": 0, "balances": 0}
    (target / "交易流水").mkdir()
    for path in sorted((sample / "transactions").glob("transactions_*.csv")):
        label = path.stem.removeprefix("transactions_").replace("-", "")
        sql = f"""
            SELECT txn_id AS 流水号, customer_id AS 客户号,
                   {_date("txn_time", "%Y/%m/%d", "")} AS 交易日期,
                   coalesce(strftime(try_strptime(txn_time, '%Y-%m-%d %H:%M:%S'), '%H:%M:%S'),
                            '') AS 交易时间,
                   {_amount("amount")} AS 交易金额,
                   {_case("direction", DIRECTION)} AS 借贷标志,
                   {_case("channel", CHANNEL)} AS 交易渠道,
                   {_case("txn_type", TXN_TYPE)} AS 交易类型,
                   coalesce(revenue, '无') AS 手续费
            FROM {_read(path)}
        """
        _text_csv(con, sql, target / "交易流水" / f"交易流水_{label}.csv", None)
        counts["transactions"] += 1
    (target / "月末余额").mkdir()
    for path in sorted((sample / "balances").glob("balances_*.csv")):
        label = path.stem.removeprefix("balances_").replace("-", "")
        rows = con.execute(
            f"""
            SELECT customer_id,
                   coalesce(try_strptime(month_end, '%Y-%m-%d')::TIMESTAMP::VARCHAR, month_end),
                   try_strptime(month_end, '%Y-%m-%d') IS NOT NULL,
                   {_case("product", PRODUCT)}, balance, TRY_CAST(balance AS DOUBLE)
            FROM {_read(path)}
            """
        ).fetchall()
        book = Workbook(write_only=True)
        note = book.create_sheet("说明")
        note.append(["月末余额导出，单位：元"])
        sheet = book.create_sheet("余额")
        sheet.append(["客户号", "月末日期", "产品", "余额"])
        for cid, when, is_date, product, text, number in rows:
            sheet.append(
                [
                    cid,
                    datetime.fromisoformat(when) if is_date else when,
                    product,
                    number if number is not None else text,
                ]
            )
        book.save(target / "月末余额" / f"月末余额_{label}.xlsx")
        counts["balances"] += 1
    con.close()
    return counts


def run_layout(cfg: dict, catalog: Catalog, layout: str) -> str:
    """Convert the generated sample bank (crm sample) into `layout`'s exports, put in place
    under the layout's source config's raw folder only when complete."""
    if layout not in LAYOUTS:
        raise ConfigError(f"--layout: one of {', '.join(LAYOUTS)}; got {layout!r}")
    source = read_yaml(source_config_path(layout))
    target = catalog.data_dir / "raw" / str(source["raw_dir"])
    staging = w.fresh_staging(target)
    try:
        counts = write_cn_bank(catalog.raw_dir("sample"), staging, str(cfg["sample"]["end_month"]))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    w.promote(staging, target)
    return (
        f"  {layout} layout: {counts['transactions']} transaction files and "
        f"{counts['balances']} balance workbooks (GB18030, Chinese headers) in {target}; "
        f"ingest them with --source {layout}"
    )
