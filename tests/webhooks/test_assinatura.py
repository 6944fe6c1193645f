"""Standard Webhooks signatures, cross-checked with the reference `standardwebhooks` package."""

import base64
import json
import time
from datetime import datetime, UTC

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from core.webhooks.assinatura import (
    AssinaturaWebhookInvalida,
    SegredoWebhookInvalido,
    cabecalhos_assinados,
    gerar_segredo,
    verificar,
)

PAYLOAD = {"id": "evt_2Zx9", "evento": "nfe_importada", "dados": {"emitente": "Açúcar União Ltda", "valor": "1.234,56"}}
CORPO = json.dumps(PAYLOAD, ensure_ascii=False, separators=(",", ":")).encode()


def test_it_generates_whsec_secrets_of_32_random_bytes():
    segredos = {gerar_segredo() for _ in range(50)}

    assert len(segredos) == 50
    for segredo in segredos:
        assert segredo.startswith("whsec_")
        assert len(base64.b64decode(segredo.removeprefix("whsec_"), validate=True)) == 32


def test_it_sends_the_three_headers():
    cabecalhos = cabecalhos_assinados("evt_2Zx9", CORPO, [gerar_segredo()], momento=1_700_000_000)

    assert cabecalhos["webhook-id"] == "evt_2Zx9"
    assert cabecalhos["webhook-timestamp"] == "1700000000"
    versao, assinatura = cabecalhos["webhook-signature"].split(",")
    assert versao == "v1"
    assert len(base64.b64decode(assinatura)) == 32


def test_its_headers_verify_with_standardwebhooks():
    segredo = gerar_segredo()

    cabecalhos = cabecalhos_assinados("evt_2Zx9", CORPO, [segredo])

    assert Webhook(segredo).verify(CORPO, cabecalhos) == PAYLOAD


def test_during_rotation_both_secrets_verify_with_standardwebhooks():
    novo, antigo = gerar_segredo(), gerar_segredo()

    cabecalhos = cabecalhos_assinados("evt_2Zx9", CORPO, [novo, antigo])

    assert len(cabecalhos["webhook-signature"].split(" ")) == 2
    assert Webhook(novo).verify(CORPO, cabecalhos) == PAYLOAD
    assert Webhook(antigo).verify(CORPO, cabecalhos) == PAYLOAD
    with pytest.raises(WebhookVerificationError):
        Webhook(gerar_segredo()).verify(CORPO, cabecalhos)
    verificar(CORPO, cabecalhos, novo)
    verificar(CORPO, cabecalhos, antigo)


def test_it_signs_in_the_order_given():
    novo, antigo = gerar_segredo(), gerar_segredo()

    juntos = cabecalhos_assinados("evt_1", CORPO, [novo, antigo], momento=1_700_000_000)
    so_novo = cabecalhos_assinados("evt_1", CORPO, [novo], momento=1_700_000_000)
    so_antigo = cabecalhos_assinados("evt_1", CORPO, [antigo], momento=1_700_000_000)

    assert juntos["webhook-signature"] == f"{so_novo['webhook-signature']} {so_antigo['webhook-signature']}"


def test_it_verifies_what_standardwebhooks_signs():
    segredo = gerar_segredo()
    agora = int(time.time())
    assinatura = Webhook(segredo).sign("msg_externo", datetime.fromtimestamp(agora, tz=UTC), CORPO.decode())

    verificar(
        CORPO,
        {"Webhook-Id": "msg_externo", "Webhook-Timestamp": str(agora), "Webhook-Signature": assinatura},
        segredo,
    )


def test_it_refuses_a_tampered_body():
    segredo = gerar_segredo()
    cabecalhos = cabecalhos_assinados("evt_2Zx9", CORPO, [segredo])
    adulterado = CORPO.replace(b"1.234,56", b"9.234,56")

    with pytest.raises(AssinaturaWebhookInvalida, match="nenhuma assinatura"):
        verificar(adulterado, cabecalhos, segredo)
    with pytest.raises(WebhookVerificationError):
        Webhook(segredo).verify(adulterado, cabecalhos)


