"""GET /api/dashboard/: today and this month, recent imports, errors, pending NF-e; auth, tenancy, queries."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from lxml import etree

from core.documentos.chave import CODIGO_POR_UF, montar_chave
from core.documentos.importacao import Entrada, importar
from core.geracao.documentos import gerar_cte, gerar_nfe, gerar_resumo_nfe
from core.certificados import cadastrar_certificado
from core.eventos.emissao import disparar_webhook
from core.geracao.certificado import gerar_certificado
from core.models import CertificadoDigital, ImportLog, Origem, Webhook, WebhookLog
from core.tenancy import escopo
from core.webhooks.gestao import criar_webhook

pytestmark = pytest.mark.django_db

MAXIMO_DE_CONSULTAS = 12  # token + membership + the dashboard's ten


def em(dia: date, hora: int = 12, minuto: int = 0, segundo: int = 0) -> datetime:
    return datetime.combine(dia, time(hora, minuto, segundo), tzinfo=timezone.get_default_timezone())


def resumo(numero: int, quando: datetime, valor: str, cnpj: str = "45723174000110"):
    chave = montar_chave(CODIGO_POR_UF["SP"], quando.strftime("%y%m"), cnpj, "55", 1, numero, "1", numero)
    return gerar_resumo_nfe(chave=chave, emitente_cnpj=cnpj, nome="FORNECEDOR RESUMO LTDA", valor=valor,
                            data_emissao=quando)  # fmt: skip


def cte(certificado, numero: int, quando: datetime, valor: str):
    return gerar_cte(certificado=certificado, numero=numero, data_emissao=quando, valor_prestacao=Decimal(valor))


def qv(quantidade: int, valor: str, ibs: str = "0.00", cbs: str = "0.00") -> dict:
    return {"quantidade": quantidade, "valor": valor, "ibs": ibs, "cbs": cbs}


def valor_nfe(documento) -> Decimal:
    return Decimal(etree.fromstring(documento.xml).findtext(".//{http://www.portalfiscal.inf.br/nfe}vNF"))


def importar_com_erro(organizacao, *nomes):
    for nome in nomes:
        list(importar(organizacao=organizacao, entradas=[Entrada(nome, b"<quebrado")], origem=Origem.UPLOAD))


@pytest.fixture
def dias():
    hoje = timezone.localdate()
    # Another day of this month that is not today, and the last day of the previous month.
    return {
        "hoje": hoje,
        "mes": hoje.replace(day=2 if hoje.day == 1 else 1),
        "antes": hoje.replace(day=1) - timedelta(days=1),
    }


@pytest.fixture
def cenario(org, outra_org, emissor, transportadora, importar_docs, dias):
    hoje, mes, antes = dias["hoje"], dias["mes"], dias["antes"]
    docs = {
        "nfe_meia_noite": gerar_nfe(certificado=emissor, numero=1, data_emissao=em(hoje, 0)),
        "resumo_hoje": resumo(2, em(hoje, 23, 59, 59), "1000.10"),
        "resumo_mes": resumo(3, em(mes), "200.00"),
        "resumo_antes": resumo(4, em(antes, 23, 59, 59), "50.00"),
        "cte_hoje": cte(transportadora, 5, em(hoje), "300.25"),
        "cte_mes": cte(transportadora, 6, em(mes), "99.75"),
        "cte_antes": cte(transportadora, 7, em(antes), "1.00"),
    }
    importar_docs(org, *docs.values())
    importar_com_erro(org, "antigo.xml", "quebrado-1.xml", "quebrado-2.xml")
    escopo(ImportLog, org).filter(arquivo="antigo.xml").update(criado_em=timezone.now() - timedelta(hours=25))

    importar_docs(
        outra_org, resumo(8, em(hoje), "5000.00", cnpj="11222333000181"), cte(transportadora, 9, em(hoje), "777.77")
    )
    importar_com_erro(outra_org, "da-outra.xml")
    return docs


def test_it_sums_today_and_this_month_by_local_emission_date(api, cenario, dias):
    corpo = api.get("/api/dashboard/").json()

    valor_hoje = valor_nfe(cenario["nfe_meia_noite"]) + Decimal("1000.10")
    assert corpo["hoje"] == {
        "inicio": dias["hoje"].isoformat(),
        "fim": dias["hoje"].isoformat(),
        "nfe": qv(2, f"{valor_hoje:.2f}"),
        "cte": qv(1, "300.25"),
        "nfe_por_finalidade": [
            {"finalidade": 1, "finalidade_nome": "Normal", **qv(1, f"{valor_nfe(cenario['nfe_meia_noite']):.2f}")},
            {"finalidade": None, "finalidade_nome": None, **qv(1, "1000.10")},
        ],
    }
    assert corpo["mes"]["nfe"] == qv(3, f"{valor_hoje + Decimal('200.00'):.2f}")
    assert corpo["mes"]["cte"] == qv(2, "400.00")
    assert corpo["mes"]["inicio"] == dias["hoje"].replace(day=1).isoformat()
    assert date.fromisoformat(corpo["mes"]["fim"]) + timedelta(days=1) == (
        dias["hoje"].replace(day=28) + timedelta(days=4)
    ).replace(day=1)


def test_it_lists_the_last_ten_imports_newest_first(api, cenario):
    importacoes = api.get("/api/dashboard/").json()["ultimas_importacoes"]

    assert len(importacoes) == 10  # 7 documents and 3 errors: exactly ten of `org`
    assert importacoes[0]["arquivo"] == "quebrado-2.xml"
    assert set(importacoes[0]) == {"arquivo", "chave", "status", "mensagem", "criado_em"}
    assert {i["status"] for i in importacoes} == {"sucesso", "erro"}
    assert "da-outra.xml" not in {i["arquivo"] for i in importacoes}


def test_it_counts_import_errors_of_the_last_24_hours(api, cenario):
    erros = api.get("/api/dashboard/").json()["erros_24h"]

    assert erros["quantidade"] == 2
    assert [e["arquivo"] for e in erros["recentes"]] == ["quebrado-2.xml", "quebrado-1.xml"]
    assert all(e["status"] == "erro" and e["mensagem"] for e in erros["recentes"])


def test_it_lists_nfes_waiting_for_the_full_xml(api, cenario):
    pendentes = api.get("/api/dashboard/").json()["nfe_pendentes"]

    resumos = sorted(["resumo_hoje", "resumo_mes", "resumo_antes"], key=lambda n: _data(cenario[n]), reverse=True)
    assert pendentes["quantidade"] == 3
    assert [p["chave"] for p in pendentes["recentes"]] == [cenario[n].chave for n in resumos]
    hoje = next(p for p in pendentes["recentes"] if p["chave"] == cenario["resumo_hoje"].chave)
    assert (hoje["numero"], hoje["valor"], hoje["situacao"], hoje["emitente_documento"]) == (
        2,
        "1000.10",
        "resumo",
        "45723174000110",
    )
    assert hoje["link"] == f"http://testserver/api/nfes/{hoje['chave']}/"


def test_it_lists_certificates_expiring_within_30_days_the_soonest_first(api, org, outra_org):
    # given: one A1 expiring in 10 days, one in 200, one already expired, and another organization's
    agora = timezone.now()

    def a1(organizacao, cnpj, dias):
        gerado = gerar_certificado(cnpj=cnpj, inicio=agora - timedelta(days=1), dias_validade=dias + 2)  # ends in dias days and some hours
        return cadastrar_certificado(organizacao, gerado.pfx(b"senha"), "senha")

    perto, _longe, vencido = a1(org, "11222333000181", 10), a1(org, "45723174000110", 200), a1(org, "19131243000197", 60)
    escopo(CertificadoDigital, org).filter(pk=vencido.pk).update(validade_fim=agora - timedelta(days=2, hours=1))
    a1(outra_org, "61585865000151", 5)

    # when
    vencendo = api.get("/api/dashboard/").json()["certificados_vencendo"]

    # then
    assert [(c["id"], c["cnpj"], c["dias_para_vencer"]) for c in vencendo] == [
        (vencido.pk, "19131243000197", -3), (perto.pk, "11222333000181", 10)
    ]  # fmt: skip
    assert set(vencendo[0]) == {"id", "nome", "titular", "cnpj", "cpf", "validade_fim", "dias_para_vencer", "problema"}


def test_it_sums_up_webhook_health(api, org, outra_org, settings):
    # given: two webhooks (one disabled), deliveries waiting, failures today and one failure of last week
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS, settings.WEBHOOK_ENTREGA_IMEDIATA = True, False
    ativo, _ = criar_webhook(org, nome="ERP", url="http://127.0.0.1:9/erp")
    criar_webhook(org, nome="BI", url="http://127.0.0.1:9/bi", ativo=False)
    criar_webhook(outra_org, nome="Outro", url="http://127.0.0.1:9/outro")
    for numero in range(4):
        disparar_webhook("teste", {"n": numero}, org)
    disparar_webhook("teste", {}, outra_org)
    tentativas = escopo(WebhookLog, org).order_by("id")
    ids = list(tentativas.values_list("id", flat=True))
    tentativas.filter(id__in=ids[:2]).update(status=WebhookLog.Status.FALHA)
    tentativas.filter(id=ids[1]).update(criado_em=timezone.now() - timedelta(days=7))
    sucesso = timezone.now() - timedelta(minutes=5)
    escopo(Webhook, org).filter(pk=ativo.pk).update(ultimo_sucesso_em=sucesso)

    # when
    saude = api.get("/api/dashboard/").json()["webhooks"]

    # then
    assert {k: v for k, v in saude.items() if k != "ultimo_sucesso_em"} == {
        "ativos": 1, "desativados": 1, "pendentes": 2, "falhas_24h": 1
    }  # fmt: skip
    assert datetime.fromisoformat(saude["ultimo_sucesso_em"]) == sucesso.replace(microsecond=sucesso.microsecond)


def test_an_organization_without_certificates_or_webhooks_sees_empty_blocks(api):
    corpo = api.get("/api/dashboard/").json()
    assert corpo["certificados_vencendo"] == []
    assert corpo["webhooks"] == {"ativos": 0, "desativados": 0, "pendentes": 0, "falhas_24h": 0, "ultimo_sucesso_em": None}


def test_it_is_all_zeros_for_an_empty_organization(api):
    corpo = api.get("/api/dashboard/").json()
    assert corpo["hoje"]["nfe"] == corpo["mes"]["cte"] == qv(0, "0.00")
    assert corpo["ultimas_importacoes"] == [] and corpo["erros_24h"] == {"quantidade": 0, "recentes": []}
    assert corpo["nfe_pendentes"] == {"quantidade": 0, "recentes": []}


def test_it_shows_the_other_organization_only_its_own_numbers(api_outra, cenario):
    corpo = api_outra.get("/api/dashboard/").json()

    assert corpo["hoje"]["nfe"] == qv(1, "5000.00")
    assert corpo["hoje"]["cte"] == qv(1, "777.77")
    assert [e["arquivo"] for e in corpo["erros_24h"]["recentes"]] == ["da-outra.xml"]
    assert corpo["nfe_pendentes"]["quantidade"] == 1
    texto = str(corpo)
    assert not [d.chave for d in cenario.values() if d.chave in texto]


def test_it_requires_a_token(client, db):
    resposta = client.get("/api/dashboard/")
    assert resposta.status_code == 401
    assert set(resposta.json()) == {"erro", "detalhes"}


@pytest.mark.parametrize("quantidade", [2, 20])
def test_it_runs_a_fixed_number_of_queries(
    api, org, transportadora, importar_docs, django_assert_max_num_queries, quantidade
):
    hoje = timezone.localdate()
    importar_docs(org, *[resumo(100 + n, em(hoje), "10.00") for n in range(quantidade)])
    importar_docs(
        org, *[gerar_cte(certificado=transportadora, numero=200 + n, data_emissao=em(hoje)) for n in range(quantidade)]
    )
    importar_com_erro(org, *[f"erro-{n}.xml" for n in range(quantidade)])

    with django_assert_max_num_queries(MAXIMO_DE_CONSULTAS):
        corpo = api.get("/api/dashboard/").json()
    assert corpo["hoje"]["nfe"] == qv(quantidade, f"{10 * quantidade}.00")
    assert corpo["erros_24h"]["quantidade"] == quantidade


def _data(documento) -> datetime:
    texto = etree.fromstring(documento.xml).findtext(".//{http://www.portalfiscal.inf.br/nfe}dhEmi")
    return datetime.fromisoformat(texto)
