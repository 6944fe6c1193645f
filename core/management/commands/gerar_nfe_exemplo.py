"""python manage.py gerar_nfe_exemplo [--saida ARQUIVO]: a new signed NF-e to try the import with.

Writes the file and nothing else: it reads no database, so it runs anywhere the code is (a test's scratch
folder, a machine without the server). Every run makes a note with a new number and key, which imports
as `sucesso` the first time (INICIO_RAPIDO_INTEGRACOES.md, INTEGRACOES.md).
"""

from django.core.management.base import BaseCommand

from core.demo import NFE_EXEMPLO, gravar_nfe_exemplo


class Command(BaseCommand):
    help = "Grava uma NF-e de exemplo nova, assinada, ainda não importada (número e chave novos a cada vez)."
    requires_system_checks = []  # no database, no models: only a file is written

    def add_arguments(self, parser):
        parser.add_argument(
            "--saida", default=str(NFE_EXEMPLO),
            help=f"arquivo a gravar (padrão: {NFE_EXEMPLO}, a partir da pasta atual)",
        )  # fmt: skip

    def handle(self, *args, saida, **options):
        nota = gravar_nfe_exemplo(saida)
        self.stdout.write(f"NF-e nº {int(nota.chave[25:34])}, chave {nota.chave}, gravada em {saida}")
