"""Salted pseudonyms for customer ids: same in every table and period, salt only from env."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.config import load_config
from pipeline.errors import ConfigError
from pipeline.privacy import hash_id, hash_id_sql, id_salt

SALT = "a-long-test-salt-with-'quote"


def test_python_and_duckdb_pseudonyms_agree() -> None:
    ids = ["C00000001", "C00000002", "客户0001"]
    with duckdb.connect() as con:
        got = [con.execute(f"SELECT {hash_id_sql('?', SALT)}", [i]).fetchall()[0][0] for i in ids]
    assert got == [hash_id(i, SALT) for i in ids]
    assert len(set(got)) == 3 and all(g.startswith("h") and len(g) == 21 for g in got)
    assert hash_id("C00000001", SALT) != hash_id("C00000001", SALT + "x")


def test_salt_is_required_from_the_environment_when_hashing_is_on() -> None:
    cfg = load_config(env={})
    assert id_salt(cfg, env={}) is None
    cfg["privacy"]["hash_customer_ids"] = True
    with pytest.raises(ConfigError, match="CRM_ID_SALT \\(found none\\)"):
        id_salt(cfg, env={})
    with pytest.raises(ConfigError, match="found 5 characters"):
        id_salt(cfg, env={"CRM_ID_SALT": "short"})
    assert id_salt(cfg, env={"CRM_ID_SALT": SALT}) == SALT


def _ids(path: Path) -> set[str]:
    return set(pd.read_parquet(path, columns=["customer_id"])["customer_id"].dropna())


def test_every_output_holds_pseudonyms_consistent_across_tables_and_periods(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    user = tmp_path / "hash.yml"
    user.write_text("privacy: {hash_customer_ids: true}\n", encoding="utf-8")
    runner = CliRunner()
    base = ["--data-dir", str(data), "--report-dir", str(tmp_path / "rep")]
    sample = runner.invoke(
        cli, [*base, "sample", "--customers", "600", "--months", "12", "--clean"]
    )
    assert sample.exit_code == 0, sample.output
    refused = runner.invoke(cli, [*base, "--config", str(user), "ingest"])
    assert refused.exit_code == 2 and "CRM_ID_SALT" in refused.output

    monkeypatch.setenv("CRM_ID_SALT", SALT)
    for args in (
        ["ingest"],
        ["features", "--period", "2026-09"],
        ["features", "--period", "2026-10"],
    ):
        result = runner.invoke(cli, [*base, "--config", str(user), *args])
        assert result.exit_code == 0, result.output

    raw = pd.read_csv(data / "raw" / "sample" / "customers.csv", dtype=str)["customer_id"]
    expected = {hash_id(c, SALT) for c in raw}
    customers = _ids(data / "interim" / "customers.parquet")
    assert customers == expected
    for table in ("transactions", "balances", "rm_contacts", "survey_responses"):
        assert _ids(data / "interim" / f"{table}.parquet") <= customers
    sept = _ids(data / "processed" / "2026-09" / "customer_features.parquet")
    octo = _ids(data / "processed" / "2026-10" / "customer_features.parquet")
    assert sept <= customers and octo <= customers and len(sept & octo) > 0.9 * len(sept)
    for path in (data / "interim").glob("*.parquet"):
        frame = pd.read_parquet(path)
        for column in frame.select_dtypes(include=["object", "string"]).columns:
            assert not frame[column].isin(set(raw)).any(), f"{path.name}.{column} has a raw id"
