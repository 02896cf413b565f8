"""Checks shared by the per-spec tests (tests/test_spec_*.py)."""

from __future__ import annotations

import pytest


def check(v, status, numerator=None, denominator=None, value=None) -> None:
    """A verdict's status, and its numerator and denominator (so its share) or its value."""
    assert v.status == status, (v.rule_id, v.period, v.status)
    if numerator is not None:
        assert (v.numerator, v.denominator) == (numerator, denominator), v.rule_id
        assert v.value == pytest.approx(numerator / denominator)
    if value is not None:
        assert v.value == pytest.approx(value), v.rule_id
