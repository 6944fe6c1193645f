"""Inserting many new rows without the ORM's per-value work: COPY on PostgreSQL, one multi-row
INSERT ... RETURNING per model on SQLite.

    inserir_tabelas([(NFe, nfes), (NFeItem, itens)])  # each row gets its pk, as with bulk_create

Why: `bulk_create` runs every value through the SQL compiler (pre_save, get_db_prep_save, one
placeholder per value); for an import batch (a 66-column NF-e, 34-column items) that was most of the
time spent writing. Here the conversion of each column is chosen once per model: values of the types
the driver takes as they are (str, int, bool, Decimal, an aware datetime on PostgreSQL) pass straight
through, anything else goes through the field's own get_db_prep_save. A row written here is the row
the ORM writes (tests/documentos/test_escrita_em_massa.py compares them column by column).

Why COPY is safe where bulk_create was used: it runs on the caller's connection, inside the caller's
transaction (an import batch's atomic block), so it commits or rolls back with everything else the
batch wrote, its events and outbox rows included. PostgreSQL checks every constraint of the table
(unique, foreign keys, NOT NULL, CHECK) and fires its triggers, statement-level ones included, as for
an INSERT; a violation aborts the whole COPY and surfaces as the same django.db.IntegrityError, so the
import's existing path (split the batch, retry each document, "duplicado" for a key another importer
stored first) still applies. The primary keys are taken beforehand from each table's own sequence, for
every table of the call in one query (nextval: never handed out twice, whatever other sessions insert
meanwhile).

Like bulk_create: no signals, no save(). Unlike it: conflicts are never ignored (ON CONFLICT DO NOTHING
stays with bulk_create), and the model must have a single auto-increment primary key or rows that
bring their own.
"""

from __future__ import annotations

import datetime
import operator
import sqlite3
import time
from decimal import Decimal

from django.conf import settings
from django.db import connections, router
from django.db.models import DateField, DateTimeField, Field
from django.utils import timezone

# Internal types whose values of exactly these Python types the ORM hands to the driver unchanged.
_TIPOS_DIRETOS = {
    "CharField": (str,),
    "TextField": (str,),
    "SlugField": (str,),
    "EmailField": (str,),
    "URLField": (str,),
    "BooleanField": (bool,),
    "DecimalField": (Decimal,),
    **{
        tipo: (int,)
        for tipo in (
            "AutoField", "BigAutoField", "SmallAutoField", "IntegerField", "BigIntegerField", "SmallIntegerField",
            "PositiveIntegerField", "PositiveBigIntegerField", "PositiveSmallIntegerField",
        )
    },
}  # fmt: skip


def inserir_tabelas(grupos: list[tuple[type, list]]) -> None:
    """INSERT the new rows of several models, in the order given (a row may point at one of an earlier
    group: an item at its NF-e). On PostgreSQL the ids of every group come from one query first."""
    tabelas = []
    for modelo, objetos in grupos:
        conexao = connections[router.db_for_write(modelo)]
        com_pk = [o for o in objetos if o.pk is not None]
        sem_pk = [o for o in objetos if o.pk is None]
        tabelas += [(_Tabela(modelo, conexao, gera_pk), g) for g, gera_pk in ((com_pk, False), (sem_pk, True)) if g]
    _reservar_ids([(tabela, objetos) for tabela, objetos in tabelas if tabela.reserva_ids])
    for tabela, objetos in tabelas:
        tabela.inserir(objetos)


def _reservar_ids(tabelas: list) -> None:
    """PostgreSQL: the next ids of each table's own sequence (nextval never hands one out twice, whatever
    other sessions insert meanwhile), for all the tables in one round trip, set on the rows."""
    por_conexao = {}
    for tabela, objetos in tabelas:
        por_conexao.setdefault(tabela.conexao.alias, []).append((tabela, objetos))
    for grupo in por_conexao.values():
        uma = "(SELECT %s, nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s))"
        partes = " UNION ALL ".join([uma] * len(grupo))
        parametros = [p for i, (t, objetos) in enumerate(grupo) for p in (i, t.tabela, t.pk.column, len(objetos))]
        with grupo[0][0].conexao.cursor() as cursor:
            cursor.execute(partes, parametros)
            ids = [[] for _ in grupo]
            for indice, pk in cursor.fetchall():
                ids[indice].append(pk)
        for (_, objetos), reservados in zip(grupo, ids, strict=True):
            for objeto, pk in zip(objetos, reservados, strict=True):
                objeto.pk = pk


