"""python manage.py reprocessar_importacoes [--organizacao SLUG] [--status erro] [--desde AAAA-MM-DD] [--motivo TEXTO]"""

from argparse import ArgumentTypeError
from collections import Counter
from datetime import date
from itertools import groupby

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from core.documentos.reprocessamento import reprocessaveis, reprocessar_varios
from core.management.argumentos import organizacao_pelo_slug
from core.models import ImportLog, Organizacao
from core.tenancy import escopo

POR_VEZ = 100  # attempts loaded per query: the kept bytes are read one file at a time


class Command(BaseCommand):
    help = (
        "Roda a importação de novo sobre os arquivos guardados das importações (a última tentativa de cada "
        "arquivo que atende aos filtros); cada uma vira um novo log que aponta para a original."
    )

    def add_arguments(self, parser):
        parser.add_argument("--organizacao", metavar="SLUG", help="Só esta organização (padrão: todas)")
        parser.add_argument("--status", choices=ImportLog.Status.values, help="Só tentativas com este status")
        parser.add_argument("--desde", type=_data, metavar="AAAA-MM-DD", help="Só arquivos recebidos desde esta data")
        parser.add_argument("--motivo", default="", metavar="TEXTO", help="Só tentativas cuja mensagem contém TEXTO")
        parser.add_argument("--dry-run", action="store_true", help="Só contar, sem reprocessar")
        parser.add_argument("--sem-progresso", action="store_true", help="Não mostrar a barra de progresso")

    def handle(self, *args, organizacao, status, desde, motivo, dry_run, sem_progresso, **options):
        org = organizacao_pelo_slug(organizacao) if organizacao else None
        logs = reprocessaveis(organizacao=org, status=status, desde=desde, motivo=motivo)
        ids = list(logs.values_list("organizacao_id", "pk"))
        if dry_run:
            self.stdout.write(f"reprocessar_importacoes (simulação): {len(ids)} importação(ões) seriam reprocessadas.")
            return
        saida = self.stderr._out
        barra = tqdm(total=len(ids), unit="arq", disable=sem_progresso, file=saida)
        contagem = Counter()
        for organizacao_id, da_organizacao in groupby(ids, key=lambda par: par[0]):
            da_organizacao = [pk for _, pk in da_organizacao]
            organizacao_atual = Organizacao.objects.get(pk=organizacao_id)
            for feito in reprocessar_varios(organizacao_atual, _carregar(organizacao_atual, da_organizacao)):
                for linha in _contar(feito, contagem):
                    tqdm.write(linha, file=saida)
                barra.update(1)
        barra.close()
        self.stdout.write(_resumo(len(ids), contagem))
        if contagem["erro"] or contagem["sem_arquivo"]:
            raise CommandError(f"{contagem['erro'] + contagem['sem_arquivo']} arquivo(s) sem sucesso; veja as mensagens acima")


def _data(texto: str) -> date:
    try:
        return date.fromisoformat(texto)
    except ValueError:
        raise ArgumentTypeError(f"data inválida {texto!r}: use AAAA-MM-DD") from None


def _carregar(organizacao, ids: list[int]):
    """The attempts, loaded POR_VEZ at a time (their kept bytes one by one, when reprocessed)."""
    for inicio in range(0, len(ids), POR_VEZ):
        bloco = escopo(ImportLog, organizacao).filter(pk__in=ids[inicio : inicio + POR_VEZ])
        yield from bloco.select_related("organizacao", "reprocessado_de").order_by("pk")


def _contar(feito, contagem: Counter) -> list[str]:
    if feito.erro:
        contagem["sem_arquivo"] += 1
        return [f"SEM ARQUIVO {feito.log.arquivo}: {feito.erro}"]
    linhas = []
    for resultado in feito.resultados:
        contagem[resultado.status] += 1
        if resultado.status == ImportLog.Status.ERRO:
            linhas.append(f"ERRO {resultado.arquivo} (importação {feito.log.pk}): {resultado.mensagem}")
    return linhas


def _resumo(total: int, contagem: Counter) -> str:
    return (
        f"reprocessar_importacoes: {total} importação(ões) reprocessada(s): {contagem['sucesso']} sucesso, "
        f"{contagem['duplicado']} duplicado, {contagem['erro']} erro, {contagem['sem_arquivo']} sem arquivo guardado."
    )
