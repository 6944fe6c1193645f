"""The rollups are exact: after random imports, cancellations, status changes, edits and deletions, every rollup
equals what the documents add up to (a Python oracle over the documents), before and after compaction, and
the totals, statistics and dashboard read from them equal the same figures computed from the documents."""

import random
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum
from django.utils import timezone

from core.agregados.manutencao import compactar, diferencas, reconstruir
from core.consultas.estatisticas import estatisticas
from core.consultas.reforma import FINALIDADES_DE_OPERACAO
from core.consultas.totais import totais, totais_filtrados
from core.documentos.chave import CODIGO_POR_UF, montar_chave
from core.documentos.importacao import Entrada, importar
from core.geracao.documentos import gerar_cte, gerar_evento_nfe, gerar_nfe, gerar_resumo_nfe
from core.models import AgregadoCTe, AgregadoEmitente, AgregadoNFe, AgregadoRota, CTe, NFe, Origem
from core.tenancy import escopo

pytestmark = pytest.mark.django_db(transaction=True)

EMITENTES = [("45723174000110", "ALFA LTDA"), ("06990590000123", "GAMA SA"), ("19131243000197", "DELTA ME")]
UFS = ["SP", "PR", "RJ"]
# Around a month boundary, so month rows and edge-day rows are both exercised.
DIAS = [date(2026, 1, 25) + timedelta(days=n) for n in range(14)]
CAMPOS_NFE = ("valor_total", "valor_produtos", "valor_icms", "valor_ipi", "valor_nf",
                                      "valor_nf_tot", "valor_ibs", "valor_cbs", "valor_is")  # fmt: skip
CAMPOS_CTE = ("valor_prestacao", "valor_receber", "valor_carga", "valor_ibs", "valor_cbs", "valor_total_dfe")


def centavos(valor) -> int:
    return int((Decimal(valor or 0) * 100).to_integral_value())


def esperado(organizacao) -> dict:
    """{table: {(grain, period, *dims): (count, *cents)}} computed in Python from the documents themselves."""
    tabelas = {tabela: defaultdict(lambda: [0]) for tabela in ("nfe", "cte", "emitente", "rota")}

    def somar(tabela, dia, dimensoes, valores):
        for grao, periodo in (("d", dia), ("m", dia.replace(day=1))):
            linha = tabelas[tabela][(grao, periodo, *dimensoes)]
            linha[0] += 1
            linha.extend([0] * (len(valores) + 1 - len(linha)))
            for i, valor in enumerate(valores, 1):
                linha[i] += centavos(valor)

    for nfe in escopo(NFe, organizacao):
        dia = nfe.data_emissao_local
        somar("nfe", dia, (nfe.modelo, nfe.situacao, nfe.finalidade or 0, nfe.completa, nfe.tipo_operacao, nfe.emitente_uf),
              [getattr(nfe, campo) for campo in CAMPOS_NFE])  # fmt: skip
        if nfe.finalidade in (None, *FINALIDADES_DE_OPERACAO):
            somar("emitente", dia, (nfe.emitente_documento, nfe.emitente_nome), [nfe.valor_total])
    for cte in escopo(CTe, organizacao):
        dia = cte.data_emissao_local
        somar("cte", dia, (cte.modelo, cte.situacao, cte.completa, cte.modal, cte.emitente_uf, cte.uf_inicio),
              [getattr(cte, campo) for campo in CAMPOS_CTE])  # fmt: skip
        somar("rota", dia, (cte.uf_inicio, cte.municipio_inicio, cte.uf_fim, cte.municipio_fim), [cte.valor_prestacao])
    return {tabela: {chave: tuple(linha) for chave, linha in linhas.items()} for tabela, linhas in tabelas.items()}


def guardado(organizacao) -> dict:
    """The same, read from the rollup tables (keys summed over their delta rows, zeros left out)."""
    definicoes = {
        "nfe": (AgregadoNFe, ("modelo", "situacao", "finalidade", "completa", "tipo_operacao", "emitente_uf"), CAMPOS_NFE),
        "cte": (AgregadoCTe, ("modelo", "situacao", "completa", "modal", "emitente_uf", "uf_inicio"), CAMPOS_CTE),
        "emitente": (AgregadoEmitente, ("emitente_documento", "emitente_nome"), ("valor_total",)),
        "rota": (AgregadoRota, ("uf_inicio", "municipio_inicio", "uf_fim", "municipio_fim"), ("valor_prestacao",)),
    }
    resultado = {}
    for tabela, (modelo, dimensoes, campos) in definicoes.items():
        linhas = (
            modelo.objects.filter(organizacao=organizacao)
            .values("grao", "periodo", *dimensoes)
            .annotate(q=Sum("quantidade"), **{f"s_{c}": Sum(c) for c in campos})
        )
        resultado[tabela] = {
            (linha["grao"], linha["periodo"], *(linha[d] for d in dimensoes)): (linha["q"], *(linha[f"s_{c}"] for c in campos))
            for linha in linhas
            if linha["q"] or any(linha[f"s_{c}"] for c in campos)
        }
    return resultado


