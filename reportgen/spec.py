"""The spec: pydantic models for the YAML format, and a loader that keeps positions.

Every problem is reported as ``file:line:column: path: message``, all at once, before
anything runs (DESIGN.md §2).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from jinja2.sandbox import SandboxedEnvironment
from jinja2 import StrictUndefined, TemplateError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import Problem, SpecError
from .session.sandbox import DEFAULT_MEMORY, DEFAULT_SANDBOX, parse_size

FORMATS = ("csv", "tsv", "xlsx", "parquet", "json", "jsonl")
DEFAULT_PALETTE = ["#0B5FFF", "#00A389", "#FFB020", "#E5484D", "#7C3AED", "#0EA5E9"]
_COLOR = re.compile(r"^(#[0-9A-Fa-f]{3}|#[0-9A-Fa-f]{6}|#[0-9A-Fa-f]{8}|[a-zA-Z]+)$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Dataset(Strict):
    path: str = Field(description="File path relative to the spec's folder; may use {{ params.x }}.")
    format: Literal["csv", "tsv", "xlsx", "parquet", "json", "jsonl"] | None = Field(
        None, description="Reader to use; default: from the file extension."
    )
    description: str | None = Field(None, description="What one row is; shown to the model.")
    options: dict[str, Any] = Field(default_factory=dict, description="Passed to the pandas reader.")


class Style(Strict):
    theme: Literal["light", "dark"] = Field("light", description="Chart background.")
    palette: list[str] = Field(default_factory=lambda: list(DEFAULT_PALETTE), min_length=1)
    font: str = Field("DejaVu Sans", description="Font family for charts and the report.")
    dpi: int = Field(150, ge=50, le=600)
    figsize: tuple[float, float] = Field((10.0, 6.0), description="Chart size in inches.")
    chart_format: Literal["png", "svg"] = "png"
    max_charts: int = Field(3, ge=0, description="Charts per section before a warning.")

    @field_validator("palette")
    @classmethod
    def _colors(cls, palette: list[str]) -> list[str]:
        for color in palette:
            if not _COLOR.match(color):
                raise ValueError(f"{color!r} is not a colour; use #RRGGBB or a colour name")
        return palette


@dataclass(frozen=True)
class Charts:
    """How charts look once the brand is applied (the build works it out; see brand.py)."""

    style: Style
    fonts: tuple[Path, ...] = ()  # font files to register in the session
    colors: dict[str, str] = field(default_factory=dict)  # the page's colours, for chart backgrounds


class ModelConfig(Strict):
    provider: Literal["openai", "openai-compatible", "none"] | None = Field(
        None, description="Who writes the code; default: openai when OPENAI_API_KEY is set, else none."
    )
    name: str | None = Field(None, description="Model name, e.g. gpt-4o.")
    execution: Literal["hosted", "local"] | None = Field(None, description="Where the model's code runs.")
    base_url: str | None = Field(None, description="Base URL of an OpenAI-compatible server.")
    max_attempts: int = Field(3, ge=1, le=20, description="Code runs per section before it is marked failed.")
    api: Literal["responses", "chat"] | None = Field(
        None, description="Wire API for local execution; default: responses for openai, chat for openai-compatible."
    )
    timeout: float = Field(120, gt=0, description="Seconds per model request.")
    prices: dict[str, float] | None = Field(
        None, description="USD per million tokens ({input, output}) and per container (container), for cost estimates."
    )


class Section(Strict):
    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", description="Unique id: lower-case letters, digits, dashes.")
    title: str | None = None
    question: str | None = None
    context: str | None = None
    charts: int | None = Field(None, ge=0)
    code: str | None = None
    narrative: str | None = None
    timeout: float | None = Field(None, gt=0, description="Seconds this section's code may run.")
    landscape: bool = Field(False, description="Print this section on landscape pages.")

    @model_validator(mode="after")
    def _has_work(self) -> "Section":
        if not self.question and not self.code:
            raise ValueError("a section needs a `question:` or `code:`")
        return self

    @property
    def heading(self) -> str:
        return self.title or self.id.replace("-", " ").capitalize()


class SessionConfig(Strict):
    timeout: float = Field(120, gt=0, description="Seconds each step may run (wall clock).")
    memory: str = Field(DEFAULT_MEMORY, description="Memory limit of the session, e.g. 4GiB.")
    sandbox: Literal["bubblewrap", "none"] = Field(DEFAULT_SANDBOX, description="Isolation of the session.")

    @field_validator("memory")
    @classmethod
    def _memory(cls, value: str) -> str:
        parse_size(value)
        return value


class OutputConfig(Strict):
    dir: str | None = Field(None, description="Relative to the spec; default: output/<spec stem>/.")
    formats: list[Literal["html", "pdf"]] = Field(default_factory=lambda: ["html"], min_length=1)
    template: str = Field("report.html.j2", description="Main template, looked up in the theme folders.")


class MatrixColumn(Strict):
    dataset: str = Field(description="Dataset whose column lists the values.")
    column: str


class Spec(Strict):
    version: Literal[1]
    title: str
    subtitle: str | None = None
    author: str | None = None
    date: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    matrix: dict[str, list[Any] | MatrixColumn] | None = Field(
        None, description="One report per combination of these parameters' values (a list, or a dataset column)."
    )
    datasets: dict[str, Dataset] = Field(min_length=1)
    style: Style = Field(default_factory=Style)
    brand: dict[str, Any] | str | None = Field(
        None, description="The brand: inline, or a brand file/folder; default: brand.yaml in the theme folders."
    )
    model: ModelConfig = Field(default_factory=ModelConfig)
    sections: list[Section] = Field(min_length=1)
    session: SessionConfig = Field(default_factory=SessionConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)

    # Set by the loader and the build, not by the YAML.
    path: Path = Field(Path("spec.yaml"), exclude=True)
    branded: Charts | None = Field(None, exclude=True, description="The charts with the brand applied.")

    @property
    def charts(self) -> Charts:
        """The charts' style, fonts and colours: the brand's, or the spec's `style` alone."""
        return self.branded or Charts(self.style)

    @field_validator("datasets")
    @classmethod
    def _identifiers(cls, datasets: dict[str, Dataset]) -> dict[str, Dataset]:
        for name in datasets:
            if not name.isidentifier() or name.startswith("_"):
                raise ValueError(f"dataset name {name!r} must be a Python identifier (it becomes a variable)")
        return datasets

    @property
    def folder(self) -> Path:
        return self.path.parent

    @property
    def data_files(self) -> dict[str, Path]:
        """Each dataset's file, by dataset name."""
        return {name: self.dataset_path(name) for name in self.datasets}

    def dataset_path(self, name: str) -> Path:
        """The dataset's file, with {{ params.x }} filled in."""
        raw = _fill_params(self.datasets[name].path, self.params)
        return (self.folder / raw).resolve()

    def dataset_format(self, name: str) -> str:
        declared = self.datasets[name].format
        return declared or self.dataset_path(name).suffix.lstrip(".").lower()


