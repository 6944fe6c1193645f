"""exemplos/sync_nfes.py, run as a subprocess with --once against the live server."""

import importlib.util
import json
import logging
import os
import subprocess
import sys
import time

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


def test_it_waits_for_the_rate_limit_window_and_says_so(live_server, nova_org, importar, gerador, tmp_path, settings,
                                                         monkeypatch, caplog):  # fmt: skip
    """Issue 15: the sync sat silent on the rate limit. Run in this process (its sleeps advance the server's
    clock instead of passing), with a limit of 3 requests a minute: 2 listings + 2 downloads + the feed."""
    import core.limite.contadores
    import fiscal_api_client
    from core.middleware import esquecer_tokens
    from tests.cliente.conftest import Relogio

    # given
    settings.FISCAL_EVENTOS_ATRASO_SEGUNDOS, settings.RATE_LIMIT_PER_MINUTE = 0, 3
    esquecer_tokens()
    relogio = Relogio(time.time() + 5)  # the server's clock, 5 s ahead: its reset is 5 to 65 s from now here
    monkeypatch.setattr(core.limite.contadores, "relogio", relogio)
    esperas = []
    monkeypatch.setattr(fiscal_api_client.FiscalAPIClient, "_dormir",
                        lambda _cliente, segundos: (esperas.append(segundos), relogio.avancar(segundos)))  # fmt: skip
    nfes = [gerador.nfe(numero=n) for n in (1, 2)]
    importar(*nfes)
    monkeypatch.setenv("FISCAL_URL", live_server.url)
    monkeypatch.setenv("FISCAL_TOKEN", nova_org.token)
    sync_nfes = _modulo_sync_nfes(monkeypatch)
    caplog.set_level(logging.INFO, logger="sync_nfes")

    # when
    assert sync_nfes.main(["--once", "--pasta", str(tmp_path / "xmls")]) == 0

    # then: every document arrived, after one announced wait for the window and no 429
    assert set(arquivos(tmp_path / "xmls")) == {f"{nfe.chave}-procNFe.xml" for nfe in nfes}
    [espera] = esperas
    assert 0 < espera <= 60
    assert f"esperando {espera:.1f} s: limite de 3 requisições por minuto atingido (X-RateLimit-Reset)" in caplog.messages
    assert "Retry-After" not in caplog.text


def _modulo_sync_nfes(monkeypatch):
    especificacao = importlib.util.spec_from_file_location("sync_nfes", EXEMPLOS / "sync_nfes.py")
    modulo = importlib.util.module_from_spec(especificacao)
    monkeypatch.setitem(sys.modules, "sync_nfes", modulo)  # its dataclass looks itself up there
    especificacao.loader.exec_module(modulo)
    monkeypatch.setattr(modulo.signal, "signal", lambda *_: None)  # pytest keeps its own Ctrl+C handler
    return modulo
