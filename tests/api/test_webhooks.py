"""The webhook management API, against real receivers on 127.0.0.1.

Signatures are checked with the PyPI `standardwebhooks` package, as an integrator would.
"""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from standardwebhooks.webhooks import Webhook as SW
from standardwebhooks.webhooks import WebhookVerificationError

from core.eventos.emissao import disparar_webhook
from core.models import Evento, Webhook, WebhookLog
from core.tenancy import escopo, inserir
from core.webhooks.entrega import entregar_pendentes
from tests.webhooks.receptor import Receptor

Status = WebhookLog.Status


@pytest.fixture(autouse=True)
def _config(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    settings.WEBHOOK_ENTREGA_IMEDIATA = False
    settings.WEBHOOK_RETRY_SCHEDULE = "0,0,0"


def criar(api, url, **campos):
    resposta = api.post("/api/webhooks/", {"nome": "ERP", "url": url, **campos}, format="json")
    assert resposta.status_code == 201, resposta.json()
    return resposta.json()


def tentativas(org):
    return list(escopo(WebhookLog, org).order_by("id"))


# --- CRUD -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_shows_the_secret_once_and_accepts_the_comma_separated_events(api, org, receptor):
    criado = criar(api, receptor.url, eventos="nfe_importada, cte_importado", headers={"X-Cliente": "42"})

    assert criado["segredo"].startswith("whsec_")
    assert criado["eventos"] == ["nfe_importada", "cte_importado"]
    assert (criado["timeout"], criado["ativo"], criado["headers"]) == (10, True, {"X-Cliente": "42"})
    detalhe = api.get(f"/api/webhooks/{criado['id']}/")
    lista = api.get("/api/webhooks/")
    assert detalhe.status_code == 200 and lista.status_code == 200
    for corpo in (detalhe.content, lista.content):
        assert criado["segredo"].encode() not in corpo and b"segredo\"" not in corpo
    with connection.cursor() as cursor:  # encrypted at rest
        cursor.execute("SELECT segredo FROM core_webhook WHERE id = %s", [criado["id"]])
        assert criado["segredo"] not in cursor.fetchone()[0]
    assert escopo(Webhook, org).get().segredo == criado["segredo"]


@pytest.mark.django_db
def test_create_accepts_a_list_of_events_and_defaults_to_all(api, receptor):
    assert criar(api, receptor.url, eventos=["cte_importado", "nfe_importada", "cte_importado"])["eventos"] == [
        "nfe_importada", "cte_importado"
    ]  # fmt: skip
    assert criar(api, receptor.url)["eventos"] == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("campos", "campo_com_erro"),
    [
        ({"eventos": "nfe_importada,nota_inventada"}, "eventos"),
        ({"eventos": [1, 2]}, "eventos"),
        ({"timeout": 31}, "timeout"),
        ({"timeout": 0}, "timeout"),
        ({"max_tentativas": 99}, "max_tentativas"),
        ({"headers": {"webhook-signature": "forjada"}}, "headers"),
        ({"headers": {"X-Quebra": "a\r\nHost: outro"}}, "headers"),
        ({"headers": {"nome com espaço": "x"}}, "headers"),
        ({"url": "ftp://exemplo.com.br/hook"}, "url"),
        ({"url": "http://usuario:senha@exemplo.com.br/hook"}, "url"),
        ({"nome": ""}, "nome"),
    ],
)
def test_create_refuses_bad_input_naming_the_field(api, org, receptor, campos, campo_com_erro):
    resposta = api.post("/api/webhooks/", {"nome": "ERP", "url": receptor.url, **campos}, format="json")

    assert resposta.status_code == 400
    assert campo_com_erro in resposta.json()["detalhes"], resposta.json()
    assert not escopo(Webhook, org).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["http://127.0.0.1:9/hook", "https://169.254.169.254/latest", "https://10.0.0.1/x"])
