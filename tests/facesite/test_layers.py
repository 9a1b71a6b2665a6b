"""The layers of docs/ARCHITECTURE.md held against the code: every import statement of every module
(those inside functions too), read with ``ast``, so a new import that runs back up a layer fails here
instead of waiting for a reviewer to notice."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Which other top-level packages each one may import: the "Layers" table of docs/ARCHITECTURE.md.
MAY_IMPORT = {
    "facesite": {"kiosk", "backoffice", "integrations", "videos", "rekognition_api", "recognition"},
    "kiosk": {"backoffice", "recognition"},
    "backoffice": {"integrations", "videos", "rekognition_api", "recognition"},
    "integrations": {"videos", "recognition"},
    "videos": {"recognition"},
    "rekognition_api": {"videos", "recognition"},  # a video face search job is a video
    "recognition": set(),
}
# What calls the services, which they must never import: they queue tasks by name (services/queue.py).
ABOVE_SERVICES = ("recognition.api", "recognition.admin", "recognition.tasks", "recognition.management")


def imports(package: str, root: Path = ROOT) -> Iterator[tuple[str, str]]:
    """(where, module) for each module imported under ``package`` (a dotted name), relative imports
    resolved against the importing module's package."""
    folder = root.joinpath(*package.split("."))
    for path in sorted(folder.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        home = parts[:-1]  # the package the module sits in (for __init__.py, the package itself)
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            where = f"{path.relative_to(root)}:{node.lineno}"
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield where, alias.name
            else:
                base = home[: len(home) - node.level + 1] if node.level else []
                module = ".".join([*base, *([node.module] if node.module else [])])
                # `from package import name` may name a module: count both.
                yield where, module
                for alias in node.names:
                    yield where, f"{module}.{alias.name}"


def within(module: str, prefixes: tuple[str, ...] | set[str]) -> bool:
    return any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes)


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_a_package_imports_only_the_layers_below_it(package):
    others = set(MAY_IMPORT) - {package}
    upward = sorted(
        {
            f"{where} imports {module}"
            for where, module in imports(package)
            if within(module, others) and not within(module, MAY_IMPORT[package])
        }
    )
    assert upward == [], f"{package} may import only {sorted(MAY_IMPORT[package]) or 'none of the others'}"


def test_engines_import_nothing_of_django_nor_the_rest_of_recognition():
    outside = sorted(
        {
            f"{where} imports {module}"
            for where, module in imports("recognition.engines")
            if within(module, {"django", "rest_framework", "celery"})
            or (within(module, {"recognition"}) and not within(module, {"recognition.engines"}))
        }
    )
    assert outside == []


def test_services_never_import_what_calls_them():
    upward = sorted(
        {
            f"{where} imports {module}"
            for where, module in imports("recognition.services")
            if within(module, ABOVE_SERVICES)
        }
    )
    assert upward == []


def test_the_rules_see_imports_inside_functions_and_relative_ones(tmp_path):
    """The reader itself: a function-level import and a relative one are both found and resolved."""
    package = tmp_path / "demo" / "inner"
    package.mkdir(parents=True)
    (tmp_path / "demo" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "mod.py").write_text(
        "def f():\n    from recognition.models import Image\n\nfrom ..sibling import thing\n"
    )
    found = {module for _, module in imports("demo", root=tmp_path)}
    assert "recognition.models" in found
    assert "demo.sibling" in found
