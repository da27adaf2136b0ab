"""Browser end-to-end tier: runs only with CRYPTOFACTOR_E2E=1 (``make e2e``), never in the default suite."""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config, items):
    if os.environ.get("CRYPTOFACTOR_E2E") == "1":
        return
    skip = pytest.mark.skip(reason="browser end-to-end test: set CRYPTOFACTOR_E2E=1 (make e2e)")
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)
