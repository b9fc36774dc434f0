"""Every error code and deny code, read from the Rust core's own source (so the docs cannot
drift), and checked against the Python and Node error classes.

Used by the mkdocs hook ``codes.py`` (the table on the codes page, the troubleshooting
coverage check) and by ``docs/scripts/check.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ERROR_RS = ROOT / "core/src/error.rs"
GUARD_RS = ROOT / "core/src/guard.rs"
ERRORS_PY = ROOT / "bindings-python/python/paybond_kit/errors.py"
ERRORS_TS = ROOT / "bindings-node/lib/errors.ts"


@dataclass(frozen=True)
class ErrorCode:
    variant: str  # Rust variant, e.g. "HarborHttp"
    code: str  # stable code, e.g. "http_error"
    class_name: str  # Python and Node class, e.g. "HarborHttpError"
    doc: str  # the variant's doc comment
    fields: tuple[str, ...]  # snake_case fields the bindings expose


@dataclass(frozen=True)
class DenyCode:
    variant: str
    code: str
    doc: str


class CodeListError(Exception):
    """The core's code list and a binding disagree, or the source could not be read."""


def _enum_body(src: str, name: str) -> str:
    m = re.search(r"pub enum " + name + r" \{\n(.*?)\n\}\n", src, re.S)
    if not m:
        raise CodeListError(f"no `pub enum {name}` found")
    return m.group(1)


def _variants(body: str) -> list[tuple[str, str]]:
    """``(variant, doc)`` for each top-level variant (4-space indent) of an enum body."""
    out: list[tuple[str, str]] = []
    doc: list[str] = []
    for line in body.splitlines():
        m = re.match(r"^    /// ?(.*)$", line)
        if m:
            doc.append(m.group(1))
            continue
        m = re.match(r"^    ([A-Z][A-Za-z0-9]*)\b", line)
        if m:
            out.append((m.group(1), " ".join(doc).strip()))
            doc = []
        elif re.match(r"^    #\[", line):
            continue
        elif not line.startswith("        ") and line.strip() not in ("", "},"):
            doc = []
    return out


def _match_arms(src: str, fn: str, enum: str) -> dict[str, str]:
    m = re.search(r"pub fn " + fn + r"\(&?self\) -> &'static str \{(.*?)\n    \}\n", src, re.S)
    if not m:
        raise CodeListError(f"no `fn {fn}` found")
    arms = re.findall(enum + r"::([A-Za-z0-9]+)(?: \{ \.\. \})? => \"([^\"]+)\"", m.group(1))
    return dict(arms)


def error_codes() -> list[ErrorCode]:
    src = ERROR_RS.read_text()
    variants = _variants(_enum_body(src, "Error"))
    codes = _match_arms(src, "code", "Error")
    classes = _match_arms(src, "class_name", "Error")
    fields_src = re.search(r"pub fn fields\(&self\).*?\n    \}\n", src, re.S)
    out = []
    for v, doc in variants:
        if v not in codes or v not in classes:
            raise CodeListError(f"core Error::{v} has no code() or class_name() arm")
        fields: tuple[str, ...] = ()
        if fields_src:
            # the arm that lists this variant, then the field names in its vec![...]
            m = re.search(r"Error::" + v + r" \{[^}]*\}[^=]*?=> vec!\[(.*?)\]", fields_src.group(0), re.S)
            if m:
                fields = tuple(re.findall(r"\(\"([a-z_]+)\"", m.group(1)))
        out.append(ErrorCode(v, codes[v], classes[v], doc, fields))
    return out


def deny_codes() -> list[DenyCode]:
    src = GUARD_RS.read_text()
    variants = _variants(_enum_body(src, "DenyCode"))
    strs = dict(re.findall(r"DenyCode::([A-Za-z]+) => \"([a-z_]+)\"", src))
    out = []
    for v, doc in variants:
        if v not in strs:
            raise CodeListError(f"core DenyCode::{v} has no as_str() arm")
        out.append(DenyCode(v, strs[v], doc))
    return out


def python_classes() -> dict[str, str]:
    """Python error class → its ``code``."""
    src = ERRORS_PY.read_text()
    out: dict[str, str] = {}
    for m in re.finditer(r"^class (\w+)\((.*?)\):\n(.*?)(?=^class |\Z)", src, re.S | re.M):
        c = re.search(r'^    code(?:: str)? = "([a-z_]+)"', m.group(3), re.M)
        if c:
            out[m.group(1)] = c.group(1)
    return out


def node_classes() -> dict[str, str]:
    """Node error class → its ``code``."""
    src = ERRORS_TS.read_text()
    out: dict[str, str] = {}
    for m in re.finditer(r"^export class (\w+) extends \w+ \{(.*?)^\}", src, re.S | re.M):
        c = re.search(r'super\(message, "([a-z_]+)"', m.group(2))
        if c:
            out[m.group(1)] = c.group(1)
    return out


def check_bindings() -> list[str]:
    """Every core error has a Python and a Node class of the same name and code."""
    problems = []
    py, node = python_classes(), node_classes()
    for e in error_codes():
        for lang, classes in (("Python", py), ("Node", node)):
            if classes.get(e.class_name) != e.code:
                problems.append(f"{lang} has no {e.class_name} with code {e.code!r} (core Error::{e.variant})")
    return problems
