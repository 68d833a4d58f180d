"""Loaded by pytest before Django starts (``-p linli.core.pytest_env`` in pyproject.toml): tests run background
tasks inline, so a task's effect is visible when its transaction commits."""

import os

os.environ.setdefault("LINLI_HUEY_IMMEDIATE", "1")