class _Tabela:
    """The columns of one model and how each value is read and converted, worked out once per call."""

    def __init__(self, modelo, conexao, gera_pk: bool):
        meta = modelo._meta
        self.modelo, self.conexao, self.gera_pk, self.pk = modelo, conexao, gera_pk, meta.pk
        if gera_pk and meta.pk.get_internal_type() not in ("AutoField", "BigAutoField", "SmallAutoField"):
            raise ValueError(f"{modelo.__name__}: linhas sem pk, e a pk não é gerada pelo banco")
        self.tabela = meta.db_table
        self.reserva_ids = gera_pk and conexao.vendor == "postgresql"
        self.campos = [f for f in meta.concrete_fields if not f.generated and not (gera_pk and f is meta.pk)]
        self.relacoes = [f for f in self.campos if f.is_relation]
        self._preparar_leitura()
        nomes = [conexao.ops.quote_name(f.column) for f in self.campos]
        if self.reserva_ids:
            nomes.insert(0, conexao.ops.quote_name(meta.pk.column))
        self.destino = f"{conexao.ops.quote_name(meta.db_table)} ({', '.join(nomes)})"

    def inserir(self, objetos: list) -> None:
        self._vincular_relacoes(objetos)
        linhas = [self._linha(o) for o in objetos]
        if self.conexao.vendor == "postgresql":
            self._copy(objetos, linhas)
        else:
            self._insert(objetos, linhas)
        for objeto in objetos:
            objeto._state.adding, objeto._state.db = False, self.conexao.alias

    # -- values --------------------------------------------------------------------------------

    def _preparar_leitura(self) -> None:
        """One attrgetter reads a row's columns at once (in C); then only values that are not of a type the
        driver takes as it is go through a converter."""
        ler = operator.attrgetter(*(f.attname for f in self.campos))
        self.ler_todos = ler if len(self.campos) > 1 else (lambda objeto: (ler(objeto),))
        self.conversoes, self.pre_saves = [], []
        for indice, campo in enumerate(self.campos):
            if _precisa_pre_save(campo):
                self.pre_saves.append((indice, self._com_pre_save(campo)))
            else:
                self.conversoes.append((indice, *self._conversao(campo)))

    def _linha(self, objeto) -> list:
        linha = list(self.ler_todos(objeto))
        for indice, diretos, converter in self.conversoes:
            valor = linha[indice]
            if valor is not None and type(valor) not in diretos:
                linha[indice] = converter(valor)
        for indice, converter in self.pre_saves:
            linha[indice] = converter(objeto)
        return linha

    def _com_pre_save(self, campo):
        conexao, preparar = self.conexao, campo.get_db_prep_save
        if isinstance(campo, DateField):
            # auto_now / auto_now_add: what their pre_save sets, taken once for the whole statement (as
            # now() is in SQL) and converted once.
            agora = timezone.now() if isinstance(campo, DateTimeField) else datetime.date.today()
            convertido, nome = preparar(agora, conexao), campo.attname

            def marcar(objeto):
                setattr(objeto, nome, agora)
                return convertido

            return marcar
        return lambda objeto: preparar(campo.pre_save(objeto, True), conexao)

    def _conversao(self, campo) -> tuple[tuple, object]:
        """(the types bound as they are, the converter of any other value but None) of `campo`."""
        conexao, preparar = self.conexao, campo.get_db_prep_save
        tipo = campo.target_field.get_internal_type() if campo.is_relation else campo.get_internal_type()
        if tipo in _TIPOS_DIRETOS:
            return _TIPOS_DIRETOS[tipo], lambda valor: preparar(valor, conexao)
        if tipo == "DateTimeField":
            return (), _conversor_de_data_e_hora(conexao, preparar)
        if tipo == "JSONField":
            # JSONField.get_db_prep_save of a plain value (not an expression) is exactly this.
            encoder = campo.encoder
            return (), lambda valor: conexao.ops.adapt_json_value(valor, encoder)
        return (), lambda valor: preparar(valor, conexao)

    def _vincular_relacoes(self, objetos: list) -> None:
        """A related object assigned while still unsaved (an item's NF-e of the same batch) lends its pk
        now; one still without a pk is refused, as bulk_create refuses it."""
        for campo in self.relacoes:
            for objeto in objetos:
                if getattr(objeto, campo.attname) is not None or not campo.is_cached(objeto):
                    continue
                relacionado = campo.get_cached_value(objeto)
                if relacionado is None:
                    continue
                if relacionado.pk is None:
                    raise ValueError(f"bulk_create() prohibited to prevent data loss due to unsaved related object '{campo.name}'.")
                setattr(objeto, campo.attname, getattr(relacionado, campo.target_field.attname))

    # -- PostgreSQL: COPY ------------------------------------------------------------------------

    def _copy(self, objetos: list, linhas: list[list]) -> None:
        sql = f"COPY {self.destino} FROM STDIN"
        with self.conexao.cursor() as cursor:
            if self.reserva_ids:
                for objeto, linha in zip(objetos, linhas, strict=True):
                    linha.insert(0, objeto.pk)
            inicio = time.monotonic()
            # The driver's own call: Django's cursor wrapper neither logs it nor translates its errors.
            with self.conexao.wrap_database_errors, cursor.cursor.copy(sql) as copia:
                for linha in linhas:
                    copia.write_row(linha)
            self._registrar_no_log(sql, len(linhas), inicio)

    # -- SQLite: INSERT ... VALUES (...), (...) RETURNING ------------------------------------------

    def _insert(self, objetos: list, linhas: list[list]) -> None:
        por_comando = max(1, self.conexao.ops.bulk_batch_size(self.campos, objetos))
        marcadores = "(" + ", ".join(["?"] * len(self.campos)) + ")"
        retorno = f" RETURNING {self.conexao.ops.quote_name(self.pk.column)}" if self.gera_pk else ""
        with self.conexao.cursor() as cursor:
            for inicio in range(0, len(linhas), por_comando):
                bloco = linhas[inicio : inicio + por_comando]
                sql = f"INSERT INTO {self.destino} VALUES {', '.join([marcadores] * len(bloco))}{retorno}"  # noqa: S608 (quoted names and placeholders only)
                self._executar(cursor, sql, [valor for linha in bloco for valor in linha], len(bloco))
                if self.gera_pk:
                    # Rows come back in the order of VALUES, as Django's own bulk_create relies on.
                    for objeto, (pk,) in zip(objetos[inicio : inicio + por_comando], cursor.fetchall(), strict=True):
                        objeto.pk = pk

    def _executar(self, cursor, sql: str, parametros: list, linhas: int) -> None:
        """The driver's own execute, with sqlite3's "?" placeholders: Django's wrapper would rewrite every
        "%s" of a statement with thousands of them through a regex (~5% of an import batch)."""
        inicio = time.monotonic()
        with self.conexao.wrap_database_errors:
            sqlite3.Cursor.execute(cursor.cursor, sql, parametros)
        self._registrar_no_log(sql, linhas, inicio)

    def _registrar_no_log(self, sql: str, linhas: int, inicio: float) -> None:
        """The statement in the connection's query log (DEBUG, assertNumQueries), as Django's cursor would
        have put it there: both paths above call the driver directly. Long statements are cut."""
        if self.conexao.queries_logged:
            duracao = f"{time.monotonic() - inicio:.3f}"
            texto = sql if len(sql) <= 200 else f"{sql[:200]}..."
            self.conexao.queries_log.append({"sql": f"{texto} -- {linhas} linhas", "time": duracao})


def _precisa_pre_save(campo) -> bool:
    """auto_now / auto_now_add dates, and any field type with a pre_save of its own, get it called."""
    if isinstance(campo, DateField):
        return campo.auto_now or campo.auto_now_add
    return type(campo).pre_save is not Field.pre_save


def _conversor_de_data_e_hora(conexao, preparar):
    """An aware datetime as the ORM binds it (PostgreSQL: as it is; SQLite with USE_TZ: naive in the
    connection's zone, as text), skipping checks that only matter for other values; the rest take the ORM's path."""
    if conexao.vendor == "postgresql":

        def converter(valor):
            return valor if type(valor) is datetime.datetime and valor.tzinfo is not None else preparar(valor, conexao)

        return converter
    if conexao.vendor == "sqlite" and settings.USE_TZ:

        def converter(valor):
            if type(valor) is datetime.datetime and valor.tzinfo is not None:
                return str(timezone.make_naive(valor, conexao.timezone))
            return preparar(valor, conexao)

        return converter
    return lambda valor: preparar(valor, conexao)
