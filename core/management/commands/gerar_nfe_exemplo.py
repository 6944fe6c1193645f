"""python manage.py gerar_nfe_exemplo [--saida ARQUIVO | --quantidade N --saida PASTA]: new signed NF-e
to try the import with.

Writes files and nothing else: it reads no database, so it runs anywhere the code is (a test's scratch
folder, a machine without the server). Every note has a new number and key, which imports as `sucesso`
the first time (INICIO_RAPIDO_INTEGRACOES.md, INTEGRACOES.md). With --quantidade, N notes in one process
(exemplos/README.md fills a watched folder with them).
"""

import time

from django.core.management.base import BaseCommand, CommandError

from core.demo import NFE_EXEMPLO, NUMEROS_DE_EXEMPLO, gravar_nfe_exemplo, gravar_nfes_exemplo

PASTA_PADRAO = NFE_EXEMPLO.parent / "lote"
PROGRESSO_SEGUNDOS = 2.0


class Command(BaseCommand):
    help = "Grava NF-e de exemplo novas, assinadas, ainda não importadas (número e chave novos a cada vez)."
    requires_system_checks = []  # no database, no models: only files are written

    def add_arguments(self, parser):
        parser.add_argument(
            "--saida",
            help=f"arquivo a gravar (padrão: {NFE_EXEMPLO}); com --quantidade, a pasta (padrão: {PASTA_PADRAO}). "
            "Relativos à pasta atual.",
        )
        parser.add_argument(
            "--quantidade", type=int,
            help="quantas notas gravar, cada uma em <chave>.xml dentro da pasta --saida",
        )  # fmt: skip

    def handle(self, *args, saida=None, quantidade=None, **options):
        if quantidade is None:
            saida = saida or str(NFE_EXEMPLO)
            nota = gravar_nfe_exemplo(saida)
            self.stdout.write(f"NF-e nº {int(nota.chave[25:34])}, chave {nota.chave}, gravada em {saida}")
            return
        if not 1 <= quantidade <= len(NUMEROS_DE_EXEMPLO):
            raise CommandError(f"--quantidade deve estar entre 1 e {len(NUMEROS_DE_EXEMPLO)}.")
        self.gravar_lote(saida or str(PASTA_PADRAO), quantidade)

    def gravar_lote(self, pasta: str, quantidade: int) -> None:
        inicio = time.monotonic()
        aviso = inicio + PROGRESSO_SEGUNDOS
        for gravadas, _ in enumerate(gravar_nfes_exemplo(pasta, quantidade), start=1):
            if time.monotonic() >= aviso and gravadas < quantidade:
                self.stdout.write(f"{gravadas}/{quantidade} NF-e gravadas...")
                aviso = time.monotonic() + PROGRESSO_SEGUNDOS
        segundos = time.monotonic() - inicio
        self.stdout.write(f"{quantidade} NF-e de exemplo gravadas em {pasta} ({segundos:.1f} s)")
