"""Per-organization rollups of the documents: counts and value sums by day and by month.

What the dashboard, /totais/ and /api/estatisticas/ group by, kept so that reading a year costs the same at a
thousand documents as at a million. Database triggers (core.agregados.gatilhos, installed by migration 0019)
write them in the same transaction as every INSERT, UPDATE and DELETE of core_nfe and core_cte, whatever
wrote it (import, cancellation, re-reading, the admin, a deleted organization).

On PostgreSQL a row is a signed delta: the triggers only append (+1 and the values of a new or changed
document, -1 and the old values of a changed or deleted one), so concurrent imports never wait on each other
for a hot row and never deadlock on one; `compactar_agregados` folds the rows of a key into one, and a read
always sums, so it is exact before and after. SQLite has one writer at a time: its triggers add to the key's
one row in place. Values are integer cents: SUM over them is exact on SQLite too.

Every row exists at two grains, the day (`grao` "d", `periodo` the day) and the month ("m", `periodo` its
first day), so a year is read as its whole months plus the days at the edges. The day is the emission date in
settings.TIME_ZONE (`data_emissao_local`).
"""

from django.db import models

from .organizacao import Organizacao


class Grao(models.TextChoices):
    DIA = "d", "Dia"
    MES = "m", "Mês"


class Agregado(models.Model):
    # No database constraint, and Django leaves these rows alone: when an organization is deleted, the cascade
    # deletes its documents, whose triggers still write rollup rows, before the organization's own row goes;
    # a trigger on core_organizacao then deletes the organization's rollup rows (core.agregados.gatilhos).
    organizacao = models.ForeignKey(
        Organizacao, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    grao = models.CharField(max_length=1, choices=Grao.choices)
    periodo = models.DateField()
    quantidade = models.BigIntegerField()
    # PostgreSQL: False on a delta row a trigger appended, True on a row compactar_agregados folded; the deltas
    # are what the next compaction folds (a partial index finds them), never the whole table. SQLite: always
    # True (its triggers add in place).
    compactada = models.BooleanField(default=False)

    class Meta:
        abstract = True


def _centavos(nome: str):
    return models.BigIntegerField(f"{nome} (centavos)")


class AgregadoNFe(Agregado):
    """NF-e by (period, modelo, situação, finalidade, completa, tipo de operação, UF do emitente)."""

    modelo = models.CharField(max_length=2)
    situacao = models.CharField(max_length=20)
    finalidade = models.PositiveSmallIntegerField(help_text="finNFe; 0 quando o documento não tem (resumo)")
    completa = models.BooleanField()
    tipo_operacao = models.CharField(max_length=7)
    emitente_uf = models.CharField(max_length=2)
    valor_total = _centavos("valor total")
    valor_produtos = _centavos("valor dos produtos")
    valor_icms = _centavos("ICMS")
    valor_ipi = _centavos("IPI")
    valor_nf = _centavos("vNF")
    valor_nf_tot = _centavos("vNFTot")
    valor_ibs = _centavos("IBS")
    valor_cbs = _centavos("CBS")
    valor_is = _centavos("IS")

    class Meta:
        verbose_name = "agregado de NF-e"
        indexes = [
            models.Index(fields=["organizacao", "grao", "periodo"], name="agregadonfe_periodo_idx"),
            models.Index(fields=["organizacao"], condition=models.Q(compactada=False), name="agregadonfe_deltas_idx"),
        ]

    def __str__(self):
        return f"{self.get_grao_display()} {self.periodo}: {self.quantidade}"


class AgregadoCTe(Agregado):
    """CT-e by (period, modelo, situação, completa, modal, UF do emitente, UF de início)."""

    modelo = models.CharField(max_length=2)
    situacao = models.CharField(max_length=20)
    completa = models.BooleanField()
    modal = models.CharField(max_length=2)
    emitente_uf = models.CharField(max_length=2)
    uf_inicio = models.CharField(max_length=2)
    valor_prestacao = _centavos("valor da prestação")
    valor_receber = _centavos("valor a receber")
    valor_carga = _centavos("valor da carga")
    valor_ibs = _centavos("IBS")
    valor_cbs = _centavos("CBS")
    valor_total_dfe = _centavos("vTotDFe")

    class Meta:
        verbose_name = "agregado de CT-e"
        indexes = [
            models.Index(fields=["organizacao", "grao", "periodo"], name="agregadocte_periodo_idx"),
            models.Index(fields=["organizacao"], condition=models.Q(compactada=False), name="agregadocte_deltas_idx"),
        ]

    def __str__(self):
        return f"{self.get_grao_display()} {self.periodo}: {self.quantidade}"


class AgregadoEmitente(Agregado):
    """NF-e that are operations (core.consultas.reforma) by (period, emitter): the statistics' top emitters."""

    emitente_documento = models.CharField(max_length=14)
    emitente_nome = models.CharField(max_length=200)
    valor_total = _centavos("valor total")

    class Meta:
        verbose_name = "agregado por emitente"
        indexes = [
            models.Index(fields=["organizacao", "grao", "periodo"], name="agregadoemit_periodo_idx"),
            models.Index(fields=["organizacao"], condition=models.Q(compactada=False), name="agregadoemit_deltas_idx"),
        ]

    def __str__(self):
        return f"{self.get_grao_display()} {self.periodo}: {self.quantidade}"


class AgregadoRota(Agregado):
    """CT-e by (period, route): the statistics' top routes."""

    uf_inicio = models.CharField(max_length=2)
    municipio_inicio = models.CharField(max_length=60)
    uf_fim = models.CharField(max_length=2)
    municipio_fim = models.CharField(max_length=60)
    valor_prestacao = _centavos("valor da prestação")

    class Meta:
        verbose_name = "agregado por rota"
        indexes = [
            models.Index(fields=["organizacao", "grao", "periodo"], name="agregadorota_periodo_idx"),
            models.Index(fields=["organizacao"], condition=models.Q(compactada=False), name="agregadorota_deltas_idx"),
        ]

    def __str__(self):
        return f"{self.get_grao_display()} {self.periodo}: {self.quantidade}"
