"""The Examples in the wfm and CLI docstrings run and print what they say."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", [
    "contactkpi.wfm.erlang",
    "contactkpi.wfm.accuracy",
    "contactkpi.wfm.forecast",
    "contactkpi.wfm.staffing",
    "contactkpi.wfm.history",
    "contactkpi.wfm.stored",
    "contactkpi.cli.wfm",
])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
