"""Make's view of a stage: a stamp file that changes exactly when what the stage reads did.

`crm stamp --dir <folder> <stage>...` computes, for each stage, digests of
- config: the config keys the stage reads (STAGE_KEYS), as merged from the defaults, the
  user config, the environment and flags -- never the roots, the engine or the worker
  counts, which do not change what a stage writes (MACHINE_KEYS);
- files: the source config and survey definitions it reads, by content;
- code: every module of the package the stage can import (its own subpackage, and each
  package module reached by an import from there, found by reading the imports), and the
  package version;
- templates: the report's templates, stylesheets and message catalogs (report);
- raw: for ingest, each export file's path, size and modification time. That is enough
  to decide whether to call ingest: ingest itself tells by content whether a file
  changed, and an ingest that finds nothing new leaves its manifest alone, so the
  stages after it stay up to date.
and writes <folder>/<stage>.json only when a digest differs. The file's modification
time is then when the stage's inputs last changed, and the Makefile's stage targets
depend on it. Which part changed is logged, so `make` says why a stage reruns.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from pipeline import __version__, resources
from pipeline.config import get, read_yaml, source_config_path, survey_definition_path
from pipeline.errors import ConfigError
from pipeline.privacy import id_salt, salt_fingerprint

log = logging.getLogger(__name__)

PACKAGE = resources.PACKAGE
STAGE_MODULES = {
    "sample": f"{PACKAGE}.sample.stage",
    "ingest": f"{PACKAGE}.ingest.stage",
    "features": f"{PACKAGE}.features.stage",
    "score": f"{PACKAGE}.scoring.stage",
    "survey": f"{PACKAGE}.survey.stage",
    "report": f"{PACKAGE}.report.stage",
}
STAGES = tuple(STAGE_MODULES)
# The config keys each stage's outputs depend on (a key covers everything under it).
# tests/test_stamps.py runs every stage on a config that records what it reads and fails
# on a key read here but not listed.
STAGE_KEYS: dict[str, tuple[str, ...]] = {
    "sample": ("sample", "tiers", "value"),  # the true monthly profit, under value's rates
    "ingest": (
        "source",
        "period",
        "ingest.max_reject_rate",
        "ingest.max_amount",
        "ingest.max_balance",
        "ingest.earliest_date",
        "ingest.earliest_customer_date",
        "ingest.safe_id_pattern",
        "privacy",
    ),
    "features": (
        "tiers",
        "rm_tiers",
        "features",
        "rfm",
        # the attrition history (pipeline.features.attrition) counts by the churn definition
        "churn.definition",
        "churn.horizon_months",
        "churn.aum_drop_share",
        "churn.inactive_in_window",
    ),
    "score": (
        "tiers",
        "rm_tiers",
        "features",
        "rfm",
        "clv",
        "churn",
        "value",
        "value_risk",
        "contact_effect",
        "currency",
    ),
    "survey": ("survey", "features.history_months"),
    "report": (
        "locale",
        "currency",
        "tiers",
        "rm_tiers",
        "rfm",
        "features.rm_contact_days",
        "survey",
        "report.formats",
        "report.targets",
        # the first page's and the RM pages' words: horizon, dormancy, capacity
        "churn.horizon_months",
        "features.dormant_days",
        "features.frequency_unit",
        "value_risk.rm_monthly_calls",
    ),
}
# Read by stages, but the same inputs give the same outputs whatever their values.
MACHINE_KEYS = ("paths", "engine", "spark", "ingest.memory_limit", "report.workers")
SAMPLE_SOURCE = "sample"


def stage_stamp(stage: str, cfg: dict[str, Any], data_dir: Path) -> dict[str, str]:
    """The digests of what `stage` reads, by part (config, files, code, templates, raw)."""
    if stage not in STAGE_MODULES:
        raise ConfigError(f"{stage}: not a stage (stages: {', '.join(STAGES)})")
    parts = {
        "config": digest_json({key: get(cfg, key) for key in STAGE_KEYS[stage]}),
        "files": _digest_files(_config_files(stage, cfg)),
        "code": _digest_files(code_files(stage), package_dir(), extra=__version__),
    }
    if stage == "ingest":
        parts["id_salt"] = salt_fingerprint(id_salt(cfg)) or ""
        parts["raw"] = digest_json(raw_listing(_raw_dir(cfg, data_dir)))
    if stage == "report":
        parts["templates"] = "".join(
            _digest_files(sorted(_tree(folder)), folder)
            for folder in (resources.template_dir(), resources.static_dir(), resources.locale_dir())
        )
    return parts


def write_stamp(stage: str, cfg: dict[str, Any], data_dir: Path, target: Path) -> list[str]:
    """Write `target` if the stage's stamp differs from it; return the parts that changed
    (every part for a new stamp, [] when it is unchanged and left alone)."""
    parts = stage_stamp(stage, cfg, data_dir)
    try:
        before = json.loads(Path(target).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        before = {}
    changed = [name for name, digest in parts.items() if before.get(name) != digest]
    if changed:
        target.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"stage": stage, **parts}, indent=2, sort_keys=True) + "\n"
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
        if before:
            log.info("%s: inputs changed (%s)", stage, ", ".join(changed))
        else:
            log.debug("%s: first stamp", stage)
    return changed


# --- configured files ------------------------------------------------------------------
def _config_files(stage: str, cfg: dict[str, Any]) -> list[Path]:
    """The source config and survey definitions a stage reads."""
    if stage == "sample":  # the sample bank is written to the bundled sample source
        return _source_files(SAMPLE_SOURCE)
    if stage == "ingest":
        return _source_files(cfg["source"])
    if stage in ("survey", "report"):
        return [
            survey_definition_path(cfg["survey"][key])
            for key in ("customer_definition", "staff_definition")
        ]
    return []


def _source_files(source: str) -> list[Path]:
    """A source config and the survey definitions its tables name."""
    path = source_config_path(source)
    tables = (read_yaml(path) or {}).get("tables") or {}
    surveys = sorted(
        {
            spec["survey"]
            for spec in tables.values()
            if isinstance(spec, dict) and spec.get("survey")
        }
    )
    return [path, *(survey_definition_path(name) for name in surveys)]


# --- code --------------------------------------------------------------------------------
@cache
def code_files(stage: str) -> tuple[Path, ...]:
    """Source files of every package module `stage` can import: its own subpackage (with
    modules it loads by name, such as ingest adapters), and the closure of the package
    imports from there (a module named in a string, like the report's worker, counts)."""
    root = package_dir()
    module = STAGE_MODULES[stage]
    subpackage = module.rsplit(".", 1)[0]
    todo = [module, *_modules_under(subpackage)]
    seen: dict[str, Path] = {}
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = _module_path(name, root)
        if path is None:
            continue
        seen[name] = path
        parent = name.rpartition(".")[0]
        if parent:
            todo.append(parent)
        todo.extend(_imported(path, name))
    return tuple(sorted(seen.values()))


def package_dir() -> Path:
    return Path(__file__).resolve().parent


def _module_path(name: str, root: Path) -> Path | None:
    parts = name.split(".")
    if parts[0] != PACKAGE:
        return None
    base = root.joinpath(*parts[1:])
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _modules_under(subpackage: str) -> list[str]:
    folder = package_dir().joinpath(*subpackage.split(".")[1:])
    return [
        ".".join([PACKAGE, *p.relative_to(package_dir()).with_suffix("").parts])
        for p in sorted(folder.rglob("*.py"))
    ]


# The statements and strings _imported reads, without parsing the module: make asks for
# every stamp before every stage, and parsing the package took a second of that.
_IMPORT = re.compile(
    r"(?:^|;)[ \t]*(?:"
    r"from[ \t]+(?P<base>\.*[\w.]*)[ \t]+import[ \t]+"
    r"(?P<names>\((?:[^)#]|#[^\n]*)*\)|[^\n#;]*)"  # ( names, # comments ) or one line
    r"|import[ \t]+(?P<modules>[^\n#;]*))",
    re.MULTILINE,
)
_MODULE_NAME = re.compile(rf"""["']({PACKAGE}(?:\.\w+)+)["']""")


@cache
def _imported(path: Path, name: str) -> tuple[str, ...]:
    """Package modules `path` imports (anywhere in it, a function's body too), or names
    in a string constant (the report's worker module). Read off the text: a line in a
    docstring that looks like an import counts too, which can only add to the stamp."""
    text = path.read_text(encoding="utf-8")
    is_package = path.name == "__init__.py"
    found: list[str] = []
    for match in _IMPORT.finditer(text):
        if match["modules"] is not None:
            found += [_before_as(m) for m in match["modules"].split(",")]
            continue
        base = _absolute(match["base"], name, is_package)
        found.append(base)
        listed = re.sub(r"#[^\n]*", "", match["names"]).strip("()")  # comments in ( )
        names = [_before_as(n) for n in listed.split(",")]
        found += [f"{base}.{n}" for n in names if n]  # a submodule, perhaps
    found += _MODULE_NAME.findall(text)
    return tuple(m for m in found if m == PACKAGE or m.startswith(f"{PACKAGE}."))


def _before_as(name: str) -> str:
    return name.split(" as ")[0].strip()


def _absolute(base: str, name: str, is_package: bool) -> str:
    """`from <base> import` in module `name` as an absolute module name."""
    module = base.lstrip(".")
    level = len(base) - len(module)
    if not level:
        return module
    parts = name.split(".")
    keep = len(parts) - level + (1 if is_package else 0)
    return ".".join(parts[:keep] + ([module] if module else []))


# --- raw exports -------------------------------------------------------------------------
def _raw_dir(cfg: dict[str, Any], data_dir: Path) -> Path:
    """The source's export folder: raw_dir relative to <data>/raw/, or absolute."""
    spec = read_yaml(source_config_path(cfg["source"])) or {}
    raw_dir = Path(str(spec.get("raw_dir", "")))
    return raw_dir if raw_dir.is_absolute() else data_dir / "raw" / raw_dir


def raw_listing(folder: Path) -> list[tuple[str, int, int]]:
    """(path under the folder, size, modification time in ns) of every file in it."""
    if not folder.is_dir():
        return []
    return [
        (p.relative_to(folder).as_posix(), st.st_size, st.st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
        for st in (p.stat(),)
    ]


# --- digests -----------------------------------------------------------------------------
def _tree(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts]


def digest_json(value: Any) -> str:
    """A digest of a JSON-able value (keys sorted): the same value, the same digest."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _digest_files(paths: Iterable[Path], base: Path | None = None, extra: str = "") -> str:
    """Digest of files' contents and names (relative to `base`, else the file name): the
    same files elsewhere -- another checkout, an installed package -- give the same."""
    digest = hashlib.sha256(extra.encode("utf-8"))
    for path in paths:
        path = Path(path)
        name = path.relative_to(base).as_posix() if base else path.name
        digest.update(name.encode("utf-8") + b"\0")
        digest.update(path.read_bytes() if path.is_file() else b"<missing>")
        digest.update(b"\0")
    return digest.hexdigest()
