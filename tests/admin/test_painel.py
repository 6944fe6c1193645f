"""The admin index dashboard: the month's documents and R$ totals by situação, received per day, NF-e pending
manifestation, certificates near expiry and the SEFAZ capture state, per organization; no webhook statistics."""

import re
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.certificados import cadastrar_certificado
from core.documentos.importacao import importar_bytes
from core.geracao.documentos import gerar_cte, gerar_evento_nfe, gerar_nfe
from core.models import CertificadoDigital, CTe, CursorDistribuicao, NFe, Origem, Situacao
from core.tenancy import escopo
from tests.admin.conftest import disparar, novo_webhook

pytestmark = pytest.mark.django_db
INDICE = reverse("admin:index")
SENHA = "senha-do-a1"
DESTINATARIO = "61585865000151"  # a1_destinatario's CNPJ


def hoje_as(hora: int = 10) -> datetime:
    return datetime.combine(timezone.localdate(), time(hora, 0), tzinfo=timezone.get_current_timezone())


def importar(organizacao, *documentos, origem=Origem.UPLOAD):
    for documento in documentos:
        importar_bytes(organizacao=organizacao, nome="x.xml", conteudo=documento.xml, origem=origem)


def mudar(modelo, organizacao, numero, **campos):
    """Known values for a document imported from a generated XML (its items' values are random)."""
    assert escopo(modelo, organizacao).filter(numero=numero).update(**campos) == 1


def linha(pagina: bytes, tabela: str, situacao: str) -> tuple[str, str]:
    """(count, R$ total) of one situação row of the NF-e or CT-e table."""
    bloco = pagina.split(f'id="{tabela}"'.encode())[1].split(b"</table>")[0]
    celulas = r'<td>[^<]*</td><td class="valor">([^<]*)</td><td class="valor">([^<]*)</td>'
    achado = re.search(f'data-situacao="{situacao}">{celulas}'.encode(), bloco)
    return achado.group(1).decode(), achado.group(2).decode()


def painel(pagina: bytes) -> bytes:
    return pagina.split(b'id="painel"')[1].split(b'id="content-main"')[0]


@pytest.fixture
def mes(org, outra_org, emissor, transportadora):
    """org this month: NF-e 1, 2 autorizadas (R$ 1.234,56 + R$ 100,00), 3 cancelada (R$ 50,25), 4 denegada
    (R$ 10,00); CT-e 5 autorizado (R$ 300,10); NF-e 6 from 40 days before the month (outside). outra_org:
    five NF-e this month."""
    importar(org, *(gerar_nfe(certificado=emissor, numero=n, data_emissao=hoje_as()) for n in (1, 2, 3, 4)))
    fora = datetime.combine(timezone.localdate().replace(day=1) - timedelta(days=40), time(10), tzinfo=timezone.get_current_timezone())
    importar(org, gerar_nfe(certificado=emissor, numero=6, data_emissao=fora))
    importar(org, gerar_cte(certificado=transportadora, numero=5, data_emissao=hoje_as()))
    for numero, valor, situacao in ((1, "1234.56", Situacao.AUTORIZADA), (2, "100.00", Situacao.AUTORIZADA),
                                    (3, "50.25", Situacao.CANCELADA), (4, "10.00", Situacao.DENEGADA)):  # fmt: skip
        mudar(NFe, org, numero, valor_total=Decimal(valor), situacao=situacao)
    mudar(CTe, org, 5, valor_prestacao=Decimal("300.10"))
    importar(outra_org, *(gerar_nfe(certificado=transportadora, numero=n, data_emissao=hoje_as()) for n in range(10, 15)))


def test_it_shows_the_months_documents_and_r_totals_by_situacao(membro, mes):
    pagina = membro.get(INDICE)

    assert pagina.status_code == 200
    conteudo = pagina.content
    assert "Documentos do mês".encode() in conteudo
    assert linha(conteudo, "painel-nfe", "autorizada") == ("2", "R$ 1.334,56")
    assert linha(conteudo, "painel-nfe", "cancelada") == ("1", "R$ 50,25")
    assert linha(conteudo, "painel-nfe", "denegada") == ("1", "R$ 10,00")
    assert linha(conteudo, "painel-nfe", "total") == ("4", "R$ 1.394,81")  # NF-e 6 is from another month
    assert linha(conteudo, "painel-cte", "autorizada") == ("1", "R$ 300,10")
    assert linha(conteudo, "painel-cte", "cancelada") == ("0", "R$ 0,00")
    assert linha(conteudo, "painel-cte", "total") == ("1", "R$ 300,10")


