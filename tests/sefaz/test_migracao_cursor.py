"""Migration 0010: the per-organization cursors of one CNPJ become one shared cursor, losing no position."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from core.models import ConsultaSEFAZ, CursorDistribuicao
from core.tenancy import todas_as_organizacoes

ANTES, DEPOIS = ("core", "0009_importacoes_guardadas"), ("core", "0010_sefaz_cursor_compartilhado")
CNPJ = "61585865000151"


def migrar(alvo) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate([alvo])
    return executor


@pytest.mark.django_db(transaction=True)
def test_two_organizations_cursors_of_one_cnpj_merge_keeping_the_furthest_position_and_the_gap():
    ultimas = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        # given: the company at NSU 40 and its accountant at NSU 100 on the same sequence, another CNPJ apart
        antigos = migrar(ANTES).loader.project_state([ANTES]).apps
        Organizacao = antigos.get_model("core", "Organizacao")
        Cursor = antigos.get_model("core", "CursorDistribuicao")
        Consulta = antigos.get_model("core", "ConsultaSEFAZ")
        empresa = Organizacao.objects.create(nome="Empresa", slug="empresa")
        contador = Organizacao.objects.create(nome="Contador", slug="contador")
        bloqueio = timezone.now() + timedelta(minutes=30)
        atras = Cursor.objects.create(organizacao=empresa, documento=CNPJ, servico="nfe", ambiente=1, ult_nsu=40,
                                      max_nsu=120, lacunas=[7], bloqueado_ate=bloqueio)  # fmt: skip
        adiante = Cursor.objects.create(organizacao=contador, documento=CNPJ, servico="nfe", ambiente=1, ult_nsu=100,
                                        max_nsu=120)  # fmt: skip
        Cursor.objects.create(organizacao=empresa, documento=CNPJ, servico="cte", ambiente=1, ult_nsu=3, max_nsu=3)
        consulta = Consulta.objects.create(organizacao=empresa, cursor=atras, documento=CNPJ, servico="nfe",
                                           ambiente=1, tipo="distNSU")  # fmt: skip

        # when
        migrar(DEPOIS)

        # then: one cursor per (CNPJ, service, ambiente), at the furthest position, the NSUs the company never
        # got become gaps for consNSU, the block is kept, and the history points at the merged row
        assert CursorDistribuicao.objects.count() == 2
        nfe = CursorDistribuicao.objects.get(servico="nfe")
        assert (nfe.pk, nfe.ult_nsu, nfe.max_nsu, nfe.bloqueado_ate) == (adiante.pk, 100, 120, bloqueio)
        assert nfe.lacunas == [7, *range(41, 101)]
        assert todas_as_organizacoes(ConsultaSEFAZ).get(pk=consulta.pk).cursor_id == adiante.pk
        assert CursorDistribuicao.objects.get(servico="cte").ult_nsu == 3
    finally:
        CursorDistribuicao.objects.all().delete()  # the reverse adds a required column back
        MigrationExecutor(connection).migrate(ultimas)
