"""claims.yaml and deviations.yaml: schema, loading with one-line errors, run selection, tolerances.

A claim is one number the paper reports, where it says so, and which of our runs it is compared
against (`select`). The schema is documented in docs/claims.md; this module is its single implementation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from workbench.errors import UserError
from workbench.files import shown_path

Scalar = str | int | float | bool | None

_FIX = "Fix the entry (schema in docs/claims.md)."


class Tolerance(BaseModel):
    """How far our mean may sit from the paper's value and still count as reproduced.

    paper_std: k times the std the paper reports; abs: a fixed width; rel: a fraction of |value|.
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["paper_std", "abs", "rel"]
    k: float | None = None
    value: float | None = None

    @model_validator(mode="after")
    def _kind_has_its_number(self) -> Tolerance:
        for name in ("k", "value"):
            number = getattr(self, name)
            if number is not None and not math.isfinite(number):
                raise ValueError(f"field 'tolerance.{name}' is {number}; a tolerance is a finite number > 0")
        if self.kind == "paper_std":
            if self.k is None or not self.k > 0 or self.value is not None:
                raise ValueError("kind 'paper_std' takes k > 0 and no value, e.g. {kind: paper_std, k: 2}")
        else:
            if self.value is None or not self.value > 0 or self.k is not None:
                raise ValueError(f"kind '{self.kind}' takes value > 0 and no k, e.g. {{kind: {self.kind}, value: 1.0}}")
        return self


class ClaimSource(BaseModel):
    """Where the paper says it. `arxiv` must be a string: YAML reads 2011.14430 as the float 2011.1443."""

    model_config = ConfigDict(extra="forbid")

    arxiv: str
    table: int | str | None = None
    row: str | None = None
    column: str | None = None
    file: str | None = None
    line: int | None = None
    caption: str | None = None   # the table's caption and \label, as `workbench fetch` read them
    label: str | None = None
    best: bool | None = None     # printed in bold/underlined: the paper marks it as a best result


class Bound(BaseModel):
    """A relative claim's region: min ≤ statistic ≤ max (either may be left out)."""

    model_config = ConfigDict(extra="forbid")

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _finite_and_ordered(self) -> Bound:
        for name in ("min", "max"):
            number = getattr(self, name)
            if number is not None and not math.isfinite(number):
                raise ValueError(f"field '{name}' is {number}; a bound is a finite number")
        if self.min is None and self.max is None:
            raise ValueError("a bound needs min, max or both, e.g. {min: 100}")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self


class Claim(BaseModel):
    """One reported number and the runs that answer it.

    kind `value` (the default) compares our runs' metric with the paper's value ± tolerance. The
    relative kinds compare two selections of runs, `select` (a) and `versus` (b): `ratio` is
    mean(a)/mean(b), `difference` mean(a) − mean(b), both against `bound`; `order` claims
    mean(a) < mean(b). `versus_metric` lets side b read another metric (default: `metric`).
    """

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    kind: Literal["value", "ratio", "difference", "order"] = "value"
    quote: str
    source: ClaimSource
    metric: str = Field(min_length=1)
    value: float | None = None
    std: float | None = None
    n_seeds: int | None = Field(default=None, ge=1)
    unit: str = ""
    goal: Literal["max", "min"] = "max"
    select: dict[str, Scalar]
    versus: dict[str, Scalar] | None = None
    versus_metric: str | None = None
    bound: Bound | None = None
    tolerance: Tolerance | None = None
    scale: Literal["linear", "log"] | None = None  # None: log for losses, errors and distances
    allow: list[str] = Field(default_factory=list)  # config keys a run may change and still count
    status: Literal["candidate", "confirmed", "rejected"]
    note: str | None = None  # what a reader of the verdict should know, e.g. where the official code differs

    @model_validator(mode="after")
    def _numbers_are_finite(self) -> Claim:
        if self.value is not None and not math.isfinite(self.value):
            raise ValueError(f"field 'value' is {self.value}; a claim's value is a finite number")
        if self.std is not None and not (math.isfinite(self.std) and self.std >= 0):
            raise ValueError(f"field 'std' is {self.std}; a std is a finite number >= 0 (or null)")
        return self

    @model_validator(mode="after")
    def _kind_has_its_fields(self) -> Claim:
        if self.kind == "value":
            if self.value is None:
                raise ValueError("field 'value': a claim of kind 'value' needs the paper's number")
            if self.tolerance is None:
                raise ValueError("field 'tolerance': set it before running, e.g. {kind: paper_std, k: 2}")
            if self.versus is not None or self.bound is not None:
                raise ValueError("fields 'versus' and 'bound' belong to relative claims (kind: ratio | difference | order)")
            return self
        if self.versus is None:
            raise ValueError(f"field 'versus': a claim of kind '{self.kind}' compares select with versus; name the runs of side b")
        if self.kind in ("ratio", "difference") and self.bound is None:
            raise ValueError(f"field 'bound': a claim of kind '{self.kind}' needs one, e.g. {{min: 100}}")
        if self.kind == "order" and self.bound is not None:
            raise ValueError("field 'bound': an order claim (a < b) takes no bound")
        return self

    @model_validator(mode="after")
    def _tolerance_fits_claim(self) -> Claim:
        if self.tolerance is None:
            return self
        # A zero width would make "reproduced" mean "bit-identical", which no rerun achieves.
        if self.tolerance.kind == "paper_std" and not (self.std is not None and self.std > 0):
            raise ValueError(
                "field 'tolerance': kind 'paper_std' needs the paper's std, but std is "
                f"{self.std}; set std, or use {{kind: abs, value: ...}}"
            )
        if self.tolerance.kind == "rel" and self.value == 0:
            raise ValueError("field 'tolerance': kind 'rel' of a value of 0 is 0; use {kind: abs, value: ...}")
        return self


