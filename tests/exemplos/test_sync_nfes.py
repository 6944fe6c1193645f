"""exemplos/sync_nfes.py, run as a subprocess with --once against the live server."""

import json
import os
import subprocess
import sys

import pytest

from core.documentos.importacao import importar_bytes
from core.models import Origem
from tests.exemplos.conftest import EXEMPLOS

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def importar(org):
    def _importar(*documentos):
        for documento in documentos:
            [resultado] = importar_bytes(organizacao=org, nome="x.xml", conteudo=documento.xml, origem=Origem.UPLOAD)
            assert resultado.ok, resultado.mensagem

    return _importar


@pytest.fixture
def sincronizar(live_server, nova_org, tmp_path, settings):
    settings.FISCAL_EVENTOS_ATRASO_SEGUNDOS = 0  # the feed shows events at once

    def _sincronizar(*extras: str) -> str:
        ambiente = {**os.environ, "FISCAL_URL": live_server.url, "FISCAL_TOKEN": nova_org.token}
        execucao = subprocess.run(
            [sys.executable, str(EXEMPLOS / "sync_nfes.py"), "--once", "--pasta", str(tmp_path / "xmls"), *extras],
            env=ambiente, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert execucao.returncode == 0, execucao.stderr
        assert nova_org.token not in execucao.stderr
        return execucao.stderr  # logging writes to stderr

    return _sincronizar


def arquivos(pasta):
    return {p.name: p.read_bytes() for p in pasta.iterdir() if not p.name.startswith(".")}


def test_it_mirrors_the_xmls_and_resumes_from_its_state_file(sincronizar, importar, gerador, tmp_path):
    # given
    pasta = tmp_path / "xmls"
    nfes, cte = [gerador.nfe(numero=n) for n in (1, 2)], gerador.cte(numero=3)
    importar(*nfes, cte)

    # when / then: the first run lists everything and saves its cursor
    saida = sincronizar()
    assert arquivos(pasta) == {
        f"{nfes[0].chave}-procNFe.xml": nfes[0].xml, f"{nfes[1].chave}-procNFe.xml": nfes[1].xml,
        f"{cte.chave}-procCTe.xml": cte.xml,
    }  # fmt: skip
    assert "primeira execução" in saida and "3 XML(s) novo(s)" in saida
    estado = json.loads((pasta / ".sync_nfes.json").read_text())
    assert estado["cursor"].startswith("evt_") and estado["carga_inicial_concluida"]
    momentos = {p.name: p.stat().st_mtime_ns for p in pasta.iterdir()}

    # the second run finds nothing new and rewrites nothing
    saida = sincronizar()
    assert "primeira execução" not in saida and "0 XML(s) novo(s), 0 atualizado(s), 0 evento(s)" in saida
    assert {p.name: p.stat().st_mtime_ns for p in pasta.iterdir() if p.name != ".sync_nfes.json"} == {
        nome: momento for nome, momento in momentos.items() if nome != ".sync_nfes.json"
    }

    # a summary is not saved; once its full XML arrives, it is
    nova, completada = gerador.nfe(numero=4), gerador.nfe(numero=5)
    importar(nova, gerador.resumo_nfe(nfe=completada))
    saida = sincronizar()
    assert "1 XML(s) novo(s)" in saida and "2 evento(s) lido(s)" in saida
    assert set(arquivos(pasta)) == {*momentos, f"{nova.chave}-procNFe.xml"} - {".sync_nfes.json"}

    importar(completada)
    saida = sincronizar()
    assert "1 XML(s) novo(s)" in saida
    assert arquivos(pasta)[f"{completada.chave}-procNFe.xml"] == completada.xml


def test_it_refuses_to_run_without_a_token(live_server, tmp_path):
    ambiente = {k: v for k, v in os.environ.items() if k != "FISCAL_TOKEN"}
    execucao = subprocess.run(
        [sys.executable, str(EXEMPLOS / "sync_nfes.py"), "--once", "--url", live_server.url, "--pasta", str(tmp_path)],
        env=ambiente, capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert execucao.returncode == 2 and "FISCAL_TOKEN" in execucao.stderr


def test_a_wrong_token_stops_the_run_with_an_error(live_server, tmp_path):
    ambiente = {**os.environ, "FISCAL_URL": live_server.url, "FISCAL_TOKEN": "errado"}
    execucao = subprocess.run(
        [sys.executable, str(EXEMPLOS / "sync_nfes.py"), "--once", "--pasta", str(tmp_path / "xmls")],
        env=ambiente, capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert execucao.returncode == 1 and "HTTP 401" in execucao.stderr
    assert not (tmp_path / "xmls" / ".sync_nfes.json").exists()  # the next run starts from the beginning
