"""Every /api/ path answers the API's JSON, with DEBUG on or off: no `.json` twins that crash, no HTML 404."""

import re

import pytest
from django.urls import URLResolver, get_resolver

pytestmark = pytest.mark.django_db

CHAVE = "35261111222333000181550010000010001000000001"


def _padroes(padroes, prefixo=""):
    for padrao in padroes:
        if isinstance(padrao, URLResolver):
            yield from _padroes(padrao.url_patterns, prefixo + str(padrao.pattern))
        else:
            yield prefixo + str(padrao.pattern)


def _exemplo(padrao: str, sufixo: str) -> str:
    """A concrete path for a route pattern, with `sufixo` (".json") before its final slash."""
    caminho = padrao.replace("^", "").replace("$", "").replace("\\", "")
    caminho = re.sub(r"\(\?P<chave>[^)]*\)", CHAVE, caminho)
    caminho = re.sub(r"\(\?P<\w+>[^)]*\)|<[\w:]+>", "1", caminho)
    return "/" + (caminho if caminho == "api/" else caminho.rstrip("/")) + sufixo + "/"  # the index: /api/.json/


ROTAS_DA_API = sorted({p for p in _padroes(get_resolver().url_patterns) if p.startswith("api/")})


def test_no_route_takes_a_format_suffix():
    assert [p for p in ROTAS_DA_API if "format" in p] == []


@pytest.mark.parametrize("debug", [False, True], ids=["producao", "debug"])
@pytest.mark.parametrize("padrao", ROTAS_DA_API)
@pytest.mark.parametrize("sufixo", [".json", ".api"])
def test_a_format_suffixed_path_answers_404_json(api, settings, debug, padrao, sufixo):
    settings.DEBUG = debug
    caminho = _exemplo(padrao, sufixo)
    for metodo in (api.get, api.post, api.delete):
        resposta = metodo(caminho)
        assert resposta.status_code == 404, (metodo, caminho)
        assert resposta.json()["erro"] == "Endereço não encontrado."


@pytest.mark.parametrize("debug", [False, True], ids=["producao", "debug"])
@pytest.mark.parametrize(
    "caminho, erro",
    [
        ("/api/nfes/123/", "Endereço não encontrado."),  # not a key: no route matches
        ("/api/nao-existe/", "Endereço não encontrado."),
        ("/api/nfes/" + CHAVE + "/", "Não encontrado."),  # a key no document of ours has
        ("/api/webhooks/999999/", "Não encontrado."),
    ],
)
def test_a_missing_path_or_object_is_the_same_json_with_debug_on(api, settings, debug, caminho, erro):
    settings.DEBUG = debug
    resposta = api.get(caminho)
    assert resposta.status_code == 404
    assert resposta["Content-Type"].startswith("application/json")
    assert resposta.json()["erro"] == erro


@pytest.mark.parametrize("debug", [False, True], ids=["producao", "debug"])
def test_a_get_without_the_trailing_slash_is_redirected(api, settings, debug):
    settings.DEBUG = debug
    resposta = api.get("/api/nfes", {"limit": "1"})
    assert resposta.status_code == 301 and resposta["Location"] == "/api/nfes/?limit=1"


@pytest.mark.parametrize("debug", [False, True], ids=["producao", "debug"])
def test_a_post_without_the_trailing_slash_is_a_404_that_says_so(api, settings, debug):
    settings.DEBUG = debug
    resposta = api.post("/api/webhooks", {"nome": "x"}, format="json")
    assert resposta.status_code == 404
    assert resposta.json()["detalhes"] == {"caminho": "/api/webhooks", "dica": "Use /api/webhooks/ (com a barra no fim)."}


def test_an_unknown_path_needs_no_token_to_be_a_json_404(client, settings):
    settings.DEBUG = True
    resposta = client.get("/api/nada/")
    assert resposta.status_code == 404 and resposta.json()["detalhes"] == {"caminho": "/api/nada/"}


def test_outside_the_api_a_404_stays_html(client):
    resposta = client.get("/nada/")
    assert resposta.status_code == 404 and resposta["Content-Type"].startswith("text/html")
