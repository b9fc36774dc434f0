"""mkdocs hook: carry the generated API references into the site as static files.

``make docs`` runs TypeDoc (into ``target/docs/api/node``) and rustdoc (``target/doc``) first;
this hook adds their output under ``api/node/`` and ``api/rust/`` so that pages link to them
with ordinary relative links, and a link to a page neither tool wrote fails the strict build.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
SOURCES = {
    "api/node": (ROOT / "target/docs/api/node", "index.html", "make docs (TypeDoc)"),
    "api/rust": (ROOT / "target/doc", "paybond_kit/index.html", "make docs (cargo doc)"),
}


def on_files(files: Files, config, **kwargs) -> Files:  # noqa: ANN001, ANN003
    for dest, (src, must, how) in SOURCES.items():
        if not (src / must).is_file():
            raise PluginError(f"apiref: {src / must} is missing: build it with {how}")
        for p in sorted(src.rglob("*")):
            if not p.is_file() or p.name.startswith(".") or p.suffix == ".lock":
                continue
            rel = p.relative_to(src).as_posix()
            if rel.endswith(".md"):  # a font licence in rustdoc's static files: keep it, as text
                rel += ".txt"
            files.append(File.generated(config, f"{dest}/{rel}", abs_src_path=str(p)))
    return files
