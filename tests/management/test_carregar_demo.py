"""carregar_demo (run by `make run`) and gerar_nfe_exemplo: the demo account and the NF-e a newcomer imports."""

import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from lxml import etree

from core.demo import DEMO_SLUG
from core.documentos.importacao import importar_bytes
from core.models import NFe, Organizacao, Origem
from core.tenancy import escopo, token_de_api
from core.tokens import motivo_da_recusa

RAIZ = Path(__file__).resolve().parents[2]


def saida_de(comando: str, capsys, *argumentos: str) -> list[str]:
    call_command(comando, *argumentos)
    return capsys.readouterr().out.strip().splitlines()


def chave_do_arquivo(caminho: Path) -> str:
    [ch] = etree.parse(str(caminho)).getroot().iter("{http://www.portalfiscal.inf.br/nfe}chNFe")
    return ch.text


@pytest.mark.django_db
def test_it_loads_the_demo_once_prints_the_token_last_and_leaves_a_new_note_to_import(capsys, tmp_path):
    nota = tmp_path / "var" / "exemplos" / "nfe-exemplo.xml"

    primeira = saida_de("carregar_demo", capsys, "--nfe-exemplo", str(nota))
    chave_primeira = chave_do_arquivo(nota)
    segunda = saida_de("carregar_demo", capsys, "--nfe-exemplo", str(nota))

    organizacao = Organizacao.objects.get(slug=DEMO_SLUG)
    token = primeira[-1]
    assert token_de_api(token).organizacao == organizacao and motivo_da_recusa(token_de_api(token)) is None
    assert primeira[0] == "Documentos demo: 25 importados, 0 já existiam, 0 com erro"
    assert segunda[0] == "Documentos demo: 0 importados, 25 já existiam, 0 com erro"
    assert primeira[-1] == segunda[-1] == token  # `make -s demo | tail -1`
    assert any(f"NF-e de exemplo, ainda não importada: {nota}" in linha for linha in segunda)
    # Each run leaves a note the account has never seen: its first import is a success.
    chave = chave_do_arquivo(nota)
    assert chave != chave_primeira
    assert not escopo(NFe, organizacao).filter(chave__in=[chave, chave_primeira]).exists()
    [resultado] = importar_bytes(
        organizacao=organizacao, nome=nota.name, conteudo=nota.read_bytes(), origem=Origem.UPLOAD
    )
    assert (resultado.status, resultado.chave) == ("sucesso", chave)


@pytest.mark.django_db
def test_a_revoked_or_deleted_demo_token_works_again_after_a_new_run(capsys, tmp_path):
    from core.models import TokenDeAPI
    from core.tokens import revogar_token

    nota = str(tmp_path / "nfe.xml")
    chave = saida_de("carregar_demo", capsys, "--nfe-exemplo", nota)[-1]
    revogar_token(token_de_api(chave))

    assert saida_de("carregar_demo", capsys, "--nfe-exemplo", nota)[-1] == chave
    assert motivo_da_recusa(token_de_api(chave)) is None
    escopo(TokenDeAPI, token_de_api(chave).organizacao).delete()
    assert saida_de("carregar_demo", capsys, "--nfe-exemplo", nota)[-1] == chave
    assert motivo_da_recusa(token_de_api(chave)) is None


def test_gerar_nfe_exemplo_writes_a_new_note_each_time_without_touching_the_database(capsys, tmp_path, monkeypatch):
    # No django_db mark: any query would fail this test.
    monkeypatch.chdir(tmp_path)

    [linha] = saida_de("gerar_nfe_exemplo", capsys)
    padrao = tmp_path / "var" / "exemplos" / "nfe-exemplo.xml"  # relative to the current folder
    chave = chave_do_arquivo(padrao)
    assert linha == f"NF-e nº {int(chave[25:34])}, chave {chave}, gravada em var/exemplos/nfe-exemplo.xml"

    saida_de("gerar_nfe_exemplo", capsys, "--saida", "nota.xml")
    assert chave_do_arquivo(tmp_path / "nota.xml") not in (chave, "")
    assert chave[6:20] == "11222333000181"  # the demo supplier, signed with its test certificate
    assert [p.name for p in padrao.parent.iterdir()] == ["nfe-exemplo.xml"]  # no temporary file left behind