class Deviation(BaseModel):
    """Where we differ from the paper: what it says, what we do, why, and which claims it touches."""

    model_config = ConfigDict(extra="forbid")

    what: str
    paper: str
    we_do: str
    why: str
    affects: list[str]
    comparable: bool = True  # false: the claims it affects measure something else; never scored


@dataclass(frozen=True)
class ClaimsFile:
    """claims.yaml: the claims, and the config keys any run of this paper may change and still count."""

    claims: list[Claim]
    allow: list[str]


def load_claims(path: str | Path) -> list[Claim]:
    """Read and validate claims.yaml; any problem is one UserError naming file, claim and field."""
    return load_claims_file(path).claims


def load_claims_file(path: str | Path) -> ClaimsFile:
    path = Path(path)
    data = _read_yaml(path)
    if data is None:
        return ClaimsFile([], [])
    if not isinstance(data, dict) or not isinstance(data.get("claims", []), list):
        raise UserError(f"{shown_path(path)}: expected a mapping with a list under 'claims:'. {_FIX}")
    extra = sorted(set(data) - {"claims", "allow"})
    if extra:
        keys = ", ".join(map(repr, extra))
        raise UserError(f"{shown_path(path)}: unknown top-level key(s) {keys}; only 'claims' and 'allow' are allowed. "
                        f"Remove them.")
    allow = data.get("allow") or []
    if not isinstance(allow, list) or not all(isinstance(key, str) and key for key in allow):
        raise UserError(f"{shown_path(path)}: 'allow' must be a list of config keys (e.g. [data.root]). {_FIX}")
    claims = _validate_entries(path, data.get("claims") or [], Claim, "claim", "id")
    _reject_duplicate_ids(path, claims)
    return ClaimsFile(claims, list(allow))


def load_deviations(path: str | Path) -> list[dict[str, Any]]:
    """Read and validate deviations.yaml (a YAML list); returns plain dicts in file order."""
    path = Path(path)
    data = _read_yaml(path)
    if data is None:
        return []
    if not isinstance(data, list):
        raise UserError(f"{shown_path(path)}: expected a YAML list of {{what, paper, we_do, why, affects}}. {_FIX}")
    return [d.model_dump(exclude_defaults=True) for d in _validate_entries(path, data, Deviation, "deviation", "what")]


def tolerance_width(claim: Claim) -> float:
    """Half-width of the band around claim.value that counts as reproduced."""
    tol = claim.tolerance
    if tol is None:
        raise UserError(f"claim '{claim.id}' of kind '{claim.kind}' has no tolerance; it is judged by its bound")
    if tol.kind == "paper_std":
        if claim.std is None:  # load_claims rejects this; guard claims built in code
            raise UserError(f"claim '{claim.id}': tolerance kind 'paper_std' needs the paper's std.")
        return float(tol.k) * claim.std
    if tol.kind == "abs":
        return float(tol.value)
    return float(tol.value) * abs(claim.value)


def run_matches(claim: Claim, config: dict[str, Any], stage: str = "reproduction") -> bool:
    """Whether a run with this resolved config answers the claim.

    The run's `choices.stage` must equal `stage` unless the claim selects a stage itself. Each
    select key is looked up in `choices` when it names a config group (model: cnn), otherwise as a
    dotted path into the config (optim.lr: 0.01). A key the run lacks means no match. Runs made
    with a debug preset (debug=fast) never answer a claim unless the select names `debug`.
    """
    choices = config.get("choices") or {}
    if not isinstance(choices, dict):
        choices = {}
    if choices.get("debug") is not None and "debug" not in claim.select:
        return False
    wanted = dict(claim.select)
    wanted.setdefault("stage", stage)
    for key, want in wanted.items():
        found, have = _lookup(config, choices, key)
        if not found or not _same_value(have, want):
            return False
    return True