def test_it_charts_the_documents_received_per_day_of_the_month(membro, mes):
    conteudo = painel(membro.get(INDICE).content)

    assert b"Recebidos por dia" in conteudo
    assert f"{timezone.localdate():%d/%m}: 4 NF-e, 1 CT-e".encode() in conteudo  # the bar's tooltip
    primeiro = timezone.localdate().replace(day=1)
    if primeiro != timezone.localdate():
        assert f"{primeiro:%d/%m}: 0 NF-e, 0 CT-e".encode() in conteudo
    assert conteudo.count(b"<svg xmlns") == 1 and b'aria-label="Documentos recebidos por dia' in conteudo


def test_it_counts_the_nfe_pending_manifestation_and_links_to_them(membro, org, emissor, a1_destinatario):
    # given: NF-e 1 and 2 addressed to org's certificate, no manifestation; 3 confirmed; 4 issued to someone else
    cadastrar_certificado(org, a1_destinatario.pfx(SENHA.encode()), SENHA, uf="41", servicos=["nfe"])
    idades = {1: 170, 2: 20, 3: 170, 4: 170}
    notas = {n: gerar_nfe(certificado=emissor, numero=n, destinatario_documento="19131243000197" if n == 4 else DESTINATARIO,
                          data_emissao=timezone.now() - timedelta(days=dias)) for n, dias in idades.items()}  # fmt: skip
    confirmacao = gerar_evento_nfe(certificado=a1_destinatario, chave=notas[3].chave, tipo_evento="210200")
    importar(org, *notas.values(), confirmacao, origem=Origem.SEFAZ)

    # when
    conteudo = painel(membro.get(INDICE).content)

    # then: the count, the nearest deadline first, each linked to its page and the count to the filtered list
    assert "Manifestação pendente".encode() in conteudo
    assert re.search(rb'id="painel-pendentes">2<', conteudo)
    um, dois = (escopo(NFe, org).get(numero=n) for n in (1, 2))
    pendentes = conteudo.split(b'id="painel-manifestacao"')[1].split(b'id="painel-certificados"')[0]
    assert pendentes.index(reverse("admin:core_nfe_change", args=[um.pk]).encode()) < pendentes.index(
        reverse("admin:core_nfe_change", args=[dois.pk]).encode()
    )
    link = f"{reverse('admin:core_nfe_changelist')}?manifestacao_pendente=sim"
    assert f'href="{link}"'.encode() in pendentes
    lista = membro.get(link)
    assert sorted(nfe.numero for nfe in lista.context["cl"].result_list) == [1, 2]


def test_the_pending_filter_of_a_superuser_applies_each_organizations_rule(superusuario, org, outra_org, emissor,
                                                                         a1_destinatario):  # fmt: skip
    # given: the same NF-e to DESTINATARIO in both; only org holds DESTINATARIO's certificate
    cadastrar_certificado(org, a1_destinatario.pfx(SENHA.encode()), SENHA)
    nota = gerar_nfe(certificado=emissor, numero=7, destinatario_documento=DESTINATARIO, data_emissao=timezone.now())
    importar(org, nota)
    importar(outra_org, nota)

    lista = superusuario.get(reverse("admin:core_nfe_changelist"), {"manifestacao_pendente": "sim"})

    assert [nfe.organizacao_id for nfe in lista.context["cl"].result_list] == [org.pk]


def test_it_lists_the_certificates_near_expiry(membro, org, a1_destinatario, emissor):
    vencendo = cadastrar_certificado(org, a1_destinatario.pfx(SENHA.encode()), SENHA, nome="A1 da matriz")
    longe = cadastrar_certificado(org, emissor.pfx(SENHA.encode()), SENHA, nome="A1 da filial")
    escopo(CertificadoDigital, org).filter(pk=vencendo.pk).update(validade_fim=timezone.now() + timedelta(days=10, hours=1))
    escopo(CertificadoDigital, org).filter(pk=longe.pk).update(validade_fim=timezone.now() + timedelta(days=200))

    conteudo = painel(membro.get(INDICE).content)

    bloco = conteudo.split(b'id="painel-certificados"')[1].split(b"Captura na SEFAZ")[0]
    assert b"Certificados vencendo" in bloco
    assert reverse("admin:core_certificadodigital_change", args=[vencendo.pk]).encode() in bloco
    assert b"A1 da matriz" in bloco and b"61.585.865/0001-51" in bloco and b"(10 dias)" in bloco
    assert b"A1 da filial" not in bloco


