"""Project-file validation: every error names the file, the key path and the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from accord.config.loader import load_project
from accord.config.starter import STARTER_DATA, STARTER_PROJECT
from accord.errors import ConfigError

BASE = """\
name: test
sources:
  - name: crm
    kind: csv
    path: people.csv
    primary_key: id
    fields:
      email: email
"""


def write_project(folder: Path, text: str) -> Path:
    (folder / "people.csv").write_text("id,email\n1,a@example.com\n", encoding="utf-8")
    path = folder / "accord.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_project(path)
    return [str(problem) for problem in caught.value.problems]


def test_valid_project_loads(tmp_path: Path) -> None:
    loaded = load_project(write_project(tmp_path, BASE))
    assert loaded.project.sources[0].name == "crm"


@pytest.mark.parametrize(
    ("replace", "with_text", "key_path", "line", "phrase"),
    [
        ("    primary_key: id\n", "    primary_key: id\n    delimeter: ';'\n",
         "sources[0].delimeter", 7, "did you mean 'delimiter'"),
        ("    primary_key: id\n", "    primary_key: [1, 2]\n",
         "sources[0].primary_key", 6, "valid string"),
        ("path: people.csv", "path: nowhere.csv", "sources[0].path", 5, "file not found"),
        ("kind: csv", "kind: xml", "sources[0].kind", 4, "unknown source kind 'xml'"),
        ("      email: email\n", "      emial: email\n", "sources[0].fields.emial", 8,
         "did you mean 'email'"),
        ("name: test\n", "name: test\nmatching:\n  auto_merge: high\n", "matching.auto_merge",
         3, "valid number"),
    ],
)
def test_invalid_project_names_location(
    tmp_path: Path, replace: str, with_text: str, key_path: str, line: int, phrase: str
) -> None:
    path = write_project(tmp_path, BASE.replace(replace, with_text, 1))
    problems = problems_of(path)
    matching = [p for p in problems if f"at '{key_path}'" in p]
    assert matching, problems
    assert f"{path}:{line} " in matching[0]
    assert phrase in matching[0]


def with_setting(section: str, key: str, value: str) -> str:
    """Return the base project with ``key: value`` in a ``section`` of its own, on line 3."""
    return BASE.replace("name: test\n", f"name: test\n{section}:\n  {key}: {value}\n", 1)


@pytest.mark.parametrize(
    ("limit", "phrase"),
    [
        ("lots", "'lots' is not a valid memory size"),
        ("'80%'", "'80%' is not a valid memory size"),
        ("-1GB", "'-1GB' is not a valid memory size"),
        ("''", "'' is not a valid memory size"),
        ("0", "'0' is not a valid memory size"),
        ("4096", "'4096' is not a valid memory size"),
        ("'100000000'", "'100000000' is not a valid memory size"),
        ("2.5", "'2.5' is not a valid memory size"),
        ("1KB", "'1KB' is below the minimum of 64MB"),
        ("0GB", "'0GB' is below the minimum of 64MB"),
        ("63.9MB", "'63.9MB' is below the minimum of 64MB"),
        ("60MiB", "'60MiB' is below the minimum of 64MB"),
        ("[2GB]", "valid string"),
    ],
)
def test_memory_limit_rejected(tmp_path: Path, limit: str, phrase: str) -> None:
    text = with_setting("store", "memory_limit", limit)
    path = write_project(tmp_path, text)
    problems = problems_of(path)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{path}:3 at 'store.memory_limit': ")
    assert phrase in problems[0]


@pytest.mark.parametrize(
    ("limit", "expected"),
    [("64MB", "64MB"), ("61.1MiB", "61.1MiB"), ("2 gib", "2 gib"), ("8GB", "8GB"), ("null", None)],
)
def test_memory_limit_accepted(tmp_path: Path, limit: str, expected: str | None) -> None:
    text = with_setting("store", "memory_limit", limit)
    loaded = load_project(write_project(tmp_path, text))
    assert loaded.project.store.memory_limit == expected


@pytest.mark.parametrize(
    ("value", "phrase"),
    [
        ("true", "expected a whole number, got true"),
        ("false", "expected a whole number, got false"),
        ("0", "greater than or equal to 1"),
        ("-5", "greater than or equal to 1"),
        ("1.5", "fractional part"),
        ("lots", "valid integer"),
    ],
)
def test_max_block_pairs_rejected(tmp_path: Path, value: str, phrase: str) -> None:
    text = with_setting("matching", "max_block_pairs", value)
    problems = problems_of(write_project(tmp_path, text))
    assert len(problems) == 1, problems
    assert "'matching.max_block_pairs'" in problems[0]
    assert phrase in problems[0]


@pytest.mark.parametrize(("value", "expected"), [("null", None), ("1", 1), ("250000", 250_000)])
def test_max_block_pairs_accepted(tmp_path: Path, value: str, expected: int | None) -> None:
    text = with_setting("matching", "max_block_pairs", value)
    loaded = load_project(write_project(tmp_path, text))
    assert loaded.project.matching.max_block_pairs == expected


@pytest.mark.parametrize(
    ("value", "phrase"),
    [
        ("true", "expected a whole number, got true"),
        ("0", "greater than 0"),
        ("-1", "greater than 0"),
        ("257", "less than or equal to 256"),
        ("1.5", "fractional part"),
        ("abc", "valid integer"),
        ("null", "valid integer"),
    ],
)
def test_query_threads_rejected(tmp_path: Path, value: str, phrase: str) -> None:
    text = with_setting("stream", "query_threads", value)
    problems = problems_of(write_project(tmp_path, text))
    assert len(problems) == 1, problems
    assert "'stream.query_threads'" in problems[0]
    assert phrase in problems[0]


@pytest.mark.parametrize("name", ["acct.id", "Acct ID", "acct'id", 'acct"id', "1st", "crm_id\\n"])
def test_extra_field_name_rejected(tmp_path: Path, name: str) -> None:
    text = BASE.replace("sources:", f"extra_fields:\n  {name!r}: {{type: string}}\nsources:")
    problems = problems_of(write_project(tmp_path, text))
    assert len(problems) == 1, problems
    assert "not a valid field name" in problems[0]
    assert "extra_fields" in problems[0]


def test_extra_field_name_accepted(tmp_path: Path) -> None:
    text = BASE.replace("sources:", "extra_fields:\n  crm_id_2: {type: string}\nsources:")
    loaded = load_project(write_project(tmp_path, text))
    assert list(loaded.project.extra_fields) == ["crm_id_2"]


def test_duplicate_source_name_reported(tmp_path: Path) -> None:
    duplicate = BASE + """\
  - name: crm
    kind: csv
    path: people.csv
    primary_key: id
    fields:
      email: email