_PARAMS = SandboxedEnvironment(undefined=StrictUndefined)


def _fill_params(text: str, params: dict[str, Any]) -> str:
    return _PARAMS.from_string(text).render(params=params)


# ---------------------------------------------------------------- loading


def load(path: str | Path, overrides: dict[str, str] | None = None) -> Spec:
    """Read, validate and resolve a spec file; raise SpecError listing every problem."""
    path = Path(path)
    shown = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError([Problem(shown, 1, 1, "", f"cannot read the spec: {exc.strerror}")]) from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        # The context ("while scanning a quoted scalar") points at where the trouble began.
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        parts = [getattr(exc, "context", None), getattr(exc, "problem", None)]
        reason = ", ".join(p for p in parts if p) or str(exc)
        raise SpecError([Problem(shown, line, col, "", f"YAML syntax error: {reason}")]) from None
    if not isinstance(data, dict):
        raise SpecError([Problem(shown, 1, 1, "", "a spec is a YAML mapping with version, title, datasets and sections")])

    problems = _duplicate_keys(root, shown)
    locate = _Locator(root, shown)
    try:
        spec = Spec.model_validate(data)
    except ValidationError as exc:
        problems += [locate.problem(err) for err in exc.errors()]
        raise SpecError(_sorted(problems)) from None
    spec.path = path.resolve()
    problems += _apply_overrides(spec, overrides or {}, shown)
    problems += _check_sections(spec, locate)
    problems += _check_datasets(spec, locate)
    problems += _check_template(spec, locate)
    problems += _check_brand(spec, locate)
    problems += _check_matrix(spec, locate)
    if problems:
        raise SpecError(_sorted(problems))
    return spec


def _sorted(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.line, p.column))


def _apply_overrides(spec: Spec, overrides: dict[str, str], shown: str) -> list[Problem]:
    problems = []
    for name, value in overrides.items():
        if name not in spec.params:
            hint = _did_you_mean(name, spec.params)
            problems.append(Problem(shown, 1, 1, "params", f"--param {name}: no such parameter{hint}; declare it under `params:`"))
            continue
        spec.params[name] = yaml.safe_load(value) if value.strip() else ""
    return problems


def _check_sections(spec: Spec, locate: "_Locator") -> list[Problem]:
    seen: dict[str, int] = {}
    problems = []
    for i, section in enumerate(spec.sections):
        if section.id in seen:
            problems.append(
                locate.at(("sections", i, "id"), f"duplicate section id {section.id!r} (also sections[{seen[section.id]}])")
            )
        seen.setdefault(section.id, i)
    return problems


def _check_datasets(spec: Spec, locate: "_Locator") -> list[Problem]:
    problems, names = [], {}
    for name in spec.datasets:
        where = ("datasets", name, "path")
        try:
            file = spec.dataset_path(name)
        except TemplateError as exc:
            problems.append(locate.at(where, f"cannot fill in the path: {exc}"))
            continue
        fmt = spec.dataset_format(name)
        if fmt not in FORMATS:
            problems.append(locate.at(where, f"unknown format {fmt!r}; set `format:` to one of {', '.join(FORMATS)}"))
        if not file.is_file():
            problems.append(locate.at(where, f"dataset file not found: {file}"))
        elif file.name in names:
            problems.append(locate.at(where, f"file name {file.name!r} is also used by dataset {names[file.name]!r}; DATA_DIR needs unique names"))
        names.setdefault(file.name, name)
    return problems