class Operacoes:
    """Random changes to one organization's documents, each through a path the product has."""

    def __init__(self, organizacao, emissor, transportadora, semente: int):
        self.organizacao, self.emissor, self.transportadora = organizacao, emissor, transportadora
        self.rng = random.Random(semente)
        self.numero = semente * 1000
        self.importados: list = []

    def _momento(self) -> datetime:
        dia = self.rng.choice(DIAS)
        hora = self.rng.choice([time(0, 0), time(12, 30), time(23, 59, 59)])
        return datetime.combine(dia, hora, tzinfo=timezone.get_default_timezone())

    def _importar(self, *documentos):
        entradas = [Entrada(f"{d.chave}.xml", d.xml) for d in documentos]
        resultados = list(importar(organizacao=self.organizacao, entradas=entradas, origem=Origem.UPLOAD))
        assert all(r.ok for r in resultados), [r.mensagem for r in resultados if not r.ok]
        return resultados

    def _valor(self) -> str:
        return f"{self.rng.randint(1, 999_999)}.{self.rng.randint(0, 99):02d}"

    def resumos(self):
        docs = []
        for _ in range(self.rng.randint(1, 4)):
            self.numero += 1
            cnpj, nome = self.rng.choice(EMITENTES)
            uf, quando = self.rng.choice(UFS), self._momento()
            chave = montar_chave(CODIGO_POR_UF[uf], quando.strftime("%y%m"), cnpj, "55", 1, self.numero, "1", self.numero)
            docs.append(gerar_resumo_nfe(chave=chave, emitente_cnpj=cnpj, nome=nome, valor=self._valor(), data_emissao=quando,
                                         situacao=self.rng.choice([1, 1, 2, 3])))  # fmt: skip
        self._importar(*docs)

    def nfe_completa(self):
        self.numero += 1
        nfe = gerar_nfe(certificado=self.emissor, rng=self.rng, numero=self.numero, data_emissao=self._momento(),
                        finalidade=self.rng.choice([1, 1, 2, 4, 5, 6]), reforma=self.rng.random() < 0.5)  # fmt: skip
        self._importar(nfe)
        self.importados.append(nfe)

    def cte(self):
        self.numero += 1
        self._importar(gerar_cte(certificado=self.transportadora, rng=self.rng, numero=self.numero,
                                 data_emissao=self._momento(), valor_prestacao=Decimal(self._valor()),
                                 uf_inicio=self.rng.choice(UFS), uf_fim=self.rng.choice(UFS)))  # fmt: skip

    def cancelamento(self):
        if self.importados:
            nfe = self.importados.pop(self.rng.randrange(len(self.importados)))
            self._importar(gerar_evento_nfe(certificado=self.emissor, chave=nfe.chave, tipo_evento="110111"))

    def reimportacao(self):
        if self.importados:
            self._importar(self.rng.choice(self.importados))  # a second copy changes nothing

    def _alguns(self, modelo):
        pks = list(escopo(modelo, self.organizacao).values_list("pk", flat=True))
        return escopo(modelo, self.organizacao).filter(pk__in=self.rng.sample(pks, min(len(pks), self.rng.randint(1, 3))))

    def situacao(self):
        modelo = self.rng.choice([NFe, CTe])
        self._alguns(modelo).update(situacao=self.rng.choice(["autorizada", "cancelada", "denegada"]))

    def finalidade(self):
        self._alguns(NFe).update(finalidade=self.rng.choice([None, 1, 4, 5]))

    def valores(self):
        self._alguns(NFe).update(valor_total=Decimal(self._valor()), emitente_nome=self.rng.choice(["NOVO NOME", "ALFA LTDA"]))
        self._alguns(CTe).update(valor_prestacao=Decimal(self._valor()), municipio_fim="OUTRA CIDADE")

    def mudar_de_dia(self):
        for documento in self._alguns(self.rng.choice([NFe, CTe])):
            documento.data_emissao = self._momento()
            documento.data_emissao_local = timezone.localtime(documento.data_emissao).date()
            documento.save()

    def apagar(self):
        self._alguns(self.rng.choice([NFe, CTe])).delete()

    def compactar(self):
        compactar(self.organizacao.pk if self.rng.random() < 0.5 else None)

    def uma(self):
        operacoes = [self.resumos, self.resumos, self.nfe_completa, self.cte, self.cancelamento, self.reimportacao,
                     self.situacao, self.finalidade, self.valores, self.mudar_de_dia, self.apagar, self.compactar]  # fmt: skip
        operacao = self.rng.choice(operacoes)
        operacao()
        return operacao.__name__


