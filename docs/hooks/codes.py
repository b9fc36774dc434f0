"""mkdocs hook: the error/deny code table, generated from the core's code list at build time.

- ``<!-- codes:errors -->`` and ``<!-- codes:deny -->`` and ``<!-- codes:adapter -->`` in a page
  are replaced by tables built from ``core/src/error.rs`` / ``core/src/guard.rs`` (and the
  adapter-only classes of the bindings).
- The build fails when a core error has no Python or Node class of the same name and code, or
  when the troubleshooting page lacks a section for a code.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mkdocs.exceptions import PluginError

sys.path.insert(0, str(Path(__file__).parent))
import codelist  # noqa: E402

TROUBLESHOOTING = "guides/troubleshooting.md"


def _anchor(code: str) -> str:
    return code.replace("_", "-")


def _errors_table() -> str:
    rows = ["| code | Python / Node class | Rust | fields (Python; Node in camelCase) | meaning |", "|---|---|---|---|---|"]
    for e in codelist.error_codes():
        fields = ", ".join(f"`{f}`" for f in e.fields) or "—"
        link = f"[`{e.code}`](../{TROUBLESHOOTING}#{_anchor(e.code)})"
        rows.append(f"| {link} | `{e.class_name}` | `Error::{e.variant}` | {fields} | {e.doc} |")
    return "\n".join(rows)


def _deny_table() -> str:
    errors = {e.code for e in codelist.error_codes()}
    rows = ["| deny code | raised as an error too | meaning |", "|---|---|---|"]
    for d in codelist.deny_codes():
        link = f"[`{d.code}`](../{TROUBLESHOOTING}#{_anchor(d.code)})"
        rows.append(f"| {link} | {'yes' if d.code in errors else 'no (a decision only)'} | {d.doc} |")
    return "\n".join(rows)


def _adapter_table() -> str:
    core = {e.class_name for e in codelist.error_codes()} | {"PaybondError"}
    py, node = codelist.python_classes(), codelist.node_classes()
    names = sorted((set(py) | set(node)) - core)
    rows = ["| class | code | Python | Node |", "|---|---|---|---|"]
    for n in names:
        code = py.get(n) or node.get(n)
        link = f"[`{code}`](../{TROUBLESHOOTING}#{_anchor(code or '')})"
        rows.append(f"| `{n}` | {link} | {'yes' if n in py else 'not yet'} | {'yes' if n in node else 'not yet'} |")
    return "\n".join(rows)


def all_codes() -> set[str]:
    core = {e.class_name for e in codelist.error_codes()} | {"PaybondError"}
    adapter = {c for n, c in {**codelist.python_classes(), **codelist.node_classes()}.items() if n not in core}
    return {e.code for e in codelist.error_codes()} | {d.code for d in codelist.deny_codes()} | adapter


def on_pre_build(config, **kwargs):  # noqa: ANN001, ANN003
    try:
        problems = codelist.check_bindings()
    except codelist.CodeListError as e:
        raise PluginError(f"codes: cannot read the core's code list: {e}") from e
    if problems:
        raise PluginError("codes: the bindings disagree with the core:\n  " + "\n  ".join(problems))


def on_page_markdown(markdown: str, page, config, files, **kwargs):  # noqa: ANN001, ANN003
    for marker, make in (("<!-- codes:errors -->", _errors_table), ("<!-- codes:deny -->", _deny_table),
                         ("<!-- codes:adapter -->", _adapter_table)):
        if marker in markdown:
            markdown = markdown.replace(marker, make())
    if page.file.src_uri == TROUBLESHOOTING:
        missing = [c for c in sorted(all_codes()) if f"{{#{_anchor(c)}}}" not in markdown]
        if missing:
            raise PluginError(f"codes: {TROUBLESHOOTING} has no section for: {', '.join(missing)}")
    return markdown
