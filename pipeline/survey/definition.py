"""Survey definitions (configs/surveys/*.yml): which items form which dimension, on what
scale, which are reverse-coded, which item is the NPS / overall question, and the
SERVQUAL expectation-perception pairs. Loaded once, validated with errors naming the key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.config import read_yaml
from pipeline.errors import ConfigError, InputError
from pipeline.schema import TABLES

NPS_MIN, NPS_MAX = 0, 10  # the NPS question is always 0-10
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_KNOWN_KEYS = {
    "name",
    "table",
    "title",
    "scale",
    "dimensions",
    "reverse_coded",
    "nps_item",
    "overall_item",
    "expectation_perception",
    "outcome_dimensions",
    "dimension_labels",
    "items",
}
_REQUIRED_KEYS = ("name", "table", "scale", "dimensions")


@dataclass(frozen=True)
class SurveyDefinition:
    """A validated survey definition. Item order follows the YAML (it is the report's)."""

    name: str
    table: str
    scale_min: float
    scale_max: float
    dimensions: dict[str, tuple[str, ...]]
    reverse_coded: frozenset[str] = frozenset()
    nps_item: str | None = None
    overall_item: str | None = None
    # perception item -> expectation item (SERVQUAL gap = perception - expectation)
    expectation_perception: dict[str, str] = field(default_factory=dict)
    # outcome dimensions (satisfaction, loyalty) are not drivers: no IPA point for them
    outcome_dimensions: tuple[str, ...] = ()
    title: dict[str, str] = field(default_factory=dict)
    dimension_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    item_texts: dict[str, str] = field(default_factory=dict)

    @property
    def dimension_items(self) -> list[str]:
        return [item for items in self.dimensions.values() for item in items]

    @property
    def all_items(self) -> list[str]:
        """Every numeric column the responses table must hold for this survey."""
        extra = [self.nps_item, self.overall_item, *self.expectation_perception.values()]
        seen = dict.fromkeys(self.dimension_items)
        for item in extra:
            if item is not None:
                seen.setdefault(item)
        return list(seen)

    def dimension_of(self, item: str) -> str | None:
        return next((d for d, items in self.dimensions.items() if item in items), None)

    @property
    def driver_dimensions(self) -> list[str]:
        """Dimensions that get an importance-performance point.

        Outcome dimensions are excluded, and so is a dimension made only of SERVQUAL
        expectation items: it measures what customers expected, not how the bank did.
        """
        expectation_items = set(self.expectation_perception.values())
        return [
            d
            for d, items in self.dimensions.items()
            if d not in self.outcome_dimensions and not set(items) <= expectation_items
        ]


def load_definition(path: str | Path) -> SurveyDefinition:
    """Read and validate a survey definition YAML file."""
    path = Path(path)
    raw = read_yaml(path)
    return parse_definition(raw, source=str(path))


def parse_definition(raw: Any, source: str = "survey definition") -> SurveyDefinition:
    """Validate a parsed definition mapping; every error names the file and the key."""

    def fail(key: str, message: str) -> ConfigError:
        return ConfigError(f"{source}: {key}: {message}")

    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: expected a mapping of keys at the top level")
    for key in raw:
        if key not in _KNOWN_KEYS:
            raise fail(str(key), f"unknown key (known: {', '.join(sorted(_KNOWN_KEYS))})")
    for key in _REQUIRED_KEYS:
        if key not in raw:
            raise fail(key, "missing")

    name = raw["name"]
    if not isinstance(name, str) or not _NAME.match(name):
        raise fail("name", f"expected a name of letters, digits and _, got {name!r}")
    table = raw["table"]
    survey_tables = ("survey_responses", "staff_survey_responses")
    if table not in survey_tables:
        raise fail("table", f"must be one of {', '.join(survey_tables)}; got {table!r}")

    scale = raw["scale"]
    if not isinstance(scale, Mapping) or set(scale) != {"min", "max"}:
        raise fail("scale", f"expected {{min, max}}, got {scale!r}")
    lo, hi = scale["min"], scale["max"]
    for k, v in (("min", lo), ("max", hi)):
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise fail(f"scale.{k}", f"expected a number, got {v!r}")
    if not lo < hi:
        raise fail("scale", f"min must be below max, got min={lo} max={hi}")

    fixed = set(TABLES[table].column_names)
    dims_raw = raw["dimensions"]
    if not isinstance(dims_raw, Mapping) or not dims_raw:
        raise fail("dimensions", "expected a non-empty mapping of dimension -> [items]")
    dimensions: dict[str, tuple[str, ...]] = {}
    owner: dict[str, str] = {}
    for dim, items in dims_raw.items():
        key = f"dimensions.{dim}"
        if not isinstance(dim, str) or not _NAME.match(dim):
            raise fail(key, "dimension names are letters, digits and _")
        if not isinstance(items, list) or len(items) < 2:
            raise fail(key, f"expected a list of at least 2 items (alpha needs 2), got {items!r}")
        for item in items:
            if not isinstance(item, str) or not _NAME.match(item):
                raise fail(key, f"item names are letters, digits and _, got {item!r}")
            if item in fixed:
                raise fail(key, f"{item!r} is a fixed column of {table}, not an item")
            if item in owner:
                raise fail(key, f"item {item!r} is already in dimension {owner[item]!r}")
            owner[item] = dim
        dimensions[dim] = tuple(items)
    clash = sorted(set(dimensions) & set(owner))
    if clash:
        raise fail("dimensions", f"dimension {clash[0]!r} has the name of an item")

    reverse = raw.get("reverse_coded") or []
    if not isinstance(reverse, list):
        raise fail("reverse_coded", f"expected a list of items, got {reverse!r}")
    for item in reverse:
        if item not in owner:
            raise fail("reverse_coded", f"item {item!r} is not in any dimension")

    def single_item(key: str) -> str | None:
        value = raw.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not _NAME.match(value) or value in fixed:
            raise fail(key, f"expected an item column name, got {value!r}")
        if value in reverse:
            raise fail(key, f"{value!r} cannot be reverse-coded")
        return value

    nps_item = single_item("nps_item")
    overall_item = single_item("overall_item")
    if overall_item in dimensions:
        raise fail("overall_item", f"{overall_item!r} has the name of a dimension")
    if nps_item is not None and nps_item == overall_item:
        raise fail("overall_item", "must differ from nps_item")
    if nps_item in owner and (lo, hi) != (NPS_MIN, NPS_MAX):
        raise fail("nps_item", f"{nps_item!r} is in a dimension but the scale is not 0-10")

    outcomes = raw.get("outcome_dimensions") or []
    if not isinstance(outcomes, list):
        raise fail("outcome_dimensions", f"expected a list of dimensions, got {outcomes!r}")
    for dim in outcomes:
        if dim not in dimensions:
            raise fail("outcome_dimensions", f"{dim!r} is not a dimension")
    if overall_item in owner and owner[overall_item] not in outcomes:
        raise fail(
            "overall_item",
            f"{overall_item!r} is in driver dimension {owner[overall_item]!r}: its importance "
            "would be inflated; list that dimension in outcome_dimensions",
        )

    pairs_raw = raw.get("expectation_perception") or {}
    if not isinstance(pairs_raw, Mapping):
        raise fail("expectation_perception", "expected a mapping perception item: expectation item")
    pairs: dict[str, str] = {}
    for perception, expectation in pairs_raw.items():
        key = f"expectation_perception.{perception}"
        if perception not in owner:
            raise fail(key, f"perception item {perception!r} is not in any dimension")
        if not isinstance(expectation, str) or not _NAME.match(expectation):
            raise fail(key, f"expected an expectation item name, got {expectation!r}")
        if expectation in (perception, nps_item, overall_item) or expectation in fixed:
            raise fail(key, f"{expectation!r} cannot be the expectation item")
        if (perception in reverse) != (expectation in reverse):
            raise fail(key, "perception and expectation must both be reverse-coded or neither")
        pairs[perception] = expectation

    known_items = set(owner) | {nps_item, overall_item} | set(pairs.values())
    texts = raw.get("items") or {}
    if not isinstance(texts, Mapping):
        raise fail("items", "expected a mapping item: question text")
    for item, text in texts.items():
        if item not in known_items:
            raise fail(f"items.{item}", "unknown item (not in dimensions, nps, overall or pairs)")
        if not isinstance(text, str):
            raise fail(f"items.{item}", f"expected the question text, got {text!r}")
    labels = raw.get("dimension_labels") or {}
    if not isinstance(labels, Mapping):
        raise fail("dimension_labels", "expected a mapping dimension: {locale: label}")
    for dim, label in labels.items():
        if dim not in dimensions:
            raise fail(f"dimension_labels.{dim}", "unknown dimension")
        if not isinstance(label, Mapping) or not all(isinstance(v, str) for v in label.values()):
            raise fail(f"dimension_labels.{dim}", f"expected {{locale: label}}, got {label!r}")
    title = raw.get("title") or {}
    if not isinstance(title, Mapping) or not all(isinstance(v, str) for v in title.values()):
        raise fail("title", f"expected {{locale: title}}, got {title!r}")

    return SurveyDefinition(
        name=name,
        table=table,
        scale_min=lo,
        scale_max=hi,
        dimensions=dimensions,
        reverse_coded=frozenset(reverse),
        nps_item=nps_item,
        overall_item=overall_item,
        expectation_perception=pairs,
        outcome_dimensions=tuple(outcomes),
        title={str(k): str(v) for k, v in title.items()},
        dimension_labels={d: {str(k): str(v) for k, v in lab.items()} for d, lab in labels.items()},
        item_texts={str(k): v for k, v in texts.items()},
    )


def check_responses(
    responses: pd.DataFrame,
    definition: SurveyDefinition,
    source: str,
    items: Sequence[str] | None = None,
) -> None:
    """Every item column (or each of `items`) present, numeric and within its scale; else
    an InputError naming the file, the row (response_id where there is one) and the
    column. Blank answers (item non-response) are allowed."""
    items = list(definition.all_items if items is None else items)
    missing = [c for c in items if c not in responses.columns]
    if missing:
        raise InputError(f"{source}: missing item column(s) {', '.join(missing)} "
                         f"of survey {definition.name!r}")
    row_ids = (
        responses["response_id"] if "response_id" in responses else responses.index.to_series()
    ).to_numpy()
    for item in items:
        col = responses[item]
        values = pd.to_numeric(col, errors="coerce")
        bad_type = values.isna() & col.notna()
        if item == definition.nps_item:
            lo, hi = NPS_MIN, NPS_MAX
        else:
            lo, hi = definition.scale_min, definition.scale_max
        out = values.notna() & ((values < lo) | (values > hi))
        bad = bad_type | out
        if bad.any():
            first = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(
                f"{source}: row {row_ids[first]}, "
                f"column {item}: value {_plain(col.iloc[first])!r} is not a number in {lo}-{hi} "
                f"({int(bad.sum())} such row(s))"
            )


def _plain(value: object) -> object:
    """A numpy scalar as its Python value, so messages read `6`, not `np.int64(6)`."""
    return value.item() if hasattr(value, "item") else value