@pytest.mark.parametrize("semente", [1, 2])
def test_rollups_equal_the_documents_after_random_operations(org, outra_org, emissor, transportadora, semente):
    nossa = Operacoes(org, emissor, transportadora, semente)
    deles = Operacoes(outra_org, emissor, transportadora, semente + 100)
    feitas = []
    for passo in range(30):
        feitas.append(nossa.uma())
        if passo % 3 == 0:
            deles.uma()
        if passo % 6 == 5:
            assert guardado(org) == esperado(org), feitas
    for organizacao in (org, outra_org):
        assert guardado(organizacao) == esperado(organizacao), feitas
        assert diferencas(organizacao.pk) == []
    compactar()
    assert guardado(org) == esperado(org)
    # After compaction, one row per key
    for modelo in (AgregadoNFe, AgregadoCTe, AgregadoEmitente, AgregadoRota):
        chaves = [f.name for f in modelo._meta.fields if f.name not in ("id", "quantidade") and not f.name.startswith("valor")]
        assert modelo.objects.values(*chaves).count() == modelo.objects.values(*chaves).distinct().count()
    assert escopo(NFe, org).exists() and escopo(CTe, org).exists()
    _totais_e_estatisticas_conferem(org)


def _totais_e_estatisticas_conferem(org):
    inicio, fim = DIAS[0], DIAS[-1]
    desde = datetime.combine(inicio, time.min, tzinfo=timezone.get_default_timezone())
    ate = datetime.combine(fim, time.max, tzinfo=timezone.get_default_timezone())
    for modelo, filtros in [
        (NFe, {}),
        (NFe, {"data_inicio": desde, "data_fim": ate}),
        (NFe, {"data_inicio": desde + timedelta(days=7), "situacao": ["autorizada", "cancelada"]}),
        (NFe, {"finalidade": ["1", "4"], "emitente_uf": "SP", "completa": True}),
        (CTe, {"data_fim": ate - timedelta(days=3), "uf_inicio": "PR"}),
        (CTe, {}),
    ]:
        documentos = escopo(modelo, org)
        bruto = documentos.filter(**_como_lookups(filtros))
        assert totais_filtrados(bruto, organizacao=org, filtros=filtros) == totais(bruto), (modelo, filtros)

    dados = estatisticas(organizacao=org, inicio=inicio, fim=fim, agrupar="mes")
    nfes = [n for n in escopo(NFe, org) if inicio <= n.data_emissao_local <= fim]
    operacoes = [n for n in nfes if n.finalidade in (None, *FINALIDADES_DE_OPERACAO)]
    por_mes = defaultdict(lambda: [0, Decimal(0)])
    for nfe in operacoes:
        por_mes[nfe.data_emissao_local.replace(day=1)][0] += 1
        por_mes[nfe.data_emissao_local.replace(day=1)][1] += nfe.valor_total
    assert {p["periodo"]: (p["nfe"]["quantidade"], p["nfe"]["valor"]) for p in dados["series"] if p["nfe"]["quantidade"]} == {
        mes: tuple(v) for mes, v in por_mes.items()
    }
    por_situacao = defaultdict(lambda: [0, Decimal(0)])
    for nfe in operacoes:
        por_situacao[nfe.situacao][0] += 1
        por_situacao[nfe.situacao][1] += nfe.valor_total
    assert {s["situacao"]: (s["quantidade"], s["valor"]) for s in dados["por_situacao"]["nfe"]} == {
        s: tuple(v) for s, v in por_situacao.items()
    }
    por_emitente = defaultdict(lambda: [0, Decimal(0), ""])
    for nfe in operacoes:
        soma = por_emitente[nfe.emitente_documento]
        soma[0] += 1
        soma[1] += nfe.valor_total
        soma[2] = max(soma[2], nfe.emitente_nome)
    assert [(e["documento"], e["nome"], e["quantidade"], e["valor"]) for e in dados["top_emitentes"]] == sorted(
        ((d, s[2], s[0], s[1]) for d, s in por_emitente.items()), key=lambda e: (-e[3], -e[2], e[0])
    )[:10]
    assert sum(f["quantidade"] for f in dados["por_finalidade"]["nfe"]) == len(nfes)


