"""`verificar_webhook` against the reference implementation (PyPI `standardwebhooks`), case by case.

Real deliveries from the project are cross-checked in test_webhooks_e_eventos.py and by the example
receivers in tests/exemplos/.
"""

import base64
import json
import time
from datetime import datetime, UTC

import pytest
from standardwebhooks.webhooks import Webhook as SW
from standardwebhooks.webhooks import WebhookVerificationError

from core.webhooks.assinatura import cabecalhos_assinados, gerar_segredo
from fiscal_api_client import AssinaturaInvalidaError, verificar_webhook

SEGREDO = "whsec_" + base64.b64encode(b"k" * 32).decode()
OUTRO = "whsec_" + base64.b64encode(b"o" * 32).decode()
CORPO = json.dumps({"id": "evt_01", "evento": "teste", "dados": {"mensagem": "Olá, ç"}}, ensure_ascii=False).encode()


def assinatura(segredo, corpo=CORPO, evento_id="evt_01", momento=None):
    instante = datetime.fromtimestamp(time.time() if momento is None else momento, tz=UTC)
    return SW(segredo).sign(evento_id, instante, corpo.decode())


def cabecalhos(assinaturas, evento_id="evt_01", momento=None):
    return {
        "webhook-id": evento_id,
        "webhook-timestamp": str(int(time.time() if momento is None else momento)),
        "webhook-signature": assinaturas,
    }


CASOS = {
    "valid": lambda: (SEGREDO, cabecalhos(assinatura(SEGREDO)), CORPO),
    "secret without the whsec_ prefix": lambda: (
        SEGREDO.removeprefix("whsec_"),
        cabecalhos(assinatura(SEGREDO)),
        CORPO,
    ),
    "secret without base64 padding": lambda: (
        "whsec_" + base64.b64encode(b"p" * 31).decode().rstrip("="),
        cabecalhos(assinatura("whsec_" + base64.b64encode(b"p" * 31).decode())),
        CORPO,
    ),
    "upper-case header names": lambda: (
        SEGREDO,
        {k.title(): v for k, v in cabecalhos(assinatura(SEGREDO)).items()},
        CORPO,
    ),
    "one of several signatures matches": lambda: (
        SEGREDO,
        cabecalhos(f"{assinatura(OUTRO)} {assinatura(SEGREDO)}"),
        CORPO,
    ),
    "4 minutes old": lambda: (
        SEGREDO,
        cabecalhos(assinatura(SEGREDO, momento=time.time() - 240), momento=time.time() - 240),
        CORPO,
    ),
    "4 minutes ahead": lambda: (
        SEGREDO,
        cabecalhos(assinatura(SEGREDO, momento=time.time() + 240), momento=time.time() + 240),
        CORPO,
    ),
    # refused
    "6 minutes old": lambda: (
        SEGREDO,
        cabecalhos(assinatura(SEGREDO, momento=time.time() - 360), momento=time.time() - 360),
        CORPO,
    ),
    "6 minutes ahead": lambda: (
        SEGREDO,
        cabecalhos(assinatura(SEGREDO, momento=time.time() + 360), momento=time.time() + 360),
        CORPO,
    ),
    "another secret": lambda: (OUTRO, cabecalhos(assinatura(SEGREDO)), CORPO),
    "body changed": lambda: (SEGREDO, cabecalhos(assinatura(SEGREDO)), CORPO.replace(b"teste", b"TESTE")),
    "body re-serialized": lambda: (SEGREDO, cabecalhos(assinatura(SEGREDO)), json.dumps(json.loads(CORPO)).encode()),
    "id changed": lambda: (SEGREDO, cabecalhos(assinatura(SEGREDO), evento_id="evt_02"), CORPO),
    "timestamp changed": lambda: (
        SEGREDO,
        {**cabecalhos(assinatura(SEGREDO)), "webhook-timestamp": str(int(time.time()) - 1)},
        CORPO,
    ),
    "only a v2 entry": lambda: (SEGREDO, cabecalhos(assinatura(SEGREDO).replace("v1,", "v2,")), CORPO),
    "signature header missing": lambda: (
        SEGREDO,
        {"webhook-id": "evt_01", "webhook-timestamp": str(int(time.time()))},
        CORPO,
    ),
    "timestamp not a number": lambda: (
        SEGREDO,
        {**cabecalhos(assinatura(SEGREDO)), "webhook-timestamp": "ontem"},
        CORPO,
    ),
    "empty signature": lambda: (SEGREDO, cabecalhos("v1,"), CORPO),
}


def referencia_aceita(segredo, cabecalhos, corpo):
    try:
        return SW(segredo).verify(corpo, cabecalhos)
    except WebhookVerificationError:
        return None


def nossa_aceita(segredo, cabecalhos, corpo):
    try:
        return verificar_webhook(segredo, cabecalhos, corpo)
    except AssinaturaInvalidaError:
        return None


@pytest.mark.parametrize("caso", list(CASOS))
def test_it_accepts_exactly_what_the_reference_library_accepts(caso):
    segredo, cabecalhos_, corpo = CASOS[caso]()

    esperado = referencia_aceita(segredo, cabecalhos_, corpo)

    assert nossa_aceita(segredo, cabecalhos_, corpo) == esperado
    assert (esperado is not None) == (list(CASOS).index(caso) < list(CASOS).index("6 minutes old"))


def test_it_verifies_what_the_project_signs_during_a_rotation():
    novo, antigo = gerar_segredo(), gerar_segredo()
    corpo = b'{"id":"evt_01KB4Z6V3J8Q2M0XW7C5N9RTAE","evento":"teste","dados":{}}'
    cabecalhos_ = cabecalhos_assinados("evt_01KB4Z6V3J8Q2M0XW7C5N9RTAE", corpo, [novo, antigo])

    assert verificar_webhook(novo, cabecalhos_, corpo)["evento"] == "teste"
    assert verificar_webhook(antigo, cabecalhos_, corpo.decode())["evento"] == "teste"
    with pytest.raises(AssinaturaInvalidaError, match="nenhuma assinatura"):
        verificar_webhook(gerar_segredo(), cabecalhos_, corpo)


def test_the_tolerance_can_be_changed():
    momento = time.time() - 30
    cabecalhos_ = cabecalhos(assinatura(SEGREDO, momento=momento), momento=momento)

    with pytest.raises(AssinaturaInvalidaError, match="antigo demais"):
        verificar_webhook(SEGREDO, cabecalhos_, CORPO, tolerancia=10)


def test_a_malformed_secret_is_a_configuration_error_not_a_bad_signature():
    with pytest.raises(ValueError) as erro:
        verificar_webhook("whsec_não-é-base64!", cabecalhos(assinatura(SEGREDO)), CORPO)

    assert not isinstance(erro.value, AssinaturaInvalidaError)


def test_a_signed_body_that_is_not_a_json_object_is_refused():
    corpo = b"[1, 2]"

    with pytest.raises(AssinaturaInvalidaError, match="objeto JSON"):
        verificar_webhook(SEGREDO, cabecalhos(assinatura(SEGREDO, corpo=corpo)), corpo)


def test_signatures_are_compared_in_constant_time(monkeypatch):
    import hmac

    comparacoes = []
    original = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: comparacoes.append((a, b)) or original(a, b))

    verificar_webhook(SEGREDO, cabecalhos(f"{assinatura(OUTRO)} {assinatura(SEGREDO)}"), CORPO)

    assert len(comparacoes) == 2  # every v1 entry, through hmac.compare_digest