def test_it_shows_the_sefaz_capture_state(membro, org, a1_destinatario):
    # given: automatic capture of NF-e every 60 minutes; the last distNSU 10 minutes ago, two failures in a row
    certificado = cadastrar_certificado(org, a1_destinatario.pfx(SENHA.encode()), SENHA, nome="A1 captura", uf="41",
                                        consulta_automatica=True, servicos=["nfe"], intervalo_minutos=60)  # fmt: skip
    ultima = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=10)
    CursorDistribuicao.objects.create(certificado=certificado, documento=DESTINATARIO, servico="nfe", ambiente=1,
                                      ult_nsu=5, max_nsu=5, ultimo_cstat=137, ultima_consulta_em=ultima, falhas_seguidas=2)  # fmt: skip

    conteudo = painel(membro.get(INDICE).content)

    captura = conteudo.split(b"Captura na SEFAZ")[1]
    linha_nfe = captura.split(f'data-certificado="{certificado.pk}" data-servico="nfe"'.encode())[1].split(b"</tr>")[0]
    proxima = timezone.localtime(ultima + timedelta(minutes=60))
    assert b"A1 captura" in linha_nfe and b"(cStat 137)" in linha_nfe and b"5 de 5" in linha_nfe
    assert f'class="proxima">{proxima:%d/%m/%Y %H:%M}<'.encode() in linha_nfe
    assert b'class="status">com problema<' in linha_nfe and b"2 falha(s) seguida(s)" in linha_nfe


def test_the_index_has_no_webhook_statistics_but_links_to_their_page(membro, org, mes):
    novo_webhook(org, "http://127.0.0.1:9/hook", nome="ERP Alfa")
    disparar(org)

    conteudo = painel(membro.get(INDICE).content)

    assert b"ERP Alfa" not in conteudo and b"entregas" not in conteudo
    assert f'href="{reverse("admin:core_webhook_saude")}"'.encode() in conteudo


def test_the_dashboard_loads_nothing_from_outside_and_runs_no_script(membro, mes):
    conteudo = painel(membro.get(INDICE).content)
    assert b"<script" not in conteudo
    assert not re.search(rb'(src|href)="(https?:)?//', conteudo)
    assert set(re.findall(rb"https?://[^\s\"'<>]+", conteudo)) == {b"http://www.w3.org/2000/svg"}


def test_a_superuser_chooses_the_organization(superusuario, mes, org, outra_org):
    padrao = superusuario.get(INDICE).content
    assert b'name="organizacao"' in padrao
    assert linha(padrao, "painel-nfe", "total")[0] == "4"  # the first organization by name: Comercial Alfa

    outra = superusuario.get(INDICE, {"organizacao": outra_org.pk}).content

    assert linha(outra, "painel-nfe", "total")[0] == "5" and linha(outra, "painel-cte", "total")[0] == "0"


def test_a_member_cannot_choose_another_organization(membro, mes, outra_org):
    pagina = membro.get(INDICE, {"organizacao": outra_org.pk}).content
    assert linha(pagina, "painel-nfe", "total")[0] == "4" and b'name="organizacao"' not in pagina


def test_staff_without_an_organization_get_the_plain_index(client, django_user_model, mes):
    client.force_login(django_user_model.objects.create_user("avulso", password="x", is_staff=True))
    pagina = client.get(INDICE)
    assert pagina.status_code == 200 and b'id="painel"' not in pagina.content


def test_the_dashboard_costs_the_same_queries_for_more_data(membro, org, emissor, transportadora, a1_destinatario):
    cadastrar_certificado(org, a1_destinatario.pfx(SENHA.encode()), SENHA, uf="41", consulta_automatica=True)
    importar(org, gerar_nfe(certificado=emissor, numero=1, data_emissao=hoje_as()))
    membro.get(INDICE)
    with CaptureQueriesContext(connection) as pouco:
        membro.get(INDICE)

    # more documents on more days, more pending NF-e, more certificates and cursors, a SEFAZ call
    dias = max(timezone.localdate().day, 1)
    importar(org, *(gerar_nfe(certificado=emissor, numero=n, destinatario_documento=DESTINATARIO,
                              data_emissao=hoje_as() - timedelta(days=n % dias)) for n in range(2, 22)))  # fmt: skip
    importar(org, *(gerar_cte(certificado=transportadora, numero=n, data_emissao=hoje_as()) for n in range(1, 6)))
    cadastrar_certificado(org, emissor.pfx(SENHA.encode()), SENHA, uf="41", consulta_automatica=True)
    for documento, servico in ((DESTINATARIO, "nfe"), (DESTINATARIO, "cte"), ("11222333000181", "nfe")):
        CursorDistribuicao.objects.create(documento=documento, servico=servico, ambiente=1, ultima_consulta_em=timezone.now())
    escopo(CertificadoDigital, org).update(validade_fim=timezone.now() + timedelta(days=5))
    with CaptureQueriesContext(connection) as muito:
        pagina = membro.get(INDICE)

    assert linha(pagina.content, "painel-nfe", "total")[0] == "21"
    assert re.search(rb'id="painel-pendentes">20<', pagina.content)
    assert len(muito) == len(pouco), [q["sql"] for q in muito.captured_queries]