"""
    problems = problems_of(write_project(tmp_path, duplicate))
    assert any("sources[1].name" in p and "duplicate source name 'crm'" in p for p in problems)
    assert any(":9 " in p for p in problems)


def test_every_problem_reported_at_once(tmp_path: Path) -> None:
    text = BASE.replace("kind: csv", "kind: csv\n    bogus: 1").replace(
        "name: test", "name: test\nstore:\n  engine: x"
    )
    problems = problems_of(write_project(tmp_path, text))
    assert len(problems) == 2


def test_invalid_yaml_names_line(tmp_path: Path) -> None:
    path = write_project(tmp_path, BASE + "  - [unclosed\n")
    problems = problems_of(path)
    assert "invalid YAML" in problems[0]
    assert f"{path}:" in problems[0]


def test_missing_file_suggests_init(tmp_path: Path) -> None:
    problems = problems_of(tmp_path / "absent.yaml")
    assert "accord init" in problems[0]


def test_mapping_needs_exactly_one_input(tmp_path: Path) -> None:
    both = "      email:\n        from: a\n        constant: b\n"
    text = BASE.replace("      email: email\n", both)
    problems = problems_of(write_project(tmp_path, text))
    assert any("exactly one of" in p and "sources[0].fields.email" in p for p in problems)


def test_survivorship_unknown_source(tmp_path: Path) -> None:
    text = BASE + """\
survivorship:
  fields:
    email:
      rules: [source_priority]
      sources: [billng]
"""
    problems = problems_of(write_project(tmp_path, text))
    assert any("unknown source 'billng'" in p for p in problems)


def test_aggregate_rule_must_stand_alone(tmp_path: Path) -> None:
    text = BASE + """\
survivorship:
  fields:
    email:
      rules: [sum, most_recent]
"""
    problems = problems_of(write_project(tmp_path, text))
    assert any("must be the only rule" in p for p in problems)


def test_starter_project_is_valid(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "customers.csv").write_text(STARTER_DATA, encoding="utf-8")
    path = tmp_path / "accord.yaml"
    path.write_text(STARTER_PROJECT, encoding="utf-8")
    assert load_project(path).project.name == "my-customers"


def test_tab_indentation_says_use_spaces(tmp_path: Path) -> None:
    path = write_project(tmp_path, "name: x\nsources:\n\t- name: a\n")
    problems = problems_of(path)
    assert "indent with spaces" in problems[0]
    assert f"{path}:3" in problems[0]


def test_empty_file_says_empty(tmp_path: Path) -> None:
    problems = problems_of(write_project(tmp_path, ""))
    assert "the file is empty" in problems[0]


@pytest.mark.parametrize(
    ("expression", "phrase"),
    [
        ("lower(email", "syntax error"),
        ("lower(email))", "syntax error"),
        ("lower(email)), (upper(email)", "more than one expression"),
        ("1) FROM people; SELECT (1", "more than one expression"),
        ("1) FROM people WHERE (1", "more than one expression"),
        ("1) --", "syntax error"),
        ("email) AS x --", "syntax error"),
        ("", "it is empty"),
        ("   ", "it is empty"),
        ("-- only a comment", "it is empty"),
        ("first_name,", "it gives a struct"),
        ("row(first_name, last_name)", "it gives a struct"),
        ("row_number() OVER ()", "window functions"),
        ("(SELECT max(id) FROM batch)", "subqueries"),
    ],
)
def test_expression_syntax_rejected(tmp_path: Path, expression: str, phrase: str) -> None:
    text = BASE.replace("      email: email\n", f"      email:\n        expr: {expression!r}\n")

    problems = problems_of(write_project(tmp_path, text))

    assert len(problems) == 1
    assert "at 'sources[0].fields.email.expr'" in problems[0]
    assert ":9 " in problems[0]
    assert phrase in problems[0]


@pytest.mark.parametrize(
    "expression",
    [
        "lower(email)",
        "CAST(id AS INTEGER)",
        "CASE WHEN id = '1' THEN 'a' END",
        "no_such(email)",
        "lower(email) -- trailing comment",
    ],
)
def test_expression_syntax_accepted(tmp_path: Path, expression: str) -> None:
    text = BASE.replace("      email: email\n", f"      email:\n        expr: {expression!r}\n")

    loaded = load_project(write_project(tmp_path, text))

    assert loaded.project.sources[0].fields["email"].expr == expression
