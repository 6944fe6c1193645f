"""python manage.py recifrar_segredos [--dry-run] [--sem-progresso]"""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from core.recifragem import linhas_com_segredos, recifrar_segredos


class Command(BaseCommand):
    help = (
        "Recifra com a chave atual (a primeira de FIELD_ENCRYPTION_KEY) todos os segredos guardados: "
        "certificados A1 e suas senhas, segredos de webhook. Passo do meio da rotação de chave: coloque a "
        "chave nova primeiro, mantenha as antigas depois dela, rode este comando e só então remova as "
        "antigas. Pode ser repetido: o que já está na chave atual fica como está."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Só conta o que seria recifrado")
        parser.add_argument("--sem-progresso", action="store_true", help="Não mostrar a barra de progresso")

    def handle(self, *args, dry_run, sem_progresso, **options):
        barra = tqdm(total=linhas_com_segredos(), unit="linha", disable=sem_progresso, file=self.stderr._out)
        resumo = recifrar_segredos(dry_run=dry_run, ao_avancar=barra.update)
        barra.close()
        for onde in resumo.ilegiveis:
            self.stderr.write(f"ILEGÍVEL {onde}: nenhuma chave de FIELD_ENCRYPTION_KEY abre este valor")
        self.stdout.write(("simulação: " if dry_run else "") + str(resumo))
        if resumo.ilegiveis:
            raise CommandError(
                f"{len(resumo.ilegiveis)} valor(es) ilegível(is): recoloque a chave antiga em FIELD_ENCRYPTION_KEY "
                "e rode de novo"
            )
