"""360Giving files: validating against the official schema, and reading and writing the
JSON and spreadsheet forms.

**Schema.** ``validate_package`` checks a data package against the 360Giving Data Standard's
package schema and, through it, the grant schema (copies shipped in ``vru/reference/``, CC BY
4.0, see ``360giving_schema_SOURCE.md``), with JSON Schema draft 2020-12. The package schema
refers to the grant schema by its 1.4.2 address; both that and the grant schema's own 1.4.3
address resolve to the local copy, so nothing is fetched. The ``date-time``, ``date`` and
``uri`` formats are checked here (jsonschema checks them only with optional packages vru does
not install): a ``date-time`` is RFC 3339 (``2025-04-01T09:30:00Z`` or with an offset) and
a real date; a ``uri`` has a scheme and no spaces. These checks matter: ``awardDate`` is
"one of" a date-time or a ``YYYY-MM-DD`` date, and without a format check every date would
match both and fail.

**Spreadsheets.** The spreadsheet form (``.xlsx`` or ``.csv``) has one row per grant on a
sheet named ``grants`` (or the workbook's only sheet), with columns named by the schema's
titles joined with colons, as 360Giving's templates and flatten-tool name them:
``Identifier``, ``Amount Awarded``, ``Recipient Org:Identifier``, ``Beneficiary
Location:Geographic Code``. A column names the first item of a list; ``Beneficiary
Location:1:Geographic Code`` names the second. Titles match without regard to case (older
files write ``Last modified``). Cells are converted by the schema's type for their field:
numbers where it wants a number (a cell that is not a number is kept as text, so the schema
reports it), text where it wants text (a charity number typed as a number becomes
``"1136419"``), dates from Excel as ``YYYY-MM-DD`` (or a full UTC date-time where only a
date-time will do), lists of strings split on ``;``. Columns the schema does not know are
reported (``unknown_columns``), not guessed at.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import openpyxl
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from vru.domain.commissioning.quality import QualityReport, run_checks

GRANT_SCHEMA_FILE = "360-giving-schema.json"
PACKAGE_SCHEMA_FILE = "360-giving-package-schema.json"
GRANT_SCHEMA_ALIASES = (
    "https://raw.githubusercontent.com/ThreeSixtyGiving/standard/1.4.2/schema/"
    "360-giving-schema.json",
    "https://raw.githubusercontent.com/ThreeSixtyGiving/standard/1.4.3/schema/"
    "360-giving-schema.json",
)
SHEET = "grants"
RFC3339 = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?"
                     r"([Zz]|[+-]\d{2}:\d{2})$")
ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s]+$")
NUMBERED = re.compile(r"^\d+$")


class GrantsFileError(ValueError):
    """A 360Giving file that cannot be read at all; says why."""


# --------------------------------------------------------------------------- schema


def _schema_text(name: str) -> str:
    return resources.files("vru").joinpath("reference", name).read_text("utf-8")


@cache
def grant_schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_schema_text(GRANT_SCHEMA_FILE))
    return data


@cache
def package_schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_schema_text(PACKAGE_SCHEMA_FILE))
    return data


def _real_date(y: str, m: str, d: str) -> bool:
    try:
        date(int(y), int(m), int(d))
    except ValueError:
        return False
    return True


def is_date_time(value: object) -> bool:
    """RFC 3339 date-time with a real date and time (non-strings pass: type is checked
    elsewhere)."""
    if not isinstance(value, str):
        return True
    m = RFC3339.match(value)
    if m is None:
        return False
    return _real_date(m.group(1), m.group(2), m.group(3)) and int(m.group(4)) < 24 \
        and int(m.group(5)) < 60 and int(m.group(6)) < 61


def is_date(value: object) -> bool:
    if not isinstance(value, str):
        return True
    m = ISO_DATE.match(value)
    return m is not None and _real_date(m.group(1), m.group(2), m.group(3))


def is_uri(value: object) -> bool:
    return not isinstance(value, str) or bool(URI.match(value))


def _format_checker() -> FormatChecker:
    checker = FormatChecker(formats=())
    checker.checks("date-time")(is_date_time)
    checker.checks("date")(is_date)
    checker.checks("uri")(is_uri)
    return checker


@cache
def grant_validator() -> Draft202012Validator:
    """The grant schema's validator (its 1.4.2 and 1.4.3 addresses resolve locally)."""
    # the schemas name their dialect with an http:// address that referencing does not know
    grant: Resource[Any] = DRAFT202012.create_resource(grant_schema())
    registry: Registry[Any] = Registry().with_resources(
        [(uri, grant) for uri in (*GRANT_SCHEMA_ALIASES, grant_schema()["$id"])])
    return Draft202012Validator(grant_schema(), registry=registry,
                                format_checker=_format_checker())


