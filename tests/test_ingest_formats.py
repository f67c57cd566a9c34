"""Encodings, Excel, Parquet, and the Chinese-header GB18030 export.

The Chinese export is read with configs/sources/cn_bank_gb18030.yml.
"""

from __future__ import annotations

import codecs
import datetime as dt
import gzip
import hashlib
from pathlib import Path

import pandas as pd
import pytest
from test_ingest_support import bank_frames, config_for, write_frames

from pipeline.errors import InputError
from pipeline.ingest.stage import run_ingest
from pipeline.io import read_json

PROJECT = Path(__file__).resolve().parents[1]
TXN_OCT = "transactions/transactions_2026-10.csv"


def chinese_export(raw: Path, encoding: str = "gb18030") -> None:
    """A small export as a Chinese core banking system writes it."""
    raw.mkdir(parents=True, exist_ok=True)
    customers = (
        "某某银行个人客户信息导出 2026年10月\n"
        "客户号,姓名,身份证号,手机号,联系地址,所属网点,开户日期,出生日期,性别,客户经理,客户状态,销户日期,手机银行签约\n"
        "000101,张三,110101198001011234,13812345678,北京市朝阳区,北京分行,2019/03/05,1980/01/01,男,RM01,正常,-,是\n"
        "000102,李四,110101199002022345,13987654321,上海市浦东新区,上海分行,2020/07/15,1990/02/02,女,,销户,2026/09/30,否\n"
    )
    (raw / "客户信息.csv").write_bytes(customers.encode(encoding))
    header = "流水号,客户号,交易日期,交易时间,交易金额,借贷标志,交易渠道,交易类型,手续费\n"
    october = header + (
        'T1,000101,2026/10/05,14:03:22,"1,234.50",借,手机银行,转账转出,0.50\n'
        "T2,000101,2026/10/06,09:00:00,88.00,借,柜面,取现,0\n"
        "T3,000102,2026/09/30,18:30:00,12.34,贷,其他,结息,0\n"
        'T4,000101,2026/10/31,,"12,000.00",贷,网上银行,转账转入,无\n'
        "T5,000102,2026/10/07,10:00:00,5.00,借,ATM,取现,2.00\n"
        "T6,000101,2026/10/08,11:00:00,66.60,借,POS,消费,0\n"
    )
    (raw / "交易流水").mkdir(exist_ok=True)
    (raw / "交易流水" / "交易流水_202610.csv").write_bytes(october.encode(encoding))
    balances = pd.DataFrame(
        {
            "客户号": ["000101", "000101", "000102"],
            "月末日期": [
                dt.datetime(2026, 9, 30),
                dt.datetime(2026, 9, 30),
                dt.datetime(2026, 9, 30),
            ],
            "产品": ["活期存款", "理财产品", "贷款"],
            "余额": [15000.5, 200000, 50000],
        }
    )
    (raw / "月末余额").mkdir(exist_ok=True)
    with pd.ExcelWriter(raw / "月末余额" / "月末余额_202609.xlsx", engine="openpyxl") as writer:
        pd.DataFrame({"说明": ["首页"]}).to_excel(writer, sheet_name="说明", index=False)
        balances.to_excel(writer, sheet_name="余额", index=False)