def test_it_refuses_the_wrong_secret():
    cabecalhos = cabecalhos_assinados("evt_2Zx9", CORPO, [gerar_segredo()])

    with pytest.raises(AssinaturaWebhookInvalida):
        verificar(CORPO, cabecalhos, gerar_segredo())


def test_it_refuses_a_changed_id_or_timestamp():
    segredo = gerar_segredo()
    cabecalhos = cabecalhos_assinados("evt_2Zx9", CORPO, [segredo])

    with pytest.raises(AssinaturaWebhookInvalida):
        verificar(CORPO, {**cabecalhos, "webhook-id": "evt_outro"}, segredo)
    with pytest.raises(AssinaturaWebhookInvalida):
        verificar(CORPO, {**cabecalhos, "webhook-timestamp": str(int(cabecalhos["webhook-timestamp"]) - 1)}, segredo)


def test_it_refuses_an_old_timestamp():
    segredo = gerar_segredo()
    cabecalhos = cabecalhos_assinados("evt_2Zx9", CORPO, [segredo], momento=int(time.time()) - 301)

    with pytest.raises(AssinaturaWebhookInvalida, match="antigo"):
        verificar(CORPO, cabecalhos, segredo)
    with pytest.raises(WebhookVerificationError):
        Webhook(segredo).verify(CORPO, cabecalhos)
    verificar(CORPO, cabecalhos, segredo, tolerancia_segundos=600)


def test_it_refuses_a_timestamp_from_the_future():
    segredo = gerar_segredo()
    cabecalhos = cabecalhos_assinados("evt_2Zx9", CORPO, [segredo], momento=int(time.time()) + 301)

    with pytest.raises(AssinaturaWebhookInvalida, match="futuro"):
        verificar(CORPO, cabecalhos, segredo)


@pytest.mark.parametrize("ausente", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_it_refuses_a_missing_header(ausente):
    segredo = gerar_segredo()
    cabecalhos = cabecalhos_assinados("evt_2Zx9", CORPO, [segredo])
    del cabecalhos[ausente]

    with pytest.raises(AssinaturaWebhookInvalida, match=ausente):
        verificar(CORPO, cabecalhos, segredo)


@pytest.mark.parametrize("assinatura", ["", "v1", "v1,", "v1,***", "v2,abc v1", "semvirgula"])
def test_it_refuses_malformed_signatures_without_crashing(assinatura):
    segredo = gerar_segredo()
    cabecalhos = {**cabecalhos_assinados("evt_2Zx9", CORPO, [segredo]), "webhook-signature": assinatura}

    with pytest.raises(AssinaturaWebhookInvalida):
        verificar(CORPO, cabecalhos, segredo)


def test_it_ignores_other_versions_but_accepts_a_matching_v1():
    segredo = gerar_segredo()
    cabecalhos = cabecalhos_assinados("evt_2Zx9", CORPO, [segredo])
    cabecalhos["webhook-signature"] = "v1a,AAAA " + cabecalhos["webhook-signature"]

    verificar(CORPO, cabecalhos, segredo)


def test_it_signs_bytes_only():
    with pytest.raises(TypeError):
        cabecalhos_assinados("evt_2Zx9", CORPO.decode(), [gerar_segredo()])


@pytest.mark.parametrize("segredos", [[], ["whsec_"], ["whsec_não-é-base64"]])
def test_it_refuses_missing_or_invalid_secrets_without_echoing_them(segredos):
    with pytest.raises(SegredoWebhookInvalido) as erro:
        cabecalhos_assinados("evt_2Zx9", CORPO, segredos)

    assert "não-é-base64" not in str(erro.value)


@pytest.mark.parametrize("evento_id", ["", "evt 1", "evt_1\r\nX-Injetado: 1"])
def test_it_refuses_ids_that_cannot_be_a_header(evento_id):
    with pytest.raises(ValueError):
        cabecalhos_assinados(evento_id, CORPO, [gerar_segredo()])