@cache
def package_validator() -> Draft202012Validator:
    """The package schema's validator for everything but the grants themselves, which
    ``validate_package`` checks one by one with ``grant_validator`` (and their uniqueness
    by their canonical JSON): the same rules, without jsonschema's quadratic
    ``uniqueItems`` comparison of every pair of grants (36 s for 4,116 grants)."""
    schema = json.loads(json.dumps(package_schema()))
    grants = schema["properties"]["grants"]
    grants["items"] = {}
    grants.pop("uniqueItems", None)
    return Draft202012Validator(schema, format_checker=_format_checker())


def _problem(error: ValidationError, prefix: Sequence[object] = ()) -> SchemaProblem:
    rule, message = _message(error)
    if len(message) > 300:
        message = message[:300] + "..."
    return SchemaProblem(_pointer([*prefix, *error.absolute_path]), rule, message)


def validate_package(package: Any) -> list[SchemaProblem]:
    """Every schema problem of a 360Giving data package, in document order."""
    out = [_problem(e) for e in package_validator().iter_errors(package)]
    grants = package.get("grants") if isinstance(package, dict) else None
    if isinstance(grants, list):
        seen: dict[str, int] = {}
        validator = grant_validator()
        for i, grant in enumerate(grants):
            out += [_problem(e, ("grants", i)) for e in validator.iter_errors(grant)]
            key = json.dumps(grant, sort_keys=True, default=str)
            if key in seen:
                out.append(SchemaProblem(f"/grants/{i}", "uniqueItems",
                                         f"grant {i} is identical to grant {seen[key]}"))
            else:
                seen[key] = i
    out.sort(key=lambda p: _sort_key(p.path))
    return out


@dataclass(frozen=True)
class SchemaProblem:
    """One way the file breaks the schema: where (a JSON pointer, and the spreadsheet row
    and column when read from one), what rule, and the message."""

    path: str
    rule: str
    message: str
    row: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        where = self.path or "/"
        if self.row is not None:
            where += f" (row {self.row}" + (f", column {self.column!r}" if self.column
                                            else "") + ")"
        return f"{where}: {self.message}"


def _pointer(parts: Sequence[object]) -> str:
    return "".join(f"/{p}" for p in parts)


def _message(error: ValidationError) -> tuple[str, str]:
    if error.validator == "oneOf" and error.context:
        inner = best_match(error.context)
        return str(inner.validator), inner.message
    return str(error.validator), error.message


def _sort_key(path: str) -> tuple[Any, ...]:
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in path.split("/") if p)


# --------------------------------------------------------------------------- titles


@dataclass(frozen=True)
class Field:
    """A leaf field of a grant: its JSON path (list indexes as 0), its title path and its
    schema (types, format)."""

    path: tuple[str | int, ...]
    titles: tuple[str, ...]
    schema: Mapping[str, Any]

    @property
    def types(self) -> tuple[str, ...]:
        t = self.schema.get("type", ())
        return (t,) if isinstance(t, str) else tuple(t)


