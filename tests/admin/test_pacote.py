"""The admin package (core/admin/) has no import cycle: any area module can be imported first, in a fresh
interpreter, and no module of the package imports the package itself (`core.admin`), only `base` and
siblings."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

RAIZ = Path(__file__).resolve().parents[2]
PACOTE = RAIZ / "core" / "admin"
MODULOS = sorted(p.stem for p in PACOTE.glob("*.py") if p.stem != "__init__")

# Django's AdminConfig autodiscovers (imports core.admin, so every area module) during django.setup();
# SimpleAdminConfig does not, so the import below is the first one of the package in that interpreter.
IMPORTAR = """
import importlib, sys
from django.conf import settings
settings.INSTALLED_APPS = ["django.contrib.admin.apps.SimpleAdminConfig" if app == "django.contrib.admin" else app
                           for app in settings.INSTALLED_APPS]
import django
django.setup()
assert not any(nome.startswith("core.admin") for nome in sys.modules), "loaded before the import under test"
modulo = importlib.import_module(sys.argv[1])
from django.contrib import admin
print(len(admin.site._registry))
"""


def test_it_lists_the_area_modules():
    assert {"base", "documentos", "emails", "importacoes", "operacao", "organizacoes", "sefaz", "tokens",
            "webhooks"} <= set(MODULOS)  # fmt: skip


def test_each_module_imports_first_in_a_fresh_interpreter():
    # given: one fresh interpreter per module, started together (each pays for django.setup())
    ambiente = {**os.environ, "DJANGO_SETTINGS_MODULE": "fiscal_app.settings_de_teste"}
    processos = {
        nome: subprocess.Popen([sys.executable, "-c", IMPORTAR, f"core.admin.{nome}"], cwd=RAIZ, env=ambiente,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        for nome in MODULOS
    }

    # when
    saidas = {nome: processo.communicate(timeout=120) for nome, processo in processos.items()}

    # then: every import worked, and each registered the whole admin (the package's __init__ ran first)
    falhas = {nome: erro for nome, (_, erro) in saidas.items() if processos[nome].returncode != 0}
    assert falhas == {}
    assert len({saida.strip() for saida, _ in saidas.values()}) == 1, saidas


def importa_o_pacote(arvore: ast.Module, irmaos: set[str]) -> list[int]:
    """Lines importing `core.admin` itself (its __init__), whichever way it is spelled."""
    linhas = []
    for no in ast.walk(arvore):
        if isinstance(no, ast.Import):
            linhas += [no.lineno for alias in no.names if alias.name == "core.admin"]
        elif isinstance(no, ast.ImportFrom):
            absoluto = no.level == 0 and (
                no.module == "core.admin" or (no.module == "core" and any(a.name == "admin" for a in no.names))
            )
            pai = no.level == 2 and (no.module == "admin" or (no.module is None and any(a.name == "admin" for a in no.names)))
            # `from . import x` is fine only when x is a sibling module, not a name of __init__
            proprio = no.level == 1 and no.module is None and any(a.name not in irmaos for a in no.names)
            if absoluto or pai or proprio:
                linhas.append(no.lineno)
    return linhas


def test_no_module_of_the_package_imports_the_package():
    irmaos = set(MODULOS)
    culpados = {
        nome: linhas
        for nome in MODULOS
        if (linhas := importa_o_pacote(ast.parse((PACOTE / f"{nome}.py").read_text()), irmaos))
    }
    assert culpados == {}


def test_base_imports_no_area_module():
    arvore = ast.parse((PACOTE / "base.py").read_text())
    relativos = [no for no in ast.walk(arvore) if isinstance(no, ast.ImportFrom) and no.level == 1]
    assert relativos == []


@pytest.mark.parametrize(
    "codigo",
    ["from core.admin import coluna", "from core import admin", "import core.admin", "from ..admin import x",
     "from . import organizacao_do_admin"],
)  # fmt: skip
def test_the_check_catches_every_spelling(codigo):
    assert importa_o_pacote(ast.parse(codigo), set(MODULOS)) == [1]
