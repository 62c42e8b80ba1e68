"""Load ``accord.yaml`` and report every problem with its file, key path and line."""

from __future__ import annotations

import difflib
import os
import types
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from accord.config.models import DESTINATION_KINDS, SOURCE_KINDS, Project
from accord.config.semantics import check_project
from accord.errors import ConfigError, ConfigProblem

Loc = tuple[str | int, ...]
DEFAULT_FILE = "accord.yaml"


class LoadedProject:
    """A validated project with the folder its relative paths resolve against."""

    def __init__(self, project: Project, path: Path) -> None:
        self.project = project
        self.path = path
        self.root = path.parent

    def resolve(self, relative: str) -> Path:
        """Return ``relative`` resolved against the project file's folder."""
        candidate = Path(os.path.expandvars(relative)).expanduser()
        return candidate if candidate.is_absolute() else self.root / candidate


def load_project(path: str | Path = DEFAULT_FILE) -> LoadedProject:
    """Read, parse and validate a project file.

    Raises:
        ConfigError: with every problem found, each naming the file, key path and line.
    """
    file = Path(path)
    if file.is_dir():
        file = file / DEFAULT_FILE
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        problem = ConfigProblem(
            str(file), "", None, "file not found; run 'accord init' to create one"
        )
        raise ConfigError([problem]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([ConfigProblem(str(file), "", None, f"cannot read file: {exc}")]) from exc

    data, lines = _parse_yaml(text, str(file))
    project = _validate(data, lines, str(file))
    loaded = LoadedProject(project, file.resolve())
    problems = [
        ConfigProblem(str(file), _format_loc(loc), _line_for(loc, lines), message)
        for loc, message in check_project(project, loaded.root)
    ]
    if problems:
        raise ConfigError(problems)
    return loaded


def _parse_yaml(text: str, file: str) -> tuple[Any, dict[Loc, int]]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        # PyYAML reports a tab as the two characters backslash and t.
        if "'\\t'" in str(problem):
            problem = f"{problem}; indent with spaces, YAML does not allow tabs"
        raise ConfigError([ConfigProblem(file, "", line, f"invalid YAML: {problem}")]) from exc
    if data is None:
        raise ConfigError([ConfigProblem(
            file, "", None, "the file is empty; run 'accord init' for a commented starter project"
        )])
    if not isinstance(data, dict):
        raise ConfigError([ConfigProblem(file, "", 1, "expected a mapping of settings at the top")])
    lines: dict[Loc, int] = {}
    if node is not None:
        _collect_lines(node, (), lines)
    return data, lines


def _collect_lines(node: yaml.Node, loc: Loc, lines: dict[Loc, int]) -> None:
    lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            lines[(*loc, key)] = key_node.start_mark.line + 1
            _collect_lines(value_node, (*loc, key), lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _collect_lines(item, (*loc, index), lines)


def _validate(data: dict[str, Any], lines: dict[Loc, int], file: str) -> Project:
    try:
        return Project.model_validate(data)
    except ValidationError as exc:
        problems = [_problem_from(error, data, lines, file) for error in exc.errors()]
        raise ConfigError(_dedupe(problems)) from None


def _dedupe(problems: list[ConfigProblem]) -> list[ConfigProblem]:
    """Join the messages of problems at one key, as a union type reports one per option."""
    by_key: dict[str, ConfigProblem] = {}
    for problem in problems:
        earlier = by_key.get(problem.key_path)
        if earlier is None:
            by_key[problem.key_path] = problem
        elif problem.message not in earlier.message:
            joined = f"{earlier.message}; or {problem.message}"
            by_key[problem.key_path] = ConfigProblem(
                earlier.file, earlier.key_path, earlier.line, joined
            )
    return list(by_key.values())


def _problem_from(error: Any, data: Any, lines: dict[Loc, int], file: str) -> ConfigProblem:
    loc = _data_loc(tuple(error["loc"]), data)
    kind = error["type"]
    if kind == "extra_forbidden":
        message = _unknown_key_message(loc, data)
    elif kind == "missing":
        message = "required key is missing"
    elif kind == "union_tag_invalid":
        found = error.get("ctx", {}).get("tag")
        what, choices = _union_choices(loc)
        message = f"unknown {what} '{found}'; expected one of: {', '.join(choices)}"
        loc = (*loc, error.get("ctx", {}).get("discriminator", "'kind'").strip("'"))
    elif kind == "union_tag_not_found":
        what, choices = _union_choices(loc)
        message = f"missing the {what}; expected one of: {', '.join(choices)}"
    else:
        message = _plain_message(error)
    return ConfigProblem(file, _format_loc(loc), _line_for(loc, lines), message)


def _union_choices(loc: Loc) -> tuple[str, tuple[str, ...]]:
    """Return what a tagged union at ``loc`` selects and its valid tags."""
    if loc and loc[0] == "destinations":
        return "destination kind", DESTINATION_KINDS
    if loc and loc[0] == "triggers":
        return "action type", ("sync", "webhook", "nats", "redis", "suppress")
    return "source kind", SOURCE_KINDS


def _plain_message(error: Any) -> str:
    message = str(error["msg"])
    if message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    found = error.get("input")
    if error["type"] in {
        "string_type",
        "int_type",
        "float_type",
        "bool_type",
        "list_type",
        "dict_type",
        "model_type",
        "int_parsing",
        "float_parsing",
        "bool_parsing",
        "literal_error",
        "less_than_equal",
        "greater_than_equal",
    }:
        shown = repr(found) if not isinstance(found, dict | list) else type(found).__name__
        message = f"{message[0].lower()}{message[1:]}, got {shown}"
    return message


_TYPE_TAGS = ("function-", "str", "int", "float", "bool", "FieldMapping", "list", "dict")


def _data_loc(loc: Loc, data: Any) -> Loc:
    """Drop pydantic's union tags and function names from a location, keeping data keys."""
    kept: list[str | int] = []
    current = data
    for part in loc:
        in_dict = isinstance(current, dict) and part in current
        in_list = isinstance(current, list) and isinstance(part, int) and part < len(current)
        if in_dict or in_list:
            kept.append(part)
            current = current[part]
            continue
        if not isinstance(current, dict) or not isinstance(part, str):
            continue
        if part in SOURCE_KINDS or part.startswith(_TYPE_TAGS):
            continue
        kept.append(part)
        current = None
    return tuple(kept)


def _format_loc(loc: Loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _line_for(loc: Loc, lines: dict[Loc, int]) -> int | None:
    for end in range(len(loc), -1, -1):
        line = lines.get(loc[:end])
        if line is not None:
            return line
    return None


def _unknown_key_message(loc: Loc, data: Any) -> str:
    key = str(loc[-1]) if loc else "?"
    allowed = _allowed_keys(loc[:-1], data)
    message = f"unknown key '{key}'"
    if allowed:
        close = difflib.get_close_matches(key, allowed, n=1)
        if close:
            message += f" (did you mean '{close[0]}'?)"
        message += f". Valid keys: {', '.join(sorted(allowed))}"
    return message


def _allowed_keys(loc: Loc, data: Any) -> list[str]:
    """Return the keys the model at ``loc`` accepts, following the data through unions."""
    annotation: Any = Project
    current = data
    for part in loc:
        annotation = _pick_model(annotation, current)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = _field_by_key(annotation, str(part))
            if field is None:
                return []
            annotation = field
        else:
            annotation = _container_item(annotation)
        if isinstance(current, dict):
            current = current.get(part)
        elif isinstance(current, list) and isinstance(part, int) and part < len(current):
            current = current[part]
        else:
            current = None
    model = _pick_model(annotation, current)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [info.alias or name for name, info in model.model_fields.items()]
    return []


def _field_by_key(model: type[BaseModel], key: str) -> Any:
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return info.annotation
    return None


def _container_item(annotation: Any) -> Any:
    annotation = _pick_model(annotation, None)
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if origin is list and args:
        return args[0]
    if origin is dict and len(args) == 2:
        return args[1]
    return annotation


def _pick_model(annotation: Any, current: Any) -> Any:
    """Resolve Annotated, Optional and unions to the model the data selects."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    origin = typing.get_origin(annotation)
    if origin is typing.Union or isinstance(annotation, types.UnionType):
        options = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        models = [arg for arg in options if isinstance(arg, type) and issubclass(arg, BaseModel)]
        kind = current.get("kind") if isinstance(current, dict) else None
        for model in models:
            kind_field = model.model_fields.get("kind")
            if kind_field is not None and kind in typing.get_args(kind_field.annotation):
                return model
        if models:
            return models[0]
        containers = [arg for arg in options if typing.get_origin(arg) in (list, dict)]
        return containers[0] if containers else annotation
    return annotation