def _resolve(node: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target = root["$defs"][ref.split("/")[-1]]
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return merged
    return node


def _walk(props: Mapping[str, Any], root: Mapping[str, Any], path: tuple[str | int, ...],
          titles: tuple[str, ...], depth: int = 0) -> Iterator[Field]:
    for key, raw in props.items():
        node = _resolve(raw, root)
        title = str(node.get("title") or key)
        types = node.get("type", ())
        types = (types,) if isinstance(types, str) else tuple(types)
        if "array" in types and isinstance(node.get("items"), Mapping):
            item = _resolve(node["items"], root)
            if item.get("type") == "object" and "properties" in item and depth < 3:
                yield from _walk(item["properties"], root, (*path, key, 0),
                                 (*titles, title), depth + 1)
            else:
                yield Field((*path, key), (*titles, title), node)
        elif "object" in types and "properties" in node and depth < 3:
            yield from _walk(node["properties"], root, (*path, key), (*titles, title),
                             depth + 1)
        else:
            yield Field((*path, key), (*titles, title), node)


@cache
def grant_fields() -> dict[str, Field]:
    """Every leaf field of the grant schema by its lower-case title path (``a:b:c``)."""
    schema = grant_schema()
    out: dict[str, Field] = {}
    for f in _walk(schema["properties"], schema, (), ()):
        out.setdefault(":".join(f.titles).lower(), f)
    return out


@cache
def _fields_by_path() -> dict[tuple[str | int, ...], Field]:
    return {f.path: f for f in grant_fields().values()}


def column_field(column: str) -> tuple[Field, tuple[str | int, ...]] | None:
    """The field a column names, and its JSON path with list indexes filled in
    (``Beneficiary Location:1:Name`` -> beneficiaryLocation/1/name). None if unknown."""
    parts = [p.strip() for p in column.split(":")]
    indexes = [int(p) for p in parts if NUMBERED.match(p)]
    titles = [p for p in parts if not NUMBERED.match(p)]
    f = grant_fields().get(":".join(titles).lower())
    if f is None:
        return None
    path: list[str | int] = []
    it = iter(indexes)
    for part in f.path:
        path.append(next(it, 0) if isinstance(part, int) else part)
    return f, tuple(path)


def column_title(path: Sequence[str | int]) -> str | None:
    """The column for a JSON path inside a grant (the inverse of ``column_field``)."""
    template = tuple(0 if isinstance(p, int) else p for p in path)
    f = _fields_by_path().get(template)
    if f is None:
        return None
    out: list[str] = []
    title_iter = iter(f.titles)
    for part in path:
        if isinstance(part, int):
            if part:
                out.append(str(part))
        else:
            out.append(next(title_iter))
    return ":".join(out)


# --------------------------------------------------------------------------- reading


@dataclass
class GrantsFile:
    """A 360Giving file as read: the package, where each grant came from, the columns not
    in the schema, and notes (sheets not read, for example)."""

    name: str
    package: dict[str, Any]
    rows: list[int] = field(default_factory=list)
    columns: dict[tuple[int, str], str] = field(default_factory=dict)
    unknown_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def grants(self) -> list[dict[str, Any]]:
        grants = self.package.get("grants")
        return grants if isinstance(grants, list) else []

    def locate(self, problem: SchemaProblem) -> SchemaProblem:
        """The problem with its spreadsheet row and column, when known."""
        parts = [p for p in problem.path.split("/") if p]
        if len(parts) < 2 or parts[0] != "grants" or not parts[1].isdigit() or not self.rows:
            return problem
        index = int(parts[1])
        row = self.rows[index] if index < len(self.rows) else None
        inner: list[str | int] = [int(p) if p.isdigit() else p for p in parts[2:]]
        column = column_title(inner) if inner else None
        return SchemaProblem(problem.path, problem.rule, problem.message, row, column)


def _excel_text(value: object, f: Field) -> Any:
    types = f.types
    if isinstance(value, datetime | date):
        moment = value if isinstance(value, datetime) else datetime.combine(value, time())
        fmt = f.schema.get("format")
        date_allowed = "oneOf" in f.schema or fmt is None
        if moment.time() == time() and date_allowed:
            return moment.date().isoformat()
        return moment.replace(tzinfo=UTC).isoformat()
    if "number" in types or "integer" in types:
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float):
            return int(value) if float(value).is_integer() else float(value)
        text = str(value).strip().replace(",", "")
        try:
            number = float(text)
        except ValueError:
            return str(value).strip()
        return int(number) if number.is_integer() else number
    if "array" in types:
        return [p.strip() for p in str(value).split(";") if p.strip()]
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value).strip()


