"""Survey definitions: the sample bank's two load; mistakes are errors naming the key."""

from __future__ import annotations

import copy

import pandas as pd
import pytest

from pipeline.config import CONFIG_DIR
from pipeline.errors import ConfigError, InputError
from pipeline.survey.definition import check_responses, load_definition, parse_definition

BASE = {
    "name": "mini",
    "table": "survey_responses",
    "scale": {"min": 1, "max": 5},
    "dimensions": {"speed": ["s1", "s2", "s3"], "care": ["c1", "c2"]},
    "reverse_coded": ["s3"],
    "nps_item": "nps",
    "overall_item": "overall",
    "items": {"s1": "Fast service", "nps": "Recommend?"},
}


def with_changes(**changes):
    raw = copy.deepcopy(BASE)
    raw.update(changes)
    return raw


def test_sample_bank_definitions_load_with_their_items():
    cust = load_definition(CONFIG_DIR / "surveys" / "customer_satisfaction.yml")
    staff = load_definition(CONFIG_DIR / "surveys" / "staff_engagement.yml")
    assert cust.dimensions["responsiveness"] == ("resp1", "resp2", "resp3")
    assert cust.reverse_coded == {"resp3", "emp3"}
    assert (cust.nps_item, cust.overall_item) == ("nps", "overall")
    assert cust.all_items[-2:] == ["nps", "overall"]
    assert staff.table == "staff_survey_responses" and staff.nps_item == "enps"
    assert staff.reverse_coded == {"wl1", "ts3"}


def test_spanish_definition_pairs_quality_with_expectations():
    d = load_definition(CONFIG_DIR / "surveys" / "spanish_bank_satisfaction.yml")
    assert (d.scale_min, d.scale_max) == (0, 10)
    assert len(d.dimension_items) == 27
    assert d.expectation_perception == {f"qual{i}": f"expe{i}" for i in range(1, 6)}
    # outcomes and the expectation side are not IPA drivers
    assert d.driver_dimensions == ["image", "quality", "value"]


def test_a_valid_definition_parses():
    d = parse_definition(BASE)
    assert d.dimension_of("s3") == "speed"
    assert d.all_items == ["s1", "s2", "s3", "c1", "c2", "nps", "overall"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (with_changes(items={"x9": "What?"}), "items.x9: unknown item"),
        (with_changes(reverse_coded=["zz"]), "reverse_coded: item 'zz' is not in any dimension"),
        (with_changes(scale={"min": 5, "max": 1}), "scale: min must be below max"),
        (with_changes(scale={"min": 1}), "scale: expected {min, max}"),
        (with_changes(scale={"min": "one", "max": 5}), "scale.min: expected a number"),
        (with_changes(colour="blue"), "colour: unknown key"),
        (with_changes(table="transactions"), "table: must be one of"),
        (with_changes(dimensions={"speed": ["s1"]}),
         "dimensions.speed: expected a list of at least 2"),
        (with_changes(dimensions={"a": ["s1", "s2"], "b": ["s2", "s3"]}),
         "item 's2' is already in dimension 'a'"),
        (with_changes(dimensions={"a": ["branch_id", "s2"]}), "is a fixed column"),
        (with_changes(nps_item="s3"), "nps_item: 's3' cannot be reverse-coded"),
        (with_changes(overall_item="s1"), "overall_item: 's1' is in driver dimension 'speed'"),
        (with_changes(outcome_dimensions=["mood"]),
         "outcome_dimensions: 'mood' is not a dimension"),
        (with_changes(expectation_perception={"zz": "e1"}),
         "expectation_perception.zz: perception item 'zz' is not in any dimension"),
        (with_changes(expectation_perception={"s3": "e3"}), "both be reverse-coded or neither"),
        (with_changes(nps_item="c1"), "is in a dimension but the scale is not 0-10"),
        (with_changes(dimension_labels={"mood": {"en": "Mood"}}), "dimension_labels.mood: unknown"),
    ],
)
def test_definition_errors_name_the_key(raw, message):
    with pytest.raises(ConfigError) as err:
        parse_definition(raw, source="mini.yml")
    assert str(err.value).startswith("mini.yml: ")
    assert message in str(err.value)


def test_missing_required_key():
    raw = with_changes()
    del raw["dimensions"]
    with pytest.raises(ConfigError, match="dimensions: missing"):
        parse_definition(raw)


def test_load_definition_names_the_file(tmp_path):
    path = tmp_path / "bad.yml"
    path.write_text("name: bad\ntable: survey_responses\nscale: {min: 1, max: 5}\n")
    with pytest.raises(ConfigError, match=f"{path}: dimensions: missing"):
        load_definition(path)


def _responses(**overrides):
    frame = pd.DataFrame({
        "response_id": ["r1", "r2", "r3"],
        "s1": [1, 2, 3], "s2": [2, 3, 4], "s3": [5, 4, 3], "c1": [1, 1, 2], "c2": [2, 2, 2],
        "nps": [0, 9, 10], "overall": [3, 4, None],
    })
    for col, values in overrides.items():
        frame[col] = values
    return frame


def test_responses_within_scale_pass_blank_answers_allowed():
    check_responses(_responses(), parse_definition(BASE), "responses.parquet")


@pytest.mark.parametrize(
    ("col", "values", "message"),
    [
        ("s2", [2, 6, 4], "responses.parquet: row r2, column s2: value 6"),
        ("nps", [0, 9, 11], "row r3, column nps: value 11 is not a number in 0-10"),
        ("c1", ["1", "x", "2"], "row r2, column c1: value 'x'"),
    ],
)
def test_responses_out_of_scale_name_row_and_column(col, values, message):
    with pytest.raises(InputError, match=message):
        check_responses(_responses(**{col: values}), parse_definition(BASE), "responses.parquet")


def test_missing_item_column_is_named():
    with pytest.raises(InputError, match="missing item column\\(s\\) c2"):
        check_responses(_responses().drop(columns="c2"), parse_definition(BASE), "f.parquet")
