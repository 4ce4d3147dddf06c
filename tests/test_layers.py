"""Architecture checks: the domain and services run without Qt; public names are declared."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import pytest

import desktop

QT_FREE_PACKAGES = ("desktop.domain", "desktop.services")


def _modules(package: str) -> list[str]:
    module = importlib.import_module(package)
    return [info.name for info in pkgutil.walk_packages(module.__path__, package + ".")]


def test_domain_and_services_import_with_qt_unavailable() -> None:
    modules = [name for package in QT_FREE_PACKAGES for name in _modules(package)]
    code = (
        "import sys\n"
        "sys.modules['PySide6'] = None\n"
        "sys.modules['qasync'] = None\n"
        f"for name in {modules!r}:\n"
        "    __import__(name)\n"
        "print(len([m for m in sys.modules if m.startswith('desktop.')]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= len(modules)


@pytest.mark.parametrize(
    "name", [n for n in _modules("desktop") if not n.endswith("__main__")], ids=str
)
def test_declared_public_names_exist(name: str) -> None:
    module = importlib.import_module(name)
    for public in getattr(module, "__all__", []):
        assert hasattr(module, public), f"{name}.__all__ lists missing {public}"
    assert desktop.__doc__