def _set(target: dict[str, Any], path: Sequence[str | int], value: Any) -> None:
    node: Any = target
    for i, part in enumerate(path[:-1]):
        nxt = path[i + 1]
        if isinstance(part, int):
            while len(node) <= part:
                node.append({} if not isinstance(nxt, int) else [])
            node = node[part]
        else:
            if part not in node:
                node[part] = [] if isinstance(nxt, int) else {}
            node = node[part]
    last = path[-1]
    if isinstance(last, int):
        while len(node) <= last:
            node.append(None)
        node[last] = value
    else:
        node[last] = value


def unflatten(name: str, header: Sequence[str], rows: Iterator[tuple[int, Sequence[object]]]
              ) -> GrantsFile:
    """Grants from spreadsheet rows (see the module docstring)."""
    mapped: list[tuple[int, Field, tuple[str | int, ...]] | None] = []
    out = GrantsFile(name, {"grants": []})
    for column in header:
        hit = column_field(column) if column else None
        mapped.append(None if hit is None else (len(mapped), hit[0], hit[1]))
        if hit is None and column:
            out.unknown_columns.append(column)
    grants: list[dict[str, Any]] = out.package["grants"]
    for number, values in rows:
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
            continue
        grant: dict[str, Any] = {}
        for m in mapped:
            if m is None:
                continue
            col, f, path = m
            value = values[col] if col < len(values) else None
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            _set(grant, path, _excel_text(value, f))
        _compact(grant)
        grants.append(grant)
        out.rows.append(number)
    return out


def _compact(node: Any) -> None:
    """Drop list slots left empty by sparse numbered columns."""
    if isinstance(node, dict):
        for v in node.values():
            _compact(v)
    elif isinstance(node, list):
        node[:] = [v for v in node if v not in (None, {}, [])]
        for v in node:
            _compact(v)


