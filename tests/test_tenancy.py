"""Tenant isolation: one scoping helper, and a guard that keeps code from bypassing it."""

import ast
from pathlib import Path

import pytest
from django.apps import apps

from core.models import DaOrganizacao, ImportLog
from core.tenancy import escopo, inserir

RAIZ = Path(__file__).resolve().parent.parent
PASTAS_DE_CODIGO = ["core", "api", "fiscal_app"]
PERMITIDOS = {Path("core/tenancy.py")}


def _modelos_de_organizacao() -> set[str]:
    return {m.__name__ for m in apps.get_models() if issubclass(m, DaOrganizacao)}


def _acessos_diretos(arquivo: Path, modelos: set[str]):
    arvore = ast.parse(arquivo.read_text(), filename=str(arquivo))
    for no in ast.walk(arvore):
        if (
            isinstance(no, ast.Attribute)
            and no.attr in ("objects", "_default_manager", "_base_manager")
            and isinstance(no.value, ast.Name)
            and no.value.id in modelos
        ):
            yield f"{arquivo.relative_to(RAIZ)}:{no.lineno}: {no.value.id}.{no.attr}"


def test_it_finds_every_tenant_model():
    assert {"NFe", "NFeItem", "CTe", "EventoDocumento", "ImportLog", "ArquivoXML"} <= _modelos_de_organizacao()


def test_no_code_queries_a_tenant_model_without_escopo():
    modelos = _modelos_de_organizacao()
    arquivos = [
        p
        for pasta in PASTAS_DE_CODIGO
        for p in (RAIZ / pasta).rglob("*.py")
        if "migrations" not in p.parts and p.relative_to(RAIZ) not in PERMITIDOS
    ]
    violacoes = [v for arquivo in arquivos for v in _acessos_diretos(arquivo, modelos)]
    assert violacoes == [], "use core.tenancy.escopo():\n" + "\n".join(violacoes)


def test_the_guard_catches_a_direct_query(tmp_path):
    arquivo = RAIZ / "core" / "_exemplo_guarda_tmp.py"
    arquivo.write_text("from core.models import NFe\nNFe.objects.filter(chave='x')\n")
    try:
        assert list(_acessos_diretos(arquivo, _modelos_de_organizacao())) == [
            "core/_exemplo_guarda_tmp.py:2: NFe.objects"
        ]
    finally:
        arquivo.unlink()


def test_escopo_returns_only_the_organizations_rows(org, outra_org):
    inserir(ImportLog, org, [ImportLog(organizacao=org, arquivo="a.xml", status="erro", origem="upload")])
    inserir(ImportLog, outra_org, [ImportLog(organizacao=outra_org, arquivo="b.xml", status="erro", origem="upload")])

    assert [log.arquivo for log in escopo(ImportLog, org)] == ["a.xml"]
    assert [log.arquivo for log in escopo(ImportLog, outra_org)] == ["b.xml"]


@pytest.mark.parametrize("organizacao", [None, "alfa", 1])
def test_escopo_refuses_a_missing_organization(organizacao, db):
    with pytest.raises(TypeError):
        escopo(ImportLog, organizacao)


def test_escopo_refuses_a_model_without_organization(org):
    from core.models import Organizacao

    with pytest.raises(TypeError):
        escopo(Organizacao, org)


def test_inserir_refuses_rows_of_another_organization(org, outra_org):
    with pytest.raises(ValueError):
        inserir(ImportLog, org, [ImportLog(organizacao=outra_org, arquivo="b.xml", status="erro", origem="upload")])
    assert not escopo(ImportLog, org).exists()
