"""Every public method of the client is called by some test against the live server."""

import inspect
from pathlib import Path

from fiscal_api_client import FiscalAPIClient

PASTA = Path(__file__).resolve().parent
AO_VIVO = [
    "test_documentos.py", "test_erros_ao_vivo.py", "test_webhooks_e_eventos.py", "test_certificados_e_sefaz.py", "test_tokens.py",
]


def test_every_public_method_is_exercised_against_the_live_server():
    texto = "".join((PASTA / nome).read_text() for nome in AO_VIVO)
    metodos = [nome for nome, _ in inspect.getmembers(FiscalAPIClient, inspect.isfunction) if not nome.startswith("_")]

    sem_teste = [nome for nome in metodos if f".{nome}(" not in texto and nome != "fechar"]  # fechar: the fixtures

    assert len(metodos) > 30 and sem_teste == []