def test_chinese_gb18030_export_maps_onto_canonical_tables(data_root):
    chinese_export(data_root / "raw" / "cn_bank")
    cfg, catalog = config_for(data_root, source="cn_bank_gb18030")
    run_ingest(cfg, catalog)
    customers = pd.read_parquet(catalog.interim_table("customers"))
    assert customers["customer_id"].tolist() == ["000101", "000102"]  # leading zeros kept
    assert customers["branch_id"].tolist() == ["北京分行", "上海分行"]
    assert customers["gender"].tolist() == ["M", "F"]
    assert customers["status"].tolist() == ["active", "closed"]
    assert customers["open_date"].tolist() == [dt.date(2019, 3, 5), dt.date(2020, 7, 15)]
    assert customers["close_date"].isna().tolist() == [True, False]
    assert customers["digital_enrolled"].tolist() == [True, False]
    assert customers["phone_masked"].tolist() == ["********678", "********321"]
    assert not {"姓名", "身份证号", "手机号", "name", "phone"} & set(customers.columns)

    txns = pd.read_parquet(catalog.interim_table("transactions"))
    txns = txns.set_index("txn_id").sort_index()
    assert txns.loc["T1", "amount"] == 1234.5
    assert txns.loc["T4", "amount"] == 12000.0
    assert txns["channel"].to_dict() == {
        "T1": "mobile",
        "T2": "counter",
        "T3": "other",
        "T4": "online",
        "T5": "atm",
        "T6": "pos",
    }
    assert txns["direction"].tolist() == ["debit", "debit", "credit", "credit", "debit", "debit"]
    assert txns.loc["T1", "txn_time"] == pd.Timestamp("2026-10-05 14:03:22")
    assert txns.loc["T4", "txn_time"] == pd.Timestamp("2026-10-31 00:00:00")  # no time given
    assert pd.isna(txns.loc["T4", "revenue"])  # 无 = no value
    assert txns["txn_type"].tolist() == [
        "transfer_out",
        "cash_withdrawal",
        "interest",
        "transfer_in",
        "cash_withdrawal",
        "card_purchase",
    ]
    assert txns["customer_initiated"].tolist() == [True, True, False, False, True, True]

    balances = pd.read_parquet(catalog.interim_table("balances"))
    assert balances[["customer_id", "product", "balance"]].values.tolist() == [
        ["000101", "current_deposit", 15000.5],
        ["000101", "wealth_management", 200000.0],
        ["000102", "loan", 50000.0],
    ]
    assert set(balances["month_end"]) == {dt.date(2026, 9, 30)}
    manifest = read_json(catalog.ingest_manifest)
    assert manifest["as_of"] == "2026-10-31"
    assert {t: c["accepted"] for t, c in manifest["tables"].items()} == {
        "customers": 2,
        "transactions": 6,
        "balances": 3,
    }
    blob = b"".join(p.read_bytes() for p in catalog.interim_dir.rglob("*") if p.is_file())
    for secret in ("张三", "110101198001011234", "13812345678", "朝阳区"):
        assert secret.encode() not in blob


def test_chinese_export_rejects_name_the_excel_row(data_root):
    raw = data_root / "raw" / "cn_bank"
    chinese_export(raw)
    workbook = raw / "月末余额" / "月末余额_202609.xlsx"
    frame = pd.read_excel(workbook, sheet_name="余额", dtype=object)
    frame.loc[1, "余额"] = -3  # a negative wealth-management balance, Excel row 3
    with pd.ExcelWriter(workbook, engine="openpyxl") as writer:
        frame.to_excel(writer, sheet_name="余额", index=False)
    cfg, catalog = config_for(
        data_root, source="cn_bank_gb18030", **{"ingest.max_reject_rate": 0.5}
    )
    run_ingest(cfg, catalog)
    rejects = pd.read_parquet(catalog.rejects_dir / "balances.parquet")
    assert rejects[["source_file", "line_number", "column", "reason"]].values.tolist() == [
        ["月末余额/月末余额_202609.xlsx", 3, "balance", "negative_balance"],
    ]


def test_utf8_file_declared_gb18030_is_refused(data_root):
    chinese_export(data_root / "raw" / "cn_bank", encoding="utf-8")
    cfg, catalog = config_for(data_root, source="cn_bank_gb18030")
    with pytest.raises(
        InputError, match=r"客户信息\.csv: the file is declared gb18030 but its bytes are UTF-8"
    ):
        run_ingest(cfg, catalog)


def test_gb18030_line_that_does_not_decode_is_named(data_root):
    raw = data_root / "raw" / "cn_bank"
    chinese_export(raw)
    path = raw / "交易流水" / "交易流水_202610.csv"
    path.write_bytes(path.read_bytes() + b"T7,000101,2026/10/09,11:00:00,1.00,\x81\x20,POS,x,0\n")
    cfg, catalog = config_for(data_root, source="cn_bank_gb18030")
    with pytest.raises(
        InputError, match=r"交易流水_202610\.csv: line 8: bytes are not valid gb18030"
    ):
        run_ingest(cfg, catalog)


def test_utf8_with_bom_reads_the_first_header(data_root):
    frames = bank_frames()
    write_frames(data_root / "raw" / "sample", frames)
    frames["customers.csv"].to_csv(
        data_root / "raw" / "sample" / "customers.csv", index=False, encoding="utf-8-sig"
    )
    assert (data_root / "raw" / "sample" / "customers.csv").read_bytes()[:3] == b"\xef\xbb\xbf"
    cfg, catalog = config_for(data_root)
    run_ingest(cfg, catalog)
    customers = pd.read_parquet(catalog.interim_table("customers"))
    assert customers["customer_id"].tolist() == [f"C{i:04d}" for i in range(1, 7)]


