"""Hand-made exports for the ingest tests: a tiny bank in the sample bank's layout.

Frames hold text exactly as an export would, so a test can dirty one cell and know
which line of which file it ends up on (line = row index + 2: a header, then data).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import yaml

from pipeline.catalog import Catalog
from pipeline.config import load_config, read_yaml

PROJECT = Path(__file__).resolve().parents[1]
SURVEY = read_yaml(PROJECT / "configs" / "surveys" / "customer_satisfaction.yml")
STAFF = read_yaml(PROJECT / "configs" / "surveys" / "staff_engagement.yml")
CUSTOMER_ITEMS = list(SURVEY["items"]) + ["overall", "nps"]
STAFF_ITEMS = list(STAFF["items"]) + ["overall", "enps"]


def bank_frames(n_customers: int = 6, txns_per_month: int = 8) -> dict[str, pd.DataFrame]:
    """A clean little bank: keys are file paths under raw/sample/."""
    ids = [f"C{i:04d}" for i in range(1, n_customers + 1)]
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "name": [f"Person {i}" for i in range(n_customers)],
            "national_id": [f"1101011990{i:08d}" for i in range(n_customers)],
            "phone": [f"1380000{i:04d}" for i in range(n_customers)],
            "branch_id": ["B01" if i % 2 else "B02" for i in range(n_customers)],
            "open_date": ["2020-01-15"] * n_customers,
            "birth_date": ["1980-05-01"] * n_customers,
            "gender": ["F" if i % 2 else "M" for i in range(n_customers)],
            "rm_id": ["RM1" if i == 0 else "" for i in range(n_customers)],
            "status": ["active"] * n_customers,
            "close_date": [""] * n_customers,
            "digital_enrolled": ["true" if i % 3 else "false" for i in range(n_customers)],
        }
    )
    frames = {"customers.csv": customers}
    types = ["transfer_out", "interest", "card_purchase", "cash_deposit"]
    channels = ["mobile", "online", "counter", "atm", "pos"]
    for month in ("2026-09", "2026-10"):
        n = txns_per_month
        frames[f"transactions/transactions_{month}.csv"] = pd.DataFrame(
            {
                "txn_id": [f"T{month.replace('-', '')}{i:05d}" for i in range(n)],
                "customer_id": [ids[i % n_customers] for i in range(n)],
                "txn_time": [f"{month}-{1 + i % 28:02d} 10:{i % 60:02d}:00" for i in range(n)],
                "amount": [f"{100 + 12.5 * i:.2f}" for i in range(n)],
                "direction": ["credit" if i % 2 else "debit" for i in range(n)],
                "channel": [channels[i % len(channels)] for i in range(n)],
                "txn_type": [types[i % len(types)] for i in range(n)],
                "revenue": [f"{0.5 * (i % 3):.2f}" for i in range(n)],
            }
        )
        last = pd.Period(month, freq="M").end_time.date().isoformat()
        frames[f"balances/balances_{month}.csv"] = pd.DataFrame(
            {
                "customer_id": ids * 2,
                "month_end": [last] * (2 * n_customers),
                "product": ["current_deposit"] * n_customers + ["loan"] * n_customers,
                "balance": [f"{1000 * (i + 1)}.00" for i in range(2 * n_customers)],
            }
        )
    frames["rm_contacts.csv"] = pd.DataFrame(
        {
            "customer_id": [ids[0], ids[0]],
            "rm_id": ["RM1", "RM1"],
            "contact_date": ["2026-09-03", "2026-10-07"],
            "channel": ["phone", "visit"],
            "outcome": ["reached", "sold"],
        }
    )
    survey = {
        "response_id": ["R1", "R2", "R3"],
        "branch_id": ["B01", "B02", "B01"],
        "response_date": ["2026-10-02", "2026-10-03", "2026-10-04"],
        "customer_id": [ids[0], "", ids[1]],
    }
    survey.update({item: ["4", "5", "3"] for item in CUSTOMER_ITEMS})
    survey["nps"] = ["9", "10", "6"]
    frames["survey_customer.csv"] = pd.DataFrame(survey)
    staff = {
        "response_id": ["S1", "S2"],
        "branch_id": ["B01", "B02"],
        "response_date": ["2026-10-05", "2026-10-06"],
        "role": ["rm", "teller"],
    }
    staff.update({item: ["4", "2"] for item in STAFF_ITEMS})
    staff["enps"] = ["8", "3"]
    frames["survey_staff.csv"] = pd.DataFrame(staff)
    return frames


def rejects(catalog, table: str) -> pd.DataFrame:
    """The quarantined rows of a table, as ingest wrote them."""
    return pd.read_parquet(catalog.rejects_dir / f"{table}.parquet")


def write_lines(path: Path, lines: list[str]) -> None:
    """An export written line by line (UTF-8, each line ended by a line feed)."""
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_frames(raw: Path, frames: dict[str, pd.DataFrame], encoding: str = "utf-8") -> None:
    for rel, frame in frames.items():
        path = raw / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False, encoding=encoding)


def source_variant(tmp: Path, change) -> Path:
    """A copy of configs/sources/sample.yml changed by `change(dict)`."""
    raw = yaml.safe_load((PROJECT / "configs" / "sources" / "sample.yml").read_text())
    change(raw)
    path = tmp / "variant.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def config_for(data_root: Path, source: str | Path = "sample", **overrides) -> tuple[dict, Catalog]:
    """A loaded config pointing at `data_root`, with dotted overrides."""
    cfg = load_config(
        data_dir=data_root,
        report_dir=data_root.parent / "reports",
        overrides={"source": str(source), **overrides},
        env={},
    )
    return cfg, Catalog.from_config(cfg)


def ingest_berka(root: Path) -> tuple[Path, dict, Catalog, str]:
    """Ingest the real Berka tables (../shared/data, linked in as <root>/raw/berka; the
    test skips when absent): its source folder, config, catalog and ingest summary."""
    from conftest import shared_data

    from pipeline.ingest.stage import run_ingest

    source = shared_data("berka")
    (root / "raw").mkdir(parents=True)
    os.symlink(source, root / "raw" / "berka")
    cfg, catalog = config_for(root, source="berka")
    return source, cfg, catalog, run_ingest(cfg, catalog)
