"""The layer that `sam build` deploys holds the tidewater package and nothing of the local stack."""

from __future__ import annotations

import ast
import re

import yaml  # type: ignore[import-untyped]

from tests.conftest import ROOT, TEMPLATE

FORBIDDEN = ("moto", "tidewater_local", "tests", "pytest", "hypothesis", "yaml", "werkzeug")


def _layer_dir():
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    template = yaml.load(TEMPLATE.read_text(), Loader=Loader)
    layer = template["Resources"]["CoreLayer"]["Properties"]
    return ROOT / layer["ContentUri"]


def test_the_layer_holds_only_the_tidewater_package() -> None:
    layer = _layer_dir()
    # pip's editable install leaves its metadata (*.egg-info) here on a developer's machine.
    top = sorted(p.name for p in layer.iterdir() if not p.name.endswith(".egg-info"))
    assert top == ["requirements.txt", "tidewater"]
    assert not (layer / "tidewater" / "local").exists()
    assert not list(layer.rglob("test_*.py")) and not list(layer.rglob("conftest.py"))


def test_no_layer_module_imports_the_emulator_or_test_tools() -> None:
    for path in (_layer_dir() / "tidewater").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN, f"{path}: imports {name}"


def test_the_layer_requirements_name_no_emulator() -> None:
    lines = (_layer_dir() / "requirements.txt").read_text().splitlines()
    names = {re.split(r"[\[<>=~ ]", ln.strip())[0].lower() for ln in lines if ln.strip()}
    names.discard("")
    names = {n for n in names if not n.startswith("#")}
    assert names == {"pynamodb", "aws-lambda-powertools", "pyjwt", "numpy", "pydantic"}