def test_create_refuses_private_addresses_unless_allowed(api, settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False

    resposta = api.post("/api/webhooks/", {"nome": "ERP", "url": url}, format="json")

    assert resposta.status_code == 400
    assert "url" in resposta.json()["detalhes"]


@pytest.mark.django_db
def test_put_patch_and_delete(api, org, receptor):
    criado = criar(api, receptor.url)
    url = f"/api/webhooks/{criado['id']}/"

    completo = api.put(url, {"nome": "BI", "url": receptor.url, "eventos": "erro_importacao", "timeout": 5}, format="json")
    assert completo.status_code == 200, completo.json()
    assert (completo.json()["nome"], completo.json()["eventos"], completo.json()["timeout"]) == ("BI", ["erro_importacao"], 5)
    parcial = api.patch(url, {"ativo": False}, format="json")
    assert parcial.status_code == 200 and parcial.json()["ativo"] is False
    assert parcial.json()["desativado_em"] is not None
    assert "segredo" not in completo.json() and "segredo" not in parcial.json()
    assert api.patch(url, {"timeout": 60}, format="json").status_code == 400

    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404
    assert not escopo(Webhook, org).exists()


@pytest.mark.django_db
def test_reactivating_clears_the_failure_history(api, org, receptor):
    criado = criar(api, receptor.url)
    escopo(Webhook, org).update(
        ativo=False, desativado_em=timezone.now(), motivo_desativacao="O receptor respondeu 410 Gone.",
        falhas_consecutivas=7, primeira_falha_em=timezone.now() - timedelta(days=5),
    )  # fmt: skip

    corpo = api.patch(f"/api/webhooks/{criado['id']}/", {"ativo": True}, format="json").json()

    assert (corpo["ativo"], corpo["desativado_em"], corpo["motivo_desativacao"], corpo["falhas_consecutivas"]) == (
        True, None, "", 0
    )  # fmt: skip
    assert escopo(Webhook, org).get().primeira_falha_em is None


@pytest.mark.django_db
def test_another_organization_cannot_see_or_touch_a_webhook(api, api_outra, receptor):
    criado = criar(api, receptor.url)
    base = f"/api/webhooks/{criado['id']}/"

    assert api_outra.get("/api/webhooks/").json() == []
    assert api_outra.get(base).status_code == 404
    assert api_outra.patch(base, {"ativo": False}, format="json").status_code == 404
    assert api_outra.delete(base).status_code == 404
    for acao in ("testar", "rotacionar-segredo", "recuperar"):
        assert api_outra.post(f"{base}{acao}/", {"desde": "2026-01-01"}, format="json").status_code == 404
    assert api_outra.get(f"{base}logs/").status_code == 404
    assert receptor.recebidos == []
    assert api.get(base).json()["ativo"] is True


@pytest.mark.django_db
def test_the_api_requires_a_token(client):
    assert client.get("/api/webhooks/").status_code == 401
    assert client.post("/api/integracoes/testar/", {"url": "https://exemplo.com.br"}).status_code == 401


# --- testar ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_testar_sends_a_signed_teste_event_and_returns_the_attempt(api, org, receptor):
    criado = criar(api, receptor.url, headers={"Authorization": "Bearer abc"})

    resposta = api.post(f"/api/webhooks/{criado['id']}/testar/")

    assert resposta.status_code == 200, resposta.json()
    resultado = resposta.json()
    assert (resultado["sucesso"], resultado["codigo_http"], resultado["trecho_resposta"]) == (True, 200, "ok")
    assert resultado["duracao_ms"] is not None
    corpo, cabecalhos = receptor.recebidos[0]
    assert SW(criado["segredo"]).verify(corpo, cabecalhos) == resultado["evento"]
    assert resultado["evento"]["evento"] == "teste" and cabecalhos["authorization"] == "Bearer abc"
    [log] = tentativas(org)
    assert (log.pk, log.status, log.evento_id) == (resultado["log"], Status.SUCESSO, cabecalhos["webhook-id"])


@pytest.mark.django_db
def test_a_failing_test_is_not_retried_and_does_not_count_against_the_webhook(api, org):
    receptor = Receptor([(500, {})])
    try:
        criado = criar(api, receptor.url)
        resultado = api.post(f"/api/webhooks/{criado['id']}/testar/").json()
    finally:
        receptor.fechar()

    assert (resultado["sucesso"], resultado["codigo_http"], resultado["erro"]) == (False, 500, "HTTP 500")
    assert [log.status for log in tentativas(org)] == [Status.DESISTIU]
    assert escopo(Webhook, org).get().falhas_consecutivas == 0


@pytest.mark.django_db
def test_testar_a_disabled_webhook_is_a_conflict(api, receptor):
    criado = criar(api, receptor.url, ativo=False)

    resposta = api.post(f"/api/webhooks/{criado['id']}/testar/")

    assert resposta.status_code == 409
    assert "desativado" in resposta.json()["erro"]


# --- logs, reenviar -------------------------------------------------------------------------------


@pytest.fixture
def historico(api, org):
    """A webhook with one delivered nfe_importada, one given-up cte_importado and one pending teste."""
    receptor = Receptor([(200, {}), (500, {})])
    criado = criar(api, receptor.url, max_tentativas=1)
    try:
        entregue = disparar_webhook("nfe_importada", {"chave": "1"}, org)
        entregar_pendentes()
        falho = disparar_webhook("cte_importado", {"chave": "2"}, org)
        entregar_pendentes()
        pendente = disparar_webhook("teste", {}, org)
    finally:
        receptor.fechar()
    return criado, entregue, falho, pendente


@pytest.mark.django_db
def test_logs_list_every_attempt_newest_first_with_filters(api, historico):
    criado, entregue, falho, pendente = historico
    url = f"/api/webhooks/{criado['id']}/logs/"

    todos = api.get(url).json()["results"]
    assert [(t["evento"], t["status"]) for t in todos] == [
        (pendente.id, "pendente"), (falho.id, "desistiu"), (entregue.id, "sucesso")
    ]  # fmt: skip
    assert todos[1]["tipo_evento"] == "cte_importado" and todos[1]["codigo_http"] == 500
    assert [t["evento"] for t in api.get(url, {"status": "sucesso"}).json()["results"]] == [entregue.id]
    assert [t["evento"] for t in api.get(url, {"evento": "cte_importado"}).json()["results"]] == [falho.id]
    assert [t["evento"] for t in api.get(url, {"evento_id": pendente.id}).json()["results"]] == [pendente.id]
    amanha = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert api.get(url, {"desde": amanha}).json()["results"] == []
    assert len(api.get(url, {"limit": 1}).json()["results"]) == 1
    invalido = api.get(url, {"status": "talvez", "desde": "ontem"})
    assert invalido.status_code == 400 and {"status", "desde"} <= set(invalido.json()["detalhes"])


@pytest.mark.django_db
def test_logs_show_and_filter_the_failure_class(api, historico):
    criado, entregue, falho, pendente = historico
    url = f"/api/webhooks/{criado['id']}/logs/"

    todos = {t["evento"]: t for t in api.get(url).json()["results"]}

    assert (todos[falho.id]["classe_falha"], todos[falho.id]["codigo_http"]) == ("http", 500)
    assert todos[entregue.id]["classe_falha"] == todos[pendente.id]["classe_falha"] == ""
    assert [t["evento"] for t in api.get(url, {"classe_falha": "http"}).json()["results"]] == [falho.id]
    assert api.get(url, {"classe_falha": ["tls", "rede"]}).json()["results"] == []
    assert api.get(url, {"classe_falha": "desconhecida"}).status_code == 400


@pytest.mark.django_db
def test_logs_of_an_unknown_webhook_is_404(api):
    assert api.get("/api/webhooks/999999/logs/").status_code == 404


@pytest.mark.django_db
def test_logs_query_count_does_not_grow_with_rows(api, org, receptor):
    criado = criar(api, receptor.url)
    url = f"/api/webhooks/{criado['id']}/logs/"
    disparar_webhook("teste", {}, org)
    with CaptureQueriesContext(connection) as poucos:
        assert api.get(url).status_code == 200
    for n in range(20):
        disparar_webhook("nfe_importada", {"n": n}, org)
    with CaptureQueriesContext(connection) as muitos:
        assert len(api.get(url).json()["results"]) == 21
    assert len(muitos) == len(poucos)


@pytest.mark.django_db
def test_reenviar_sends_the_event_again_as_a_new_attempt(api, org, historico):
    criado, _entregue, falho, _pendente = historico
    log_falho = escopo(WebhookLog, org).get(evento=falho)
    receptor = Receptor()
    try:
        api.patch(f"/api/webhooks/{criado['id']}/", {"url": receptor.url}, format="json")
        resposta = api.post(f"/api/webhooks/{criado['id']}/logs/{log_falho.pk}/reenviar/")
    finally:
        receptor.fechar()

    assert resposta.status_code == 200, resposta.json()
    assert (resposta.json()["status"], resposta.json()["tentativa"], resposta.json()["evento"]) == ("sucesso", 2, falho.id)
    assert receptor.ids == [falho.id]  # the same webhook-id as the first attempt
    SW(criado["segredo"]).verify(*receptor.recebidos[0])


@pytest.mark.django_db
def test_reenviar_while_an_attempt_is_pending_is_a_conflict(api, org, historico):
    criado, _entregue, _falho, pendente = historico
    log = escopo(WebhookLog, org).get(evento=pendente)

    resposta = api.post(f"/api/webhooks/{criado['id']}/logs/{log.pk}/reenviar/")

    assert resposta.status_code == 409
    assert escopo(WebhookLog, org).filter(evento=pendente).count() == 1


@pytest.mark.django_db
def test_reenviar_a_log_of_another_webhook_is_404(api, org, historico, receptor):
    _criado, _entregue, falho, _pendente = historico
    outro = criar(api, receptor.url)
    log = escopo(WebhookLog, org).get(evento=falho)

    assert api.post(f"/api/webhooks/{outro['id']}/logs/{log.pk}/reenviar/").status_code == 404


# --- recuperar ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_recuperar_counts_then_queues_every_event_not_received(api, org, historico):
    criado, entregue, falho, _pendente = historico
    escopo(Webhook, org).update(ativo=False)
    perdido = disparar_webhook("documento_atualizado", {"chave": "3"}, org)  # happened while disabled
    disparar_webhook("teste", {}, org)  # tests are never recovered
    escopo(Webhook, org).update(ativo=True)
    url = f"/api/webhooks/{criado['id']}/recuperar/"
    desde = (timezone.now() - timedelta(hours=1)).isoformat()

    contagem = api.post(url, {"desde": desde, "dry_run": True}, format="json")
    assert (contagem.status_code, contagem.json()) == (200, {"eventos": 2, "dry_run": True})
    assert escopo(WebhookLog, org).filter(status=Status.PENDENTE).count() == 1  # dry run changed nothing

    feito = api.post(url, {"desde": desde}, format="json")
    assert (feito.status_code, feito.json()) == (202, {"eventos": 2, "dry_run": False})
    novos = escopo(WebhookLog, org).filter(status=Status.PENDENTE).exclude(evento__tipo="teste")
    assert sorted((log.evento_id, log.tentativa) for log in novos) == sorted([(falho.id, 2), (perdido.id, 1)])
    assert not escopo(WebhookLog, org).filter(evento=entregue, status=Status.PENDENTE).exists()
    assert api.post(url, {"desde": desde}, format="json").json()["eventos"] == 0  # now in progress


@pytest.mark.django_db
def test_recuperar_delivers_what_it_queued(api, org):
    receptor = Receptor([(500, {})])
    criado = criar(api, receptor.url, max_tentativas=1)
    evento = disparar_webhook("nfe_importada", {"chave": "1"}, org)
    entregar_pendentes()
    receptor.respostas = [(200, {})]
    try:
        api.post(f"/api/webhooks/{criado['id']}/recuperar/", {"desde": "2000-01-01T00:00:00Z"}, format="json")
        while entregar_pendentes():
            pass
    finally:
        receptor.fechar()

    assert receptor.ids == [evento.id, evento.id]
    assert [log.status for log in tentativas(org)] == [Status.DESISTIU, Status.SUCESSO]


@pytest.mark.django_db
@pytest.mark.parametrize("corpo", [{}, {"desde": "ontem"}, {"desde": "2999-01-01T00:00:00Z"}])
def test_recuperar_refuses_a_bad_date(api, receptor, corpo):
    criado = criar(api, receptor.url)

    resposta = api.post(f"/api/webhooks/{criado['id']}/recuperar/", corpo, format="json")

    assert resposta.status_code == 400 and "desde" in resposta.json()["detalhes"]


@pytest.mark.django_db
def test_recuperar_on_a_disabled_webhook_counts_but_does_not_queue(api, org, receptor):
    criado = criar(api, receptor.url, ativo=False)
    disparar_webhook("nfe_importada", {}, org)
    url = f"/api/webhooks/{criado['id']}/recuperar/"

    assert api.post(url, {"desde": "2000-01-01", "dry_run": True}, format="json").json()["eventos"] == 1
    assert api.post(url, {"desde": "2000-01-01"}, format="json").status_code == 409
    assert not escopo(WebhookLog, org).exists()


# --- rotacionar-segredo ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_rotation_signs_with_both_secrets_during_the_overlap(api, org, receptor):
    criado = criar(api, receptor.url)

    resposta = api.post(f"/api/webhooks/{criado['id']}/rotacionar-segredo/")
    assert resposta.status_code == 200
    novo = resposta.json()["segredo"]
    assert novo.startswith("whsec_") and novo != criado["segredo"]
    expira = timezone.datetime.fromisoformat(resposta.json()["segredo_anterior_expira_em"])
    assert timedelta(hours=23, minutes=59) < expira - timezone.now() <= timedelta(hours=24)
    assert novo not in api.get(f"/api/webhooks/{criado['id']}/").content.decode()

    disparar_webhook("teste", {}, org)
    entregar_pendentes()
    corpo, cabecalhos = receptor.recebidos[0]
    SW(novo).verify(corpo, cabecalhos)
    SW(criado["segredo"]).verify(corpo, cabecalhos)  # receivers not yet updated still accept it


@pytest.mark.django_db
def test_rotation_with_no_overlap_drops_the_old_secret_at_once(api, org, receptor):
    criado = criar(api, receptor.url)
    novo = api.post(f"/api/webhooks/{criado['id']}/rotacionar-segredo/", {"sobreposicao_horas": 0}, format="json")

    disparar_webhook("teste", {}, org)
    entregar_pendentes()
    corpo, cabecalhos = receptor.recebidos[0]
    SW(novo.json()["segredo"]).verify(corpo, cabecalhos)
    with pytest.raises(WebhookVerificationError):
        SW(criado["segredo"]).verify(corpo, cabecalhos)
    resposta = api.post(f"/api/webhooks/{criado['id']}/rotacionar-segredo/", {"sobreposicao_horas": 1000}, format="json")
    assert resposta.status_code == 400 and "sobreposicao_horas" in resposta.json()["detalhes"]


# --- estatisticas ---------------------------------------------------------------------------------


def _tentativa(org, webhook_id, evento, tentativa, status, duracao, codigo=200, erro=""):
    inserir(WebhookLog, org, [WebhookLog(
        organizacao=org, webhook_id=webhook_id, evento=evento, tentativa=tentativa, status=status,
        duracao_ms=duracao, codigo_http=codigo, erro=erro, proxima_tentativa_em=timezone.now(),
    )])  # fmt: skip


@pytest.mark.django_db
def test_estatisticas_per_webhook(api, org, receptor):
    a = criar(api, receptor.url, nome="A")
    criar(api, receptor.url, nome="B")
    eventos = [disparar_webhook("teste", {"n": n}, org) for n in range(20)]
    escopo(WebhookLog, org).delete()
    for n, evento in enumerate(eventos):  # A: 20 attempts of 10..200 ms, the last two failed
        falhou = n >= 18
        _tentativa(org, a["id"], evento, 1, Status.FALHA if falhou else Status.SUCESSO, (n + 1) * 10,
                   500 if falhou else 200, "HTTP 500" if falhou else "")  # fmt: skip
    escopo(Webhook, org).filter(pk=a["id"]).update(falhas_consecutivas=2)

    resposta = api.get("/api/webhooks/estatisticas/")

    assert resposta.status_code == 200
    por_nome = {linha["nome"]: linha for linha in resposta.json()["webhooks"]}
    assert por_nome["A"] | {"ultimo_erro": None, "ultimo_sucesso_em": None} == {
        "webhook": a["id"], "nome": "A", "ativo": True, "entregas": 20, "sucessos": 18, "falhas": 2,
        "taxa_de_sucesso": 90.0, "latencia_media_ms": 105, "latencia_p95_ms": 190, "ultimo_sucesso_em": None,
        "ultimo_erro": None, "falhas_consecutivas": 2, "pendentes": 0,
    }  # fmt: skip
    assert por_nome["A"]["ultimo_erro"]["mensagem"] == "HTTP 500" and por_nome["A"]["ultimo_erro"]["codigo_http"] == 500
    assert por_nome["B"]["entregas"] == 0 and por_nome["B"]["taxa_de_sucesso"] is None
    assert por_nome["B"]["latencia_p95_ms"] is None and por_nome["B"]["ultimo_erro"] is None
    amanha = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert api.get("/api/webhooks/estatisticas/", {"desde": amanha}).json()["webhooks"][0]["entregas"] == 0
    assert api.get("/api/webhooks/estatisticas/", {"desde": "ontem"}).status_code == 400


@pytest.mark.django_db
def test_estatisticas_query_count_does_not_grow_with_webhooks(api, org, receptor):
    criar(api, receptor.url)
    disparar_webhook("teste", {}, org)
    with CaptureQueriesContext(connection) as poucos:
        api.get("/api/webhooks/estatisticas/")
    for _ in range(5):
        criar(api, receptor.url)
    disparar_webhook("teste", {}, org)
    entregar_pendentes(limite=100)
    with CaptureQueriesContext(connection) as muitos:
        assert len(api.get("/api/webhooks/estatisticas/").json()["webhooks"]) == 6
    assert len(muitos) == len(poucos)


# --- integracoes/disparar, integracoes/testar -----------------------------------------------------


@pytest.mark.django_db
def test_disparar_emits_an_event_to_the_feed_and_the_subscribed_webhooks(api, org, receptor):
    inscrito = criar(api, receptor.url, eventos="consulta_concluida")
    criar(api, receptor.url, eventos="nfe_importada")

    resposta = api.post("/api/integracoes/disparar/", {"evento": "consulta_concluida", "dados": {"documentos": 3}}, format="json")

    assert resposta.status_code == 201, resposta.json()
    assert resposta.json()["entregas"] == 1 and resposta.json()["id"].startswith("evt_")
    assert [e["id"] for e in api.get("/api/eventos/").json()["eventos"]] == []  # held back for late commits
    entregar_pendentes()
    corpo, cabecalhos = receptor.recebidos[0]
    SW(inscrito["segredo"]).verify(corpo, cabecalhos)
    assert json.loads(corpo)["dados"] == {"documentos": 3}
    assert escopo(Evento, org).get().tipo == "consulta_concluida"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "corpo",
    [{"evento": "nota_inventada"}, {"evento": "teste", "dados": [1, 2]}, {"evento": "teste", "dados": {"x": "a" * 70000}}, {}],
)
def test_disparar_refuses_bad_input(api, org, corpo):
    resposta = api.post("/api/integracoes/disparar/", corpo, format="json")

    assert resposta.status_code == 400, resposta.json()
    assert resposta.json()["detalhes"]
    assert not escopo(Evento, org).exists()


