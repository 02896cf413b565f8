"""The tests run in parallel (pytest-xdist, `-n` in pyproject.toml); the tests that use Spark
run in one worker together, so one Spark session (one JVM) serves them all."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "spark" in item.nodeid.lower():
            item.add_marker(pytest.mark.xdist_group("spark"))
