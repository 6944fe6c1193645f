"""Fill a throw-away database with a million plausible NF-e/CT-e rows in minutes.

The rows are what the API's queries touch (no XML, no signature): `Gerador` computes them in Python as
plain tuples, and `Escritor` writes them the fastest way each database takes them: COPY on PostgreSQL
(psycopg 3 `cursor.copy()` through Django's connection), one prepared INSERT run with `executemany` on
SQLite. Both go under Django's ORM on purpose: `bulk_create` builds a model instance per row and fills a
million in tens of minutes. Database triggers (the daily rollups) fire for COPY and INSERT alike, so
whatever they maintain stays correct. Only for bench databases: ids are assigned here, not by the database.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from datetime import UTC, timedelta
from decimal import Decimal

from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone

from core.agregados.manutencao import compactar
from core.documentos.chave import calcular_digito
from core.models import ArquivoXML, CTe, NFe, NFeItem
from core.tenancy import inserir

UFS = ["SP", "RJ", "MG", "PR", "SC", "RS", "BA", "GO", "PE", "CE"]
CODIGOS_UF = {"SP": "35", "RJ": "33", "MG": "31", "PR": "41", "SC": "42", "RS": "43", "BA": "29", "GO": "52",
              "PE": "26", "CE": "23"}  # fmt: skip
SITUACOES = ["autorizada"] * 17 + ["cancelada", "resumo", "denegada"]
# ide/finNFe of received NF-e: mostly normal, some returns, few complementary and credit notes.
FINALIDADES = [1] * 95 + [4] * 3 + [2, 5]
LOTE = 20_000  # documents per transaction: progress is printed and committed per lot

# The columns each model's rows set; every other column takes its model default (computed once).
COMUNS = ("id", "organizacao_id", "chave", "modelo", "serie", "numero", "data_emissao", "data_emissao_local",
          "natureza_operacao", "emitente_documento", "emitente_nome", "emitente_uf", "destinatario_documento",
          "destinatario_nome", "destinatario_uf", "situacao", "completa", "assinatura", "origem", "arquivo_id")  # fmt: skip
COLUNAS = {
    NFe: (*COMUNS, "tipo_operacao", "finalidade", "valor_total", "valor_nf", "valor_produtos", "valor_icms"),
    NFeItem: ("id", "organizacao_id", "nfe_id", "numero", "codigo", "descricao", "valor_total"),
    CTe: (*COMUNS, "modal", "uf_inicio", "uf_fim", "municipio_inicio", "municipio_fim", "tomador_documento",
          "valor_prestacao", "valor_receber", "valor_carga"),
}  # fmt: skip


class Gerador:
    """Plausible rows: 300 emitters, dates over the last year, 80% NF-e with 2 items, 20% CT-e."""

    def __init__(self, organizacao, semente: int = 7):
        self.organizacao = organizacao
        self.rng = random.Random(semente)
        self.numero = 0
        self.emitentes = [(f"{10_000_000 + i:08d}0001{i % 90 + 10:02d}", f"EMPRESA {i:03d} LTDA") for i in range(300)]
        self.arquivo = ArquivoXML.de_bytes(organizacao, b"<nfeProc/>")
        inserir(ArquivoXML, organizacao, [self.arquivo])
        self.agora = timezone.now().replace(microsecond=0)
        self.escritor = Escritor()

    def encher(self, quantidade: int, progresso: Callable[[int], None] = lambda feitos: None) -> None:
        ids = {modelo: (modelo._default_manager.aggregate(m=Max("id"))["m"] or 0) + 1 for modelo in COLUNAS}
        feitos = 0
        while feitos < quantidade:
            lote = min(LOTE, quantidade - feitos)
            with transaction.atomic():
                self._lote(lote, ids)
            feitos += lote
            progresso(feitos)
        self.escritor.acertar_sequencias()
        # What the cron's compactar_agregados does every minute: each fill batch (a COPY, a SQLite
        # executemany) left its rollup deltas (core.agregados), folded here into one row per key.
        compactar(self.organizacao.pk)

    def _lote(self, quantidade: int, ids: dict) -> None:
        org = self.organizacao.pk
        nfes, itens, ctes = [], [], []
        for _ in range(quantidade * 4 // 5):
            comum, situacao = self._comum(ids[NFe], "55")
            valor = self._valor()
            finalidade = None if situacao == "resumo" else self.rng.choice(FINALIDADES)  # resNFe has no finNFe
            nfes.append((*comum, "saida", finalidade, self._valor(), self._valor(), valor, self._valor()))
            for numero in (1, 2):
                itens.append((ids[NFeItem], org, ids[NFe], numero, f"P{numero}", "PRODUTO", valor))
                ids[NFeItem] += 1
            ids[NFe] += 1
        for _ in range(quantidade - len(nfes)):
            comum, _ = self._comum(ids[CTe], "57")
            origem, destino = comum[11], self.rng.choice(UFS)
            ctes.append((*comum, "01", origem, destino, f"CIDADE {origem}", f"CIDADE {destino}", comum[12],
                         self._valor(), self._valor(), self._valor()))  # fmt: skip
            ids[CTe] += 1
        self.escritor.escrever(NFe, nfes)
        self.escritor.escrever(NFeItem, itens)
        self.escritor.escrever(CTe, ctes)

    def _comum(self, id_: int, modelo: str) -> tuple[tuple, str]:
        self.numero += 1
        cnpj, nome = self.rng.choice(self.emitentes)
        uf = self.rng.choice(UFS)
        emissao = self.agora - timedelta(minutes=self.rng.randint(0, 365 * 24 * 60))
        chave = _chave(CODIGOS_UF[uf], emissao, cnpj, modelo, self.numero, self.rng.randint(1, 99_999_999))
        situacao = self.rng.choice(SITUACOES)
        linha = (id_, self.organizacao.pk, chave, modelo, 1, self.numero, emissao, timezone.localtime(emissao).date(),
                 "VENDA", cnpj, nome, uf, "11222333000181", "DESTINATARIO SA", self.rng.choice(UFS), situacao,
                 situacao != "resumo", "valida", "sefaz", self.arquivo.pk)  # fmt: skip
        return linha, situacao

    def _valor(self) -> Decimal:
        return Decimal(self.rng.randint(1_000, 5_000_000)) / 100


def _chave(codigo_uf: str, emissao, cnpj: str, modelo: str, numero: int, codigo: int) -> str:
    # core.documentos.chave.montar_chave also parses the key back; a million times, that is a minute.
    chave43 = f"{codigo_uf}{emissao:%y%m}{cnpj}{modelo}001{numero:09d}1{codigo:08d}"
    return chave43 + str(calcular_digito(chave43))


class Escritor:
    """Writes row tuples (COLUNAS order) plus every other column's default, by COPY or executemany."""

    def __init__(self):
        self.postgres = connection.vendor == "postgresql"
        agora = timezone.now()
        self.fixos = {modelo: _padroes(modelo, colunas, agora) for modelo, colunas in COLUNAS.items()}

    def escrever(self, modelo: type[models.Model], linhas: list[tuple]) -> None:
        if not linhas:
            return
        nomes, fixos = self.fixos[modelo]
        colunas = ", ".join(connection.ops.quote_name(c) for c in (*COLUNAS[modelo], *nomes))
        tabela = connection.ops.quote_name(modelo._meta.db_table)
        with connection.cursor() as cursor:
            if self.postgres:
                with cursor.cursor.copy(f"COPY {tabela} ({colunas}) FROM STDIN") as copia:
                    for linha in linhas:
                        copia.write_row((*linha, *fixos))
            else:
                marcas = ", ".join("?" * (len(COLUNAS[modelo]) + len(nomes)))
                sql = f"INSERT INTO {tabela} ({colunas}) VALUES ({marcas})"  # noqa: S608 (model names, placeholders)
                cursor.cursor.executemany(sql, _para_sqlite(modelo, linhas, fixos))

    def acertar_sequencias(self) -> None:
        """PostgreSQL: the identity sequences past the ids given here (SQLite follows the largest id itself)."""
        if self.postgres:
            with connection.cursor() as cursor:
                for sql in connection.ops.sequence_reset_sql(no_style(), list(COLUNAS)):
                    cursor.execute(sql)


