"""python manage.py reconstruir_agregados [--organizacao SLUG]: rebuild the rollups from the documents.

The triggers keep the rollups exact on their own (core.agregados); this is for a restore from a backup taken
without them, a change of settings.TIME_ZONE (the rollups' day), or to check them: `--conferir` only compares.
"""

from django.core.management.base import BaseCommand, CommandError

from core.agregados.manutencao import compactar, diferencas, reconstruir
from core.management.argumentos import organizacao_pelo_slug
from core.models import Organizacao


class Command(BaseCommand):
    help = "Reconstrói os agregados (totais por dia e por mês) a partir dos documentos guardados."

    def add_arguments(self, parser):
        parser.add_argument("--organizacao", help="slug da organização (padrão: todas)")
        parser.add_argument("--conferir", action="store_true", help="só compara agregados e documentos; sai com erro se diferirem")

    def handle(self, *args, organizacao=None, conferir=False, **options):
        organizacoes = [organizacao_pelo_slug(organizacao)] if organizacao else list(Organizacao.objects.order_by("id"))
        divergentes = 0
        for numero, org in enumerate(organizacoes, 1):
            prefixo = f"[{numero}/{len(organizacoes)}] {org.slug}"
            if conferir:
                erradas = diferencas(org.pk)
                divergentes += len(erradas)
                for tabela, chave in erradas[:20]:
                    self.stdout.write(f"{prefixo}: {tabela} difere dos documentos em {chave}")
                self.stdout.write(f"{prefixo}: {'confere' if not erradas else f'{len(erradas)} chave(s) diferem'}")
                continue
            linhas = reconstruir(org.pk)
            compactar(org.pk)
            self.stdout.write(f"{prefixo}: {linhas} linha(s) de agregados reconstruída(s)")
        if divergentes:
            raise CommandError(f"reconstruir_agregados: {divergentes} chave(s) diferem dos documentos; rode sem --conferir")
        feito = "conferida(s)" if conferir else "reconstruída(s)"
        self.stdout.write(f"reconstruir_agregados: {len(organizacoes)} organização(ões) {feito}.")
