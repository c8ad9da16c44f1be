"""The shape of the code (issue 10): the accounts package knows no domain, no two modules import
each other, and no services module is above 500 lines. Imports are read from the source with ``ast``,
so an import inside a function, or one made only for type checking, counts as much as one at the top
of a module."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from registry import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "registry"

#: Packages that hold the Trust's domains: the accounts package (``registry.auth``) may use none of them.
DOMAINS = (
    "registry.roster",
    "registry.breaches",
    "registry.vault",
    "registry.channels",
    "registry.consent",
    "registry.posts",
    "registry.media",
    "registry.monitoring",
    "registry.reports",
)

#: Pairs of modules that still import each other, to be removed, never added to. Only pairs with the
#: top-level ``registry`` package (the app factory in registry/__init__.py, whose shared extensions
#: some modules import) may be listed, as {"registry", "registry.x.views"}: they go once the
#: extensions have their own module (registry/extensions.py), and then this list is deleted.
#: (``from registry import db`` imports the module registry.db, not the factory: it is no such pair.)
ALLOWED_MUTUAL_IMPORTS: frozenset[frozenset[str]] = frozenset()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported_by(name: str, path: Path, known: set[str]) -> Iterator[str]:
    """Every registry module ``name`` imports, anywhere in its source: ``from a import b`` names the
    module ``a.b`` when there is one, else ``a``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            for alias in node.names:
                candidate = f"{source}.{alias.name}"
                yield candidate if candidate in known else source


def import_graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {
        name: {target for target in imported_by(name, path, known) if target.split(".")[0] == "registry"}
        for name, path in found.items()
    }


def test_the_graph_sees_imports_at_every_level() -> None:
    graph = import_graph()

    assert "registry.auth.signals" in graph["registry.auth.services"]  # from registry.auth import signals
    assert "registry.breaches.services" in graph["registry.breaches.subscriptions"]  # inside a function
    assert "registry.roster.leavers" in graph["registry.roster.subscriptions"]  # inside a function


def test_the_accounts_package_imports_no_domain() -> None:
    reaching = sorted(
        f"{module} imports {target}"
        for module, targets in import_graph().items()
        if module == "registry.auth" or module.startswith("registry.auth.")
        for target in targets
        if any(target == domain or target.startswith(domain + ".") for domain in DOMAINS)
    )

    assert reaching == []


def test_no_two_modules_import_each_other() -> None:
    graph = import_graph()
    mutual = {
        frozenset({module, target})
        for module, targets in graph.items()
        for target in targets
        if target != module and module in graph.get(target, set())
    }

    assert sorted(sorted(pair) for pair in mutual - ALLOWED_MUTUAL_IMPORTS) == []
    assert all("registry" in pair for pair in ALLOWED_MUTUAL_IMPORTS)
    assert sorted(sorted(pair) for pair in ALLOWED_MUTUAL_IMPORTS - mutual) == [], "a fixed pair: remove it here"


def test_no_services_module_is_above_500_lines() -> None:
    """A services module that grows past 500 lines is split by what it does, as custody's reveals
    (registry/vault/reveals.py) and the accounts' line managers (registry/auth/managers.py) were."""
    lengths = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in modules().items()}
    services = {name: n for name, n in lengths.items() if name.endswith(".services") or name == "registry.services"}

    assert "registry.vault.services" in services and "registry.auth.services" in services
    assert {name: n for name, n in services.items() if n > 500} == {}