def _padroes(modelo: type[models.Model], definidas: tuple[str, ...], agora) -> tuple[tuple[str, ...], tuple]:
    """The columns the rows leave out and their default, as the database receives it (prepared once)."""
    nomes, valores = [], []
    for campo in modelo._meta.concrete_fields:
        if campo.column in definidas:
            continue
        auto = getattr(campo, "auto_now", False) or getattr(campo, "auto_now_add", False)
        valor = agora if auto else campo.get_default()
        if valor is None and not campo.null:
            raise ValueError(f"{modelo.__name__}.{campo.name} não tem padrão: inclua-o em COLUNAS")
        nomes.append(campo.column)
        valores.append(campo.get_db_prep_save(valor, connection))
    return tuple(nomes), tuple(valores)


def _para_sqlite(modelo: type[models.Model], linhas: list[tuple], fixos: tuple) -> Iterator[tuple]:
    # Django stores SQLite datetimes as naive UTC text; an aware value would keep its "+00:00" and sort apart.
    posicao = COLUNAS[modelo].index("data_emissao") if "data_emissao" in COLUNAS[modelo] else None
    for linha in linhas:
        if posicao is not None:
            utc = linha[posicao].astimezone(UTC).replace(tzinfo=None)
            linha = (*linha[:posicao], utc, *linha[posicao + 1 :])
        yield (*linha, *fixos)


def preparar_sqlite_para_encher() -> Callable[[], None]:
    """Faster SQLite writes for a throw-away bench file (no fsync, a bigger page cache); returns the undo,
    so the reads measured afterwards run with the settings a real installation has."""
    if connection.vendor != "sqlite":
        return lambda: None
    with connection.cursor() as cursor:
        sincrono = cursor.execute("PRAGMA synchronous").fetchone()[0]
        cache = cursor.execute("PRAGMA cache_size").fetchone()[0]
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.execute("PRAGMA cache_size=-262144")  # 256 MiB

    def desfazer() -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA synchronous={int(sincrono)}")
            cursor.execute(f"PRAGMA cache_size={int(cache)}")

    return desfazer


def relogio(total: int, inicio: float | None = None) -> Callable[[int], None]:
    """A progress printer for Gerador.encher: documents done, rate and elapsed time."""
    inicio = time.perf_counter() if inicio is None else inicio

    def imprimir(feitos: int) -> None:
        decorrido = time.perf_counter() - inicio
        print(f"  {feitos:>9}/{total} documentos, {feitos / decorrido:,.0f}/s, {decorrido:.0f} s", flush=True)

    return imprimir