def read_grants_file(path: Path) -> GrantsFile:
    """Read a 360Giving file: ``.json`` (a data package), ``.xlsx`` or ``.csv``."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise GrantsFileError(f"{path} does not exist")
    if suffix == ".json":
        try:
            data = json.loads(path.read_text("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise GrantsFileError(f"{path.name} is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise GrantsFileError(f"{path.name}: a 360Giving JSON file is an object with "
                                  "a grants list")
        return GrantsFile(path.name, data)
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    if suffix == ".csv":
        return _read_csv(path)
    raise GrantsFileError(f"{path.name}: use a .json, .xlsx or .csv file")


def _read_xlsx(path: Path) -> GrantsFile:
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a bad file
        raise GrantsFileError(f"{path.name} cannot be opened as an Excel workbook "
                              f"({type(exc).__name__})") from None
    try:
        names = book.sheetnames
        sheet_name = next((n for n in names if n.lower() == SHEET), None)
        if sheet_name is None and len(names) == 1:
            sheet_name = names[0]
        if sheet_name is None:
            raise GrantsFileError(f"{path.name} has no sheet called {SHEET!r}")
        rows = book[sheet_name].iter_rows(values_only=True)
        header = [str(v).strip() if v is not None else "" for v in next(rows, ())]
        out = unflatten(f"{path.name} [{sheet_name}]", header,
                        ((i, list(r)) for i, r in enumerate(rows, start=2)))
        other = [n for n in names if n != sheet_name]
        if other:
            out.notes.append(f"sheets not read (only {sheet_name!r} is): {', '.join(other)}")
        return out
    finally:
        book.close()


def _read_csv(path: Path) -> GrantsFile:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip() for h in next(reader, [])]
    return unflatten(path.name, header, ((i, list(r)) for i, r in enumerate(reader, start=2)))


# --------------------------------------------------------------------------- writing


def write_json(package: Mapping[str, Any], path: Path) -> Path:
    path.write_text(json.dumps(package, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return path


def flatten(grant: Mapping[str, Any]) -> dict[str, Any]:
    """A grant as ``{column title: value}`` (lists of strings joined with ``;``)."""
    out: dict[str, Any] = {}

    def visit(node: Any, path: tuple[str | int, ...]) -> None:
        if isinstance(node, Mapping):
            for k, v in node.items():
                visit(v, (*path, k))
        elif isinstance(node, list) and node and all(isinstance(v, Mapping) for v in node):
            for i, v in enumerate(node):
                visit(v, (*path, i))
        else:
            title = column_title(path)
            if title is None:
                return
            out[title] = "; ".join(map(str, node)) if isinstance(node, list) else node

    visit(grant, ())
    return out


def spreadsheet_columns(grants: Sequence[Mapping[str, Any]]) -> list[str]:
    """Columns in schema order (each field's title path; numbered items after the first)."""
    order = {":".join(f.titles): i for i, f in enumerate(grant_fields().values())}
    seen: dict[str, None] = {}
    for g in grants:
        for c in flatten(g):
            seen.setdefault(c, None)

    def key(column: str) -> tuple[int, int, str]:
        parts = column.split(":")
        number = next((int(p) for p in parts if NUMBERED.match(p)), 0)
        base = ":".join(p for p in parts if not NUMBERED.match(p))
        return (order.get(base, 10_000), number, column)

    return sorted(seen, key=key)


def write_spreadsheet(package: Mapping[str, Any], path: Path) -> Path:
    """The grants as a 360Giving spreadsheet: ``.xlsx`` (sheet ``grants``) or ``.csv``."""
    grants = [g for g in package.get("grants", []) if isinstance(g, Mapping)]
    columns = spreadsheet_columns(grants)
    rows = [flatten(g) for g in grants]
    if path.suffix.lower() == ".csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(columns)
        for r in rows:
            writer.writerow(["" if r.get(c) is None else r[c] for c in columns])
        path.write_text(buffer.getvalue(), encoding="utf-8-sig")
        return path
    book = openpyxl.Workbook()
    sheet = book.active
    if not isinstance(sheet, Worksheet):  # pragma: no cover - a new workbook has one
        raise RuntimeError("a new workbook has no worksheet")
    sheet.title = SHEET
    sheet.append(columns)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for r in rows:
        sheet.append([r.get(c) for c in columns])
    for i, c in enumerate(columns, start=1):
        sheet.column_dimensions[openpyxl.utils.get_column_letter(i)].width = \
            min(max(12, len(c) + 2), 60)
    meta = book.create_sheet("about")
    for key in ("title", "description", "identifier", "issued", "modified", "license"):
        if key in package:
            meta.append([key, str(package[key])])
    publisher = package.get("publisher")
    if isinstance(publisher, Mapping):
        meta.append(["publisher", str(publisher.get("name", ""))])
    book.save(path)
    return path


# --------------------------------------------------------------------------- checking


@dataclass
class FileCheck:
    """A file's schema problems and quality report."""

    file: GrantsFile
    schema_problems: list[SchemaProblem]
    quality: QualityReport

    @property
    def valid(self) -> bool:
        return not self.schema_problems

    @property
    def ok(self) -> bool:
        return self.valid and self.quality.ok

    def problems_by_rule(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for p in self.schema_problems:
            key = f"{p.rule} at {_template(p.path)}"
            out[key] = out.get(key, 0) + 1
        return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


def _template(path: str) -> str:
    parts = path.split("/")
    return "/".join("N" if p.isdigit() else p for p in parts)


def check_package(package: Mapping[str, Any], name: str = "package") -> FileCheck:
    loaded = GrantsFile(name, dict(package))
    return FileCheck(loaded, validate_package(dict(package)), run_checks(package))


def check_file(path: Path) -> FileCheck:
    """Read a 360Giving file and run the schema and the quality checks on it."""
    loaded = read_grants_file(path)
    problems = [loaded.locate(p) for p in validate_package(loaded.package)]
    return FileCheck(loaded, problems, run_checks(loaded.package))
