"""PEP 517 backend of paybond-kit: maturin's, minus its silent Rust download.

Built from source (the sdist, or this folder) without ``cargo`` on PATH, maturin's backend
installs a Rust toolchain into a temporary directory first (close to 1 GB, minutes). This
backend sets maturin's own switch for that, ``MATURIN_NO_INSTALL_RUST``, unless the caller
set it, and stops at the first hook with what to do instead. ``MATURIN_NO_INSTALL_RUST=``
(set, empty) brings maturin's download back.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

os.environ.setdefault("MATURIN_NO_INSTALL_RUST", "1")

import maturin  # noqa: E402  (after the switch: maturin reads it at each hook)

_NO_CARGO = """
paybond-kit: building from source needs Rust (cargo, rustc >= 1.89) on PATH, and there is none.
  - Install the prebuilt wheel instead (CPython >= 3.11, x86-64 Linux):
      pip install paybond_kit-<version>-cp311-abi3-manylinux_2_34_x86_64.whl
    (`make dist` in the repository writes it to dist/).
  - Or install Rust (https://rustup.rs or your system's package manager) and retry.
  - Or let maturin download a temporary toolchain (~1 GB): MATURIN_NO_INSTALL_RUST= pip install ...
"""


def _need_cargo() -> None:
    if os.environ.get("MATURIN_NO_INSTALL_RUST") and shutil.which("cargo") is None:
        raise SystemExit(_NO_CARGO)


def get_requires_for_build_wheel(config_settings: dict[str, Any] | None = None) -> list[str]:
    _need_cargo()
    return maturin.get_requires_for_build_wheel(config_settings)



def get_requires_for_build_sdist(config_settings: dict[str, Any] | None = None) -> list[str]:
    _need_cargo()
    return maturin.get_requires_for_build_sdist(config_settings)


def prepare_metadata_for_build_wheel(metadata_directory: str, config_settings: dict[str, Any] | None = None) -> str:
    _need_cargo()
    return maturin.prepare_metadata_for_build_wheel(metadata_directory, config_settings)



def build_wheel(wheel_directory: str, config_settings: dict[str, Any] | None = None, metadata_directory: str | None = None) -> str:
    _need_cargo()
    return maturin.build_wheel(wheel_directory, config_settings, metadata_directory)


def build_editable(wheel_directory: str, config_settings: dict[str, Any] | None = None, metadata_directory: str | None = None) -> str:
    _need_cargo()
    return maturin.build_editable(wheel_directory, config_settings, metadata_directory)


def build_sdist(sdist_directory: str, config_settings: dict[str, Any] | None = None) -> str:
    _need_cargo()
    return maturin.build_sdist(sdist_directory, config_settings)
