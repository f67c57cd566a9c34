"""`crm init <dir>`: the files a new bank starts from, written from the package's own.

- `<dir>/crm.yml`: a user config holding the settings a bank sets first (its source
  config, locale, currency, tiers), each with a comment; every other key keeps the
  package default (`crm config` prints the merged result). Relative paths in it are
  relative to the file, so the folder can be run from anywhere.
- `<dir>/sources/<bank>.yml`: a copy of a bundled source config (by default the Chinese
  core-system export, which maps headers, encodings, date formats and values), renamed
  for the bank, with the source config format described on top.
- `<dir>/data/raw/<bank>/`: where the exports go.
Nothing is overwritten unless asked.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from pipeline.config import read_yaml, source_config_path
from pipeline.errors import ConfigError
from pipeline.resources import bundled, default_config

BANK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
FORMAT_START = "# Source config format"

CONFIG_TEMPLATE = """\
# {bank}: this bank's settings, on top of the package defaults.
# `crm --config {config} config` prints the merged config (every key, with defaults);
# any key printed there may be set here. Relative paths are relative to this file.
#
#   crm --config {config} ingest                 # check and load the exports
#   crm --config {config} run --period YYYY-MM   # every stage for one month

paths:
  data_dir: data          # raw/{bank}/ holds the exports; interim/ and processed/ are written here
  report_dir: reports     # build/<YYYY-MM>/ holds the reports

source: sources/{bank}.yml   # how the exports map onto the canonical tables
# Reports: labels in en or zh_CN; numbers, money and dates in any locale (es_ES, cs_CZ, ...).
locale: {locale}
currency: {currency}   # ISO 4217 code of the amounts in the exports

# AUM thresholds in that currency; each tier starts at min_aum, the first at 0.
tiers:
{tiers}
rm_tiers: {rm_tiers}   # tiers that should have a relationship manager
"""


def starter_config(bank: str, config_name: str) -> str:
    """The text of a new bank's crm.yml, its values the package defaults."""
    defaults = read_yaml(default_config())
    tiers = "\n".join(
        f"  - {{name: {t['name']}, min_aum: {t['min_aum']}}}" for t in defaults["tiers"]
    )
    return CONFIG_TEMPLATE.format(
        bank=bank,
        config=config_name,
        locale=defaults["locale"],
        currency=defaults["currency"],
        tiers=tiers,
        rm_tiers=yaml.safe_dump(defaults["rm_tiers"], default_flow_style=True).strip(),
    )


def format_notes() -> str:
    """The comment block describing the source config format (from the bundled sample's
    header), or nothing if the bundled sample no longer carries one."""
    lines = source_config_path("sample").read_text(encoding="utf-8").splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(FORMAT_START)), None)
    if start is None:
        return ""
    block = []
    for line in lines[start:]:
        if not line.startswith("#"):
            break
        block.append(line)
    return "\n".join(block) + "\n"


def starter_source(bank: str, like: str, config_name: str) -> str:
    """A bundled source config's text, renamed for `bank` and reading raw/<bank>/."""
    text = source_config_path(like).read_text(encoding="utf-8")
    text, named = re.subn(r"(?m)^name:.*$", f"name: {bank}", text, count=1)
    text, moved = re.subn(
        r"(?m)^raw_dir:.*$", f"raw_dir: {bank}                # under <data>/raw/", text, count=1
    )
    if not (named and moved):
        raise ConfigError(f"{source_config_path(like)}: has no name: or raw_dir: line to rename")
    header = (
        f"# {bank}: how this bank's exports map onto the canonical tables. Started from the\n"
        f"# bundled `{like}` source config: change the file names, columns, formats and value\n"
        f"# maps to the bank's own, then check them with\n"
        f"#   crm --config {config_name} validate\n#\n"
    )
    return header + format_notes() + "\n" + text


def write_starter(directory: Path, bank: str, like: str, force: bool = False) -> list[Path]:
    """Write crm.yml, sources/<bank>.yml and data/raw/<bank>/ under `directory`; return
    what was written. Existing files stop it (nothing written) unless `force`."""
    if not BANK_NAME.fullmatch(bank):
        raise ConfigError(f"--bank: {bank!r} must be letters, digits, _ or - (a file name)")
    if like not in bundled("sources"):
        known = ", ".join(bundled("sources"))
        raise ConfigError(f"--like: no bundled source config {like!r} (bundled: {known})")
    directory = Path(directory).expanduser()
    config, source = directory / "crm.yml", directory / "sources" / f"{bank}.yml"
    existing = [p for p in (config, source) if p.exists()]
    if existing and not force:
        names = ", ".join(str(p) for p in existing)
        raise ConfigError(f"{names}: already exists (pass --force to overwrite)")
    texts = {
        config: starter_config(bank, str(config)),
        source: starter_source(bank, like, str(config)),
    }
    for path, text in texts.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    exports = directory / "data" / "raw" / bank
    exports.mkdir(parents=True, exist_ok=True)
    return [config, source, exports]