def _check_template(spec: Spec, locate: "_Locator") -> list[Problem]:
    from .render import Theme

    theme = Theme.for_spec(spec.folder, spec.output.template)
    if theme.find(spec.output.template) is not None:
        return []
    folders = ", ".join(str(f) for f in theme.folders)
    return [locate.at(("output", "template"), f"template {spec.output.template!r} not found in {folders}")]


def _check_matrix(spec: Spec, locate: "_Locator") -> list[Problem]:
    problems = []
    for key, source in (spec.matrix or {}).items():
        if key not in spec.params:
            problems.append(locate.at(("matrix", key), f"{key!r} is not a parameter{_did_you_mean(key, spec.params)}; declare it under `params:` with a default"))
        if isinstance(source, MatrixColumn) and source.dataset not in spec.datasets:
            problems.append(locate.at(("matrix", key, "dataset"), f"no dataset {source.dataset!r}{_did_you_mean(source.dataset, spec.datasets)}"))
        if isinstance(source, list) and not source:
            problems.append(locate.at(("matrix", key), "the list of values is empty"))
    return problems


def _check_brand(spec: Spec, locate: "_Locator") -> list[Problem]:
    from . import brand

    if isinstance(spec.brand, dict):
        try:
            brand.Brand.model_validate(spec.brand)
        except ValidationError as exc:
            return [locate.problem({**e, "loc": ("brand", *e["loc"])}) for e in exc.errors()]
    try:
        brand.resolve(spec.brand, spec.folder, [])
    except SpecError as exc:
        return [locate.at(("brand",), p.message) if p.file == str(spec.path) else p for p in exc.problems]
    return []


def _did_you_mean(name: str, choices) -> str:
    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def format_path(loc: tuple) -> str:
    """('sections', 2, 'charts') -> 'sections[2].charts'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _duplicate_keys(node: yaml.Node | None, shown: str, loc: tuple = ()) -> list[Problem]:
    problems = []
    if isinstance(node, yaml.MappingNode):
        seen = set()
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else None
            if name in seen:
                mark = key.start_mark
                problems.append(Problem(shown, mark.line + 1, mark.column + 1, format_path(loc + (name,)), f"key {name!r} appears twice"))
            seen.add(name)
            problems += _duplicate_keys(value, shown, loc + (name,))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            problems += _duplicate_keys(item, shown, loc + (i,))
    return problems


class _Locator:
    """Turns a pydantic error location into a line and column of the YAML file."""

    def __init__(self, root: yaml.Node, shown: str):
        self.root, self.shown = root, shown

    def at(self, loc: tuple, message: str, *, key: bool = False) -> Problem:
        node, used = self._walk(loc, key=key)
        mark = node.start_mark if node is not None else None
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return Problem(self.shown, line, col, format_path(loc), message)

    def problem(self, err: dict) -> Problem:
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        kind = err["type"]
        if kind == "extra_forbidden":
            parent_model = _model_at(loc[:-1])
            # Fields the loader sets (excluded from dumps) are not for the YAML: never suggest them.
            fields = [n for n, f in parent_model.model_fields.items() if not f.exclude] if parent_model else []
            return self.at(loc, f"unknown key {loc[-1]!r}{_did_you_mean(loc[-1], fields)}", key=True)
        if kind == "missing":
            return self.at(loc, f"missing required key {loc[-1]!r}")
        if kind == "string_pattern_mismatch" and loc[-1] == "id":
            suggestion = re.sub(r"[^a-z0-9]+", "-", str(err["input"]).lower()).strip("-")
            return self.at(loc, f"section id {err['input']!r} may use only lower-case letters, digits and dashes, e.g. {suggestion!r}")
        message = err["msg"]
        message = message.removeprefix("Value error, ")
        message = message[0].lower() + message[1:]
        if kind not in ("value_error", "assertion_error") and "input" in err and not isinstance(err["input"], (dict, list)):
            message += f" (got {err['input']!r})"
        return self.at(loc, message)

    def _walk(self, loc: tuple, *, key: bool) -> tuple[yaml.Node | None, int]:
        node = self.root
        for depth, part in enumerate(loc):
            child = None
            if isinstance(node, yaml.MappingNode):
                for k, v in node.value:
                    if k.value == str(part):
                        child = k if key and depth == len(loc) - 1 else v
                        break
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                child = node.value[part]
            if child is None:
                return node, depth
            node = child
        return node, len(loc)


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The pydantic model that validates the mapping at loc."""
    model: Any = Spec
    if loc and loc[0] == "brand":
        from .brand import Brand

        model, loc = Brand, loc[1:]
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if isinstance(model, type) and issubclass(model, BaseModel) else None
        if field is None:
            if model is Spec or not isinstance(model, type):
                return None
            continue  # a dict key such as a dataset name
        annotation = field.annotation
        model = _inner_model(annotation)
        if model is None:
            return None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _inner_model(arg)
        if found:
            return found
    return None
