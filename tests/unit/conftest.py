"""Fixtures of the unit tests: the tiny TorchScript models the in-process workers load."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.core import CoreModels, build_core_models


@pytest.fixture(scope="session")
def core_models(models_dir: Path) -> CoreModels:
    return build_core_models(models_dir)