def test_excel_and_parquet_sources(data_root, tmp_path):
    """The same bank with customers as .xlsx and transactions as Parquet: the same tables."""
    frames = bank_frames()
    write_frames(data_root / "raw" / "sample", frames)
    cfg, catalog = config_for(data_root)
    run_ingest(cfg, catalog)
    expected = {t: pd.read_parquet(catalog.interim_table(t)) for t in ("customers", "transactions")}

    other = tmp_path / "other"
    other.mkdir()
    raw = other / "raw" / "sample"
    write_frames(raw, frames)
    (raw / "customers.csv").unlink()
    customers = frames["customers.csv"].copy()
    customers["open_date"] = pd.to_datetime(customers["open_date"])  # real Excel dates
    customers.to_excel(raw / "customers.xlsx", index=False)
    for path in sorted((raw / "transactions").glob("*.csv")):
        typed = pd.read_csv(path, dtype=str)
        typed["txn_time"] = pd.to_datetime(typed["txn_time"])
        typed["amount"] = typed["amount"].astype(float)
        typed.to_parquet(path.with_suffix(".parquet"), index=False)
        path.unlink()
    text = (PROJECT / "configs" / "sources" / "sample.yml").read_text(encoding="utf-8")
    text = text.replace("    files: customers.csv", "    files: customers.xlsx\n    format: xlsx")
    text = text.replace(
        "    files: transactions/transactions_*.csv",
        "    files: transactions/transactions_*.parquet\n    format: parquet",
    )
    config = tmp_path / "sample_mixed.yml"
    config.write_text(text, encoding="utf-8")
    cfg2, catalog2 = config_for(other, source=config)
    run_ingest(cfg2, catalog2)
    for table, frame in expected.items():
        pd.testing.assert_frame_equal(pd.read_parquet(catalog2.interim_table(table)), frame)


# --- UTF-16: Excel's "Unicode text" and a database's wide-character dump ------------------


def customers_as(data_root: Path, tmp_path: Path, data: bytes, **read) -> tuple:
    """The little bank with customers.csv replaced by `data` and its reading options set
    to `read`; the config and catalog to ingest it."""
    frames = bank_frames()
    write_frames(data_root / "raw" / "sample", frames)
    (data_root / "raw" / "sample" / "customers.csv").write_bytes(data)
    options = "".join(f"\n    {key}: {value!r}" for key, value in read.items())
    source = (PROJECT / "configs" / "sources" / "sample.yml").read_text(encoding="utf-8")
    source = source.replace("    files: customers.csv", "    files: customers.csv" + options)
    config = tmp_path / "wide.yml"
    config.write_text(source, encoding="utf-8")
    return config_for(data_root, source=config, **{"ingest.max_reject_rate": 1.0})


def customers_text(frames: dict | None = None, separator: str = ",") -> str:
    frames = frames or bank_frames()
    return frames["customers.csv"].to_csv(index=False, sep=separator, lineterminator="\n")


def test_excel_unicode_text_reads_as_its_utf8_twin(data_root, tmp_path):
    """UTF-16 with a byte-order mark, tab-separated, names with 上 (U+4E0A, whose low byte
    is a line feed's) before a bad value: the same rows, the reject on its true line."""
    frames = bank_frames()
    customers = frames["customers.csv"]
    customers["name"] = ["上官婉儿", "上官仪", "李上", "王五", "赵六", "钱七"]
    customers.loc[4, "status"] = "activ"
    customers.loc[1, "gender"] = " F "  # padding is trimmed, as in a UTF-8 file
    text = customers_text(frames, "\t")
    cfg, catalog = customers_as(
        data_root, tmp_path, text.encode("utf-16"), encoding="utf-16", separator="\t"
    )
    run_ingest(cfg, catalog)
    got = pd.read_parquet(catalog.interim_table("customers"))
    assert got["customer_id"].tolist() == ["C0001", "C0002", "C0003", "C0004", "C0006"]
    assert got["gender"].tolist()[1] == "F"
    reject = pd.read_parquet(catalog.rejects_dir / "customers.parquet")
    assert reject[["line_number", "column", "value"]].values.tolist() == [[6, "status", "activ"]]
    files = read_json(catalog.ingest_manifest)["files"]
    entry = next(f for f in files if f["file"] == "customers.csv")
    assert entry["line_numbers"] == "exact"


