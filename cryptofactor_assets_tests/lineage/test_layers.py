"""The layers keep their imports one way (docs/architecture.md).

* Only the Dagster shell layer imports ``dagster``: ``lib/``, ``ops/``, the top-level ``cli.py``,
  ``definitions.py``, ``common.py``, ``partitions.py``, and in each domain its ``assets*.py``,
  ``checks.py``, ``definitions.py`` and ``resources.py`` (and the two ``SHELL_MODULES``). The
  numerics (``estimators/``, ``analytics/``, each domain's pure modules) and ``storage/`` never do.
* No ``compute_*`` function (a pure table function: frames in, frames out) lives in a module that
  imports ``dagster``.
* Domains import downstream-to-upstream only: sources <- panels <- factors / rsj <- prediction <-
  strategies, neural <- reporting (a domain never imports a domain that depends on it).
* No ``importlib`` probing for modules that may not exist.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "cryptofactor_assets"
SHELL_TOP = {"cli.py", "definitions.py", "common.py", "partitions.py"}
SHELL_FOLDERS = {"lib", "ops"}
#: domain modules of the shell besides assets*.py / checks / definitions / resources: the ingest shell
#: (raises dg.Failure in strict mode) and the redaction hook into Dagster's logging and metadata
SHELL_MODULES = {"sources/ingest.py", "sources/redaction.py"}
#: upstream first; a domain may import only domains before it (and the shared layers)
DOMAIN_ORDER = ["sources", "panels", "factors", "rsj", "prediction", "strategies", "neural", "reporting"]
#: what each domain may import besides the shared layers (rsj reads the daily factors for its backtest)
ALLOWED = {
    "sources": set(), "panels": {"sources"}, "factors": {"sources", "panels"},
    "rsj": {"sources", "panels", "factors"},
    "prediction": {"sources", "panels", "factors", "rsj"},
    "strategies": {"sources", "panels", "factors", "rsj", "prediction"},
    "neural": {"sources", "panels", "factors"},
    "reporting": {"sources", "panels", "factors", "rsj", "prediction", "strategies", "neural"},
}


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path, ast.parse(path.read_text(), filename=str(path))


def _imports(tree) -> set[str]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


def _is_shell(path: Path) -> bool:
    rel = path.relative_to(PACKAGE)
    if len(rel.parts) == 1:
        return rel.name in SHELL_TOP
    if rel.parts[0] in SHELL_FOLDERS:
        return True
    name = rel.name
    return (name.startswith("assets") or name in {"checks.py", "definitions.py", "resources.py"}
            or "/".join(rel.parts) in SHELL_MODULES)


def _imports_dagster(tree) -> bool:
    return any(m == "dagster" or m.startswith(("dagster.", "dagster_")) for m in _imports(tree))


MODULES = list(_modules())


@pytest.mark.parametrize("path,tree", MODULES, ids=[str(p.relative_to(PACKAGE)) for p, _ in MODULES])
def test_only_the_shell_imports_dagster(path, tree):
    if not _is_shell(path):
        assert not _imports_dagster(tree), f"{path.relative_to(PACKAGE)} imports dagster outside the shell layer"


def test_no_compute_function_in_a_dagster_module():
    offenders = [f"{path.relative_to(PACKAGE)}:{node.name}" for path, tree in MODULES if _imports_dagster(tree)
                 for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name.startswith("compute_")]
    assert offenders == []


def test_domains_import_upstream_only():
    bad = []
    for path, tree in MODULES:
        rel = path.relative_to(PACKAGE)
        if len(rel.parts) < 2 or rel.parts[0] not in ALLOWED:
            continue
        domain = rel.parts[0]
        for module in _imports(tree):
            parts = module.split(".")
            if len(parts) >= 2 and parts[0] == "cryptofactor_assets" and parts[1] in ALLOWED:
                other = parts[1]
                if other != domain and other not in ALLOWED[domain]:
                    bad.append(f"{rel} imports {module}")
    assert bad == []


def test_no_importlib_probing():
    assert [str(p.relative_to(PACKAGE)) for p, tree in MODULES if "importlib" in _imports(tree)] == []