def _como_lookups(filtros: dict) -> dict:
    lookups = {"data_inicio": "data_emissao__gte", "data_fim": "data_emissao__lte", "situacao": "situacao__in",
               "finalidade": "finalidade__in"}  # fmt: skip
    return {lookups.get(nome, nome): valor for nome, valor in filtros.items()}


def test_the_command_finds_and_mends_a_rollup_that_drifted(org):
    quando = datetime(2026, 2, 3, 10, tzinfo=timezone.get_default_timezone())
    chave = montar_chave("35", "2602", EMITENTES[0][0], "55", 1, 7, "1", 7)
    resumo = gerar_resumo_nfe(chave=chave, emitente_cnpj=EMITENTES[0][0], nome="ALFA LTDA", valor="10.00", data_emissao=quando)
    assert all(r.ok for r in importar(organizacao=org, entradas=[Entrada("r.xml", resumo.xml)], origem=Origem.UPLOAD))
    call_command("reconstruir_agregados", "--conferir", "--organizacao", org.slug)
    AgregadoNFe.objects.filter(organizacao=org, grao="m").delete()  # what a restore without the triggers would leave

    with pytest.raises(CommandError, match="diferem dos documentos"):
        call_command("reconstruir_agregados", "--conferir", "--organizacao", org.slug)
    call_command("reconstruir_agregados", "--organizacao", org.slug)
    call_command("reconstruir_agregados", "--conferir")
    assert guardado(org) == esperado(org)
    assert reconstruir(org.pk) == sum(len(linhas) for linhas in esperado(org).values())


def test_totals_read_the_rollups_only_when_every_filter_is_one_of_their_keys():
    from core.consultas.totais import _no_agregado

    zona = timezone.get_default_timezone()
    meia_noite = datetime(2026, 1, 28, tzinfo=zona)
    fim_do_dia = datetime.combine(date(2026, 2, 3), time.max, tzinfo=zona)
    assert _no_agregado(NFe, {"data_inicio": meia_noite, "data_fim": fim_do_dia, "situacao": ["autorizada"]}) == (
        date(2026, 1, 28), date(2026, 2, 3), {"situacao__in": ["autorizada"]}
    )
    assert _no_agregado(NFe, {"finalidade": ["1", "4"], "emitente_uf": None, "situacao": []}) == (
        date(1900, 1, 1), date(2999, 12, 31), {"finalidade__in": [1, 4]}
    )
    # A time of day, a CNPJ, a value range, a CT-e filter on an NF-e: answered from the documents instead.
    assert _no_agregado(NFe, {"data_inicio": meia_noite + timedelta(hours=12)}) is None
    assert _no_agregado(NFe, {"data_fim": fim_do_dia - timedelta(seconds=1)}) is None
    assert _no_agregado(NFe, {"emitente": "45723174000110"}) is None
    assert _no_agregado(NFe, {"valor_min": Decimal("10")}) is None
    assert _no_agregado(NFe, {"uf_inicio": "SP"}) is None
    assert _no_agregado(CTe, {"uf_inicio": "SP", "modal": "01"}) == (date(1900, 1, 1), date(2999, 12, 31),
                                                                    {"uf_inicio": "SP", "modal": "01"})  # fmt: skip


def test_totals_of_a_mid_day_range_count_only_the_documents_inside_it(org, emissor, transportadora):
    nossa = Operacoes(org, emissor, transportadora, 7)
    for _ in range(4):
        nossa.resumos()
    noon = datetime.combine(DIAS[3], time(12), tzinfo=timezone.get_default_timezone())
    filtros = {"data_inicio": noon, "data_fim": noon + timedelta(days=5)}
    esperados = escopo(NFe, org).filter(data_emissao__gte=noon, data_emissao__lte=noon + timedelta(days=5))
    assert totais_filtrados(escopo(NFe, org).filter(**_como_lookups(filtros)), organizacao=org, filtros=filtros)[
        "quantidade"
    ] == esperados.count()