def test_utf16_without_a_mark_trims_padding_as_utf8_does(data_root, tmp_path):
    """ASCII text in UTF-16LE has only ASCII bytes (zeros between): padding must be seen
    in the decoded text, not in the raw bytes."""
    frames = bank_frames()
    frames["customers.csv"].loc[2, "status"] = " active "
    text = customers_text(frames)
    cfg, catalog = customers_as(data_root, tmp_path, text.encode("utf-16-le"), encoding="utf-16-le")
    run_ingest(cfg, catalog)
    assert read_json(catalog.ingest_manifest)["tables"]["customers"]["rejected"] == 0
    got = pd.read_parquet(catalog.interim_table("customers"))
    assert got["status"].tolist() == ["active"] * 6


WRONG_WIDTH = [
    (
        "utf-16",
        {},
        r"starts with a UTF-16 byte-order mark \(little-endian\) but is declared "
        r"utf-8; set `encoding: utf-16`",
    ),
    ("utf-16-be", {"encoding": "gb18030"}, None),  # no mark: zero bytes are the evidence
    ("utf-16-le", {}, r"first bytes are zero.*declared utf-8; set `encoding: utf-16-le`"),
    ("utf-8", {"encoding": "utf-16"}, r"declared utf-16 but holds no zero byte.*utf-8"),
    ("utf-32", {"encoding": "utf-16"}, r"UTF-32 byte-order mark.*declared utf-16"),
]


@pytest.mark.parametrize("written, read, message", WRONG_WIDTH)
def test_a_file_in_another_width_is_named_at_its_start(data_root, tmp_path, written, read, message):
    text = customers_text()
    cfg, catalog = customers_as(data_root, tmp_path, text.encode(written), **read)
    expected = message or r"declared gb18030; set `encoding: utf-16-be`"
    with pytest.raises(InputError, match=r"customers\.csv: .*" + expected):
        run_ingest(cfg, catalog)
    assert not catalog.interim_table("customers").exists()


def test_damaged_utf16_names_the_line(data_root, tmp_path):
    """A lone surrogate (text joined mid-character) at the start of line 5, in a
    big-endian file (its byte-order mark says so; the line is counted in its order)."""
    lines = customers_text().split("\n")
    lines[4] = "\udc00" + lines[4]
    data = codecs.BOM_UTF16_BE + "\n".join(lines).encode("utf-16-be", "surrogatepass")
    cfg, catalog = customers_as(data_root, tmp_path, data, encoding="utf-16")
    with pytest.raises(
        InputError, match=r"customers\.csv: line 5: bytes are not valid utf-16 .*damaged"
    ):
        run_ingest(cfg, catalog)


# --- compressed exports and files that are not text ---------------------------------------


def test_a_gzip_export_reads_as_the_plain_file(data_root, tmp_path):
    """transactions_*.csv.gz (two gzip members in one file, as `cat a.gz b.gz` writes):
    the same table and line numbers as the plain files; the manifest's sha256 is of the
    bytes on disk."""
    frames = bank_frames()
    frames[TXN_OCT].loc[3, "amount"] = "12,50"
    write_frames(data_root / "raw" / "sample", frames)
    cfg, catalog = config_for(data_root, **{"ingest.max_reject_rate": 1.0})
    run_ingest(cfg, catalog)
    plain = pd.read_parquet(catalog.interim_table("transactions"))
    plain_rejects = pd.read_parquet(catalog.rejects_dir / "transactions.parquet")

    other = tmp_path / "gz" / "data"
    raw = other / "raw" / "sample"
    write_frames(raw, frames)
    for path in sorted((raw / "transactions").glob("*.csv")):
        data = path.read_bytes()
        half = data.index(b"\n", len(data) // 2) + 1
        path.with_suffix(".csv.gz").write_bytes(
            gzip.compress(data[:half]) + gzip.compress(data[half:])
        )
        path.unlink()
    source = (PROJECT / "configs" / "sources" / "sample.yml").read_text(encoding="utf-8")
    config = tmp_path / "gz.yml"
    config.write_text(source.replace("transactions_*.csv", "transactions_*.csv.gz"))
    cfg2, catalog2 = config_for(other, source=config, **{"ingest.max_reject_rate": 1.0})
    run_ingest(cfg2, catalog2)
    pd.testing.assert_frame_equal(pd.read_parquet(catalog2.interim_table("transactions")), plain)
    rejects = pd.read_parquet(catalog2.rejects_dir / "transactions.parquet")
    assert rejects["line_number"].tolist() == plain_rejects["line_number"].tolist() == [5]
    assert rejects["source_file"].tolist() == [TXN_OCT + ".gz"]
    files = read_json(catalog2.ingest_manifest)["files"]
    gz = next(f for f in files if f["file"] == TXN_OCT + ".gz")
    assert gz["sha256"] == hashlib.sha256((raw / (TXN_OCT + ".gz")).read_bytes()).hexdigest()


@pytest.mark.parametrize(
    "data, read, done",
    [
        (gzip.compress(b"", mtime=0), {}, "decompressed"),  # mtime 0: one test id everywhere
        (codecs.BOM_UTF16_LE, {"encoding": "utf-16"}, "decoded"),
    ],
)
def test_a_file_of_bytes_but_no_text_is_empty(data_root, tmp_path, data, read, done):
    cfg, catalog = customers_as(data_root, tmp_path, data, **read)
    with pytest.raises(
        InputError, match=rf"customers\.csv: the file is empty once {done} \(no text\)$"
    ):
        run_ingest(cfg, catalog)


def test_a_damaged_gzip_export_is_named(data_root, tmp_path):
    text = customers_text()
    cut = gzip.compress(text.encode())[:-20]
    cfg, catalog = customers_as(data_root, tmp_path, cut)
    with pytest.raises(InputError, match=r"customers\.csv: the gzip-compressed file is damaged"):
        run_ingest(cfg, catalog)


def _workbook(frame: pd.DataFrame, tmp_path: Path) -> bytes:
    path = tmp_path / "book.xlsx"
    frame.to_excel(path, index=False)
    return path.read_bytes()


def _parquet(frame: pd.DataFrame, tmp_path: Path) -> bytes:
    path = tmp_path / "table.parquet"
    frame.to_parquet(path, index=False)
    return path.read_bytes()


NOT_TEXT = [
    (
        _workbook,
        r"a ZIP archive \(an Excel \.xlsx workbook is one\): for a workbook set "
        r"`format: xlsx`",
    ),
    (lambda frame, tmp: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), r"an Excel 97-2003"),
    (_parquet, r"a Parquet file: set `format: parquet`"),
]