@pytest.mark.django_db
def test_testar_url_sends_a_signed_event_and_saves_nothing(api, org, receptor):
    segredo = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    resposta = api.post("/api/integracoes/testar/", {"url": receptor.url, "segredo": segredo}, format="json")

    assert resposta.status_code == 200, resposta.json()
    assert (resposta.json()["sucesso"], resposta.json()["codigo_http"], resposta.json()["trecho_resposta"]) == (True, 200, "ok")
    corpo, cabecalhos = receptor.recebidos[0]
    SW(segredo).verify(corpo, cabecalhos)
    assert json.loads(corpo) == resposta.json()["evento"]
    assert not escopo(Evento, org).exists() and not escopo(WebhookLog, org).exists()


@pytest.mark.django_db
def test_testar_url_reports_an_unreachable_receiver(api):
    receptor = Receptor()
    receptor.fechar()  # nothing listens on that port any more

    resultado = api.post("/api/integracoes/testar/", {"url": receptor.url}, format="json").json()

    assert resultado["sucesso"] is False and resultado["codigo_http"] is None
    assert resultado["erro"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("corpo", "campo"),
    [
        ({"url": "http://127.0.0.1/hook"}, "url"),
        ({"url": "http://169.254.169.254/latest/meta-data/"}, "url"),
        ({"url": "https://exemplo.com.br/hook", "segredo": "nao-e-um-segredo!"}, "segredo"),
        ({"url": "https://exemplo.com.br/hook", "headers": {"Host": "x"}}, "headers"),
        ({}, "url"),
    ],
)
def test_testar_url_refuses_bad_input(api, settings, corpo, campo):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False

    resposta = api.post("/api/integracoes/testar/", corpo, format="json")

    assert resposta.status_code == 400 and campo in resposta.json()["detalhes"], resposta.json()