def test_gerar_nfe_exemplo_writes_n_new_notes_into_a_folder_in_one_process(capsys, tmp_path, monkeypatch):
    """Issue 15: filling a watched folder took one process per note (0.8-2.6 s each)."""
    import core.management.commands.gerar_nfe_exemplo as comando

    monkeypatch.setattr(comando, "PROGRESSO_SEGUNDOS", 0)  # a progress line after every note

    linhas = saida_de("gerar_nfe_exemplo", capsys, "--quantidade", "30", "--saida", str(tmp_path / "lote"))

    arquivos = sorted((tmp_path / "lote").iterdir())
    chaves = [chave_do_arquivo(arquivo) for arquivo in arquivos]
    assert len(arquivos) == 30 and len(set(chaves)) == 30  # thirty different notes...
    assert [arquivo.name for arquivo in arquivos] == [f"{chave}.xml" for chave in chaves]  # ...named by their key
    assert linhas[0] == "1/30 NF-e gravadas..." and linhas[-2] == "29/30 NF-e gravadas..."
    assert linhas[-1].startswith(f"30 NF-e de exemplo gravadas em {tmp_path / 'lote'} (")


@pytest.mark.django_db
def test_a_batch_of_example_notes_imports_as_that_many_successes(org, tmp_path):
    call_command("gerar_nfe_exemplo", "--quantidade", "5", "--saida", str(tmp_path))

    resultados = [importar_bytes(organizacao=org, nome=p.name, conteudo=p.read_bytes(), origem=Origem.UPLOAD)[0].status
                  for p in tmp_path.iterdir()]  # fmt: skip

    assert resultados == ["sucesso"] * 5


@pytest.mark.parametrize("quantidade", ["0", "-3"])
def test_gerar_nfe_exemplo_refuses_a_quantity_below_one(quantidade, tmp_path):
    with pytest.raises(CommandError, match="--quantidade"):
        call_command("gerar_nfe_exemplo", "--quantidade", quantidade, "--saida", str(tmp_path))


@pytest.mark.django_db
def test_the_example_note_imports_as_a_success_then_as_a_duplicate(org, tmp_path):
    nota = tmp_path / "nota.xml"
    call_command("gerar_nfe_exemplo", "--saida", str(nota))

    resultados = [
        importar_bytes(organizacao=org, nome="nota.xml", conteudo=nota.read_bytes(), origem=Origem.UPLOAD)[0].status
        for _ in range(2)
    ]

    assert resultados == ["sucesso", "duplicado"]
    assert escopo(NFe, org).get().emitente_nome == "DISTRIBUIDORA AURORA LTDA"


def test_gerar_nfe_exemplo_runs_as_the_guides_run_it(tmp_path):
    """`.venv/bin/python manage.py gerar_nfe_exemplo` from any folder, the database unreachable, on a
    development machine (DEBUG=true: outside it the settings refuse to start without the keys)."""
    ambiente = {"PATH": "/usr/bin:/bin", "DATABASE_URL": "postgres://ninguem@127.0.0.1:1/nao_existe", "DEBUG": "true"}
    execucao = subprocess.run(
        [sys.executable, str(RAIZ / "manage.py"), "gerar_nfe_exemplo", "--saida", "nota.xml"],
        cwd=tmp_path, env=ambiente, capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert execucao.returncode == 0, execucao.stderr
    assert execucao.stdout.startswith("NF-e nº ") and (tmp_path / "nota.xml").read_bytes().startswith(b"<?xml")