@pytest.mark.parametrize("write, message", NOT_TEXT)
def test_a_file_that_is_not_text_says_what_to_declare(data_root, tmp_path, write, message):
    frames = bank_frames()
    data = write(frames["customers.csv"], tmp_path)
    cfg, catalog = customers_as(data_root, tmp_path, data)
    with pytest.raises(
        InputError, match=r"customers\.csv: declared CSV but the file is " + message
    ):
        run_ingest(cfg, catalog)


@pytest.mark.parametrize(
    "sheet, message",
    [
        ("Customers", r"Worksheet named 'Customers' not found; its sheets are: 说明, 客户 "),
        (2, r"its sheets are: 说明, 客户 \(set `sheet:` for this table\)"),
    ],
)
def test_a_sheet_not_in_the_workbook_lists_the_sheets(data_root, tmp_path, sheet, message):
    frames = bank_frames()
    book = tmp_path / "book.xlsx"
    with pd.ExcelWriter(book, engine="openpyxl") as writer:
        pd.DataFrame({"说明": ["首页"]}).to_excel(writer, sheet_name="说明", index=False)
        frames["customers.csv"].to_excel(writer, sheet_name="客户", index=False)
    cfg, catalog = customers_as(data_root, tmp_path, book.read_bytes(), format="xlsx", sheet=sheet)
    with pytest.raises(
        InputError, match=r"customers\.csv: cannot be read as an Excel .*" + message
    ):
        run_ingest(cfg, catalog)


def test_a_blank_row_in_a_workbook_is_no_row_as_in_a_csv(data_root, tmp_path):
    """A sheet with an empty row between customers (and formatted empty rows below them):
    no row, no reject, and the rows after it keep their Excel row numbers."""
    import openpyxl

    frames = bank_frames()
    customers = frames["customers.csv"]
    customers.loc[4, "status"] = "activ"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(customers.columns))
    for i, row in enumerate(customers.itertuples(index=False)):
        if i == 2:
            sheet.append([None] * len(customers.columns))  # Excel row 4
        sheet.append(["" if v == "" else v for v in row])
    for r in range(10, 14):
        sheet.cell(row=r, column=1).number_format = "0.00"
    path = tmp_path / "book.xlsx"
    book.save(path)
    cfg, catalog = customers_as(data_root, tmp_path, path.read_bytes(), format="xlsx")
    run_ingest(cfg, catalog)
    t = read_json(catalog.ingest_manifest)["tables"]["customers"]
    assert (t["rows_read"], t["accepted"], t["rejected"]) == (6, 5, 1)
    got = pd.read_parquet(catalog.rejects_dir / "customers.parquet")
    assert got[["line_number", "column", "value"]].values.tolist() == [[7, "status", "activ"]]