# --- loading helpers ---------------------------------------------------------------------------




def _read_yaml(path: Path) -> Any:
    if not path.is_file():
        raise UserError(f"{shown_path(path)}: file not found. Create it (schema in docs/claims.md).")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UserError(f"{shown_path(path)}: not valid YAML{where}: {problem}. Fix the syntax.") from None
    except RecursionError:
        raise UserError(f"{shown_path(path)}: nested too deeply to read. Fix the file.") from None
    except (OSError, ValueError) as exc:  # ValueError: bad UTF-8, an integer of thousands of digits
        raise UserError(f"{shown_path(path)}: cannot read ({str(exc).splitlines()[0]}).") from None


def _validate_entries(path: Path, entries: list, model: type[BaseModel], noun: str, label_key: str) -> list:
    out = []
    for number, entry in enumerate(entries, start=1):
        label = entry.get(label_key) if isinstance(entry, dict) else None
        where = f"{shown_path(path)}: {noun} {number}" + (f" {label!r}" if isinstance(label, str) else "")
        if not isinstance(entry, dict):
            raise UserError(f"{where}: expected a mapping of fields, got {type(entry).__name__}. {_FIX}")
        try:
            out.append(model.model_validate(entry))
        except ValidationError as exc:
            raise UserError(f"{where}: {_first_error(exc)}. {_FIX}") from None
    return out


def _first_error(exc: ValidationError) -> str:
    """The first pydantic error as "field 'a.b': message", one line.

    A union field (int | str | None) fails once per member; those errors are merged into one.
    """
    errors = exc.errors()
    loc = _field_path(errors[0]["loc"])
    same_field = [e for e in errors if _field_path(e["loc"]) == loc]
    msg = _error_text(same_field[0])
    if len(same_field) > 1:
        wanted = " or ".join(dict.fromkeys(str(e["msg"]).removeprefix("Input should be ") for e in same_field))
        msg = f"Input should be {wanted} (got {_short(same_field[0].get('input'))})"
    if not loc or msg.startswith("field '"):
        return msg
    return f"field '{loc}': {msg}"


_UNION_TAGS = {"str", "int", "float", "bool", "none", "list", "dict"}


def _field_path(loc: tuple) -> str:
    """'source.table' from ('source', 'table', 'int'): drop the union-member tags pydantic appends."""
    parts = [str(p) for p in loc]
    while len(parts) > 1 and (parts[-1] in _UNION_TAGS or "[" in parts[-1]):
        parts.pop()
    return ".".join(parts)


def _error_text(err: dict) -> str:
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        return "unknown field (a typo?)"
    if err["type"] == "string_type" and isinstance(err.get("input"), (int, float)):
        return msg + "; put it in quotes so YAML keeps it as text"
    return msg


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _reject_duplicate_ids(path: Path, claims: list[Claim]) -> None:
    first_seen: dict[str, int] = {}
    for number, claim in enumerate(claims, start=1):
        if claim.id in first_seen:
            raise UserError(
                f"{shown_path(path)}: claim {number} {claim.id!r}: field 'id': duplicate of claim "
                f"{first_seen[claim.id]}. Give each claim a unique id."
            )
        first_seen[claim.id] = number


# --- matching helpers --------------------------------------------------------------------------


def _lookup(config: dict, choices: dict, key: str) -> tuple[bool, Any]:
    if key in choices:
        return True, choices[key]
    if key == "stage" and isinstance(config.get("stage"), str):  # configs that record stage flat
        return True, config["stage"]
    node: Any = config
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _same_value(have: Any, want: Any) -> bool:
    """Equal as numbers when both read as numbers ("0.01" == 1e-2), else as normalised strings."""
    a, b = _as_number(have), _as_number(want)
    if a is not None and b is not None:
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=0.0) or a == b
    return _as_text(have) == _as_text(want)


def _as_number(x: Any) -> float | None:
    if isinstance(x, bool) or x is None:
        return None
    if isinstance(x, (int, float)):
        return float(x)
    if isinstance(x, str):
        try:
            return float(x)
        except ValueError:
            return None
    return None


def _as_text(x: Any) -> str:
    if isinstance(x, bool):
        return "true" if x else "false"
    if x is None:
        return "null"
    low = str(x).strip().lower()
    if low in ("true", "false"):
        return low
    if low in ("null", "none", "~"):
        return "null"
    return str(x)
