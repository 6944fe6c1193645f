"""Issue an API token from the shell (the API's POST /api/tokens/ and the admin do the same)."""

from argparse import ArgumentTypeError
from datetime import datetime, time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.erros import EntradaInvalida
from core.management.argumentos import organizacao_pelo_slug
from core.tokens import criar_token


class Command(BaseCommand):
    help = (
        "Cria um token de API para um membro da organização e imprime a chave na última linha (ela não é "
        "guardada: é a única vez que aparece)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--organizacao", required=True, metavar="SLUG", help="Slug da organização")
        parser.add_argument("--usuario", required=True, metavar="E-MAIL", help="O membro em nome de quem o token age")
        parser.add_argument("--nome", required=True, help='Para que serve o token, ex.: "ERP"')
        parser.add_argument(
            "--expira-em", metavar="AAAA-MM-DD", type=_data, help="Último dia de validade (fim do dia, no fuso do sistema)"
        )

    def handle(self, *args, organizacao, usuario, nome, expira_em, **options):
        organizacao = organizacao_pelo_slug(organizacao)
        pessoa = get_user_model().objects.filter(username__iexact=usuario).first() or (
            get_user_model().objects.filter(email__iexact=usuario).first()
        )
        if pessoa is None:
            raise CommandError(f"usuário {usuario!r} não encontrado")
        try:
            novo = criar_token(organizacao=organizacao, usuario=pessoa, nome=nome, expira_em=expira_em)
        except EntradaInvalida as erro:
            raise CommandError(f"--{erro.campo.replace('_', '-')}: {erro}") from None
        validade = f", válido até {timezone.localtime(novo.token.expira_em):%d/%m/%Y %H:%M}" if expira_em else ""
        self.stdout.write(f"Token {novo.token.nome!r} ({novo.token.prefixo}…) de {pessoa.username}{validade}")
        self.stdout.write(novo.chave)


def _data(texto: str) -> datetime:
    try:
        dia = datetime.strptime(texto, "%Y-%m-%d").date()
    except ValueError:
        raise ArgumentTypeError(f"data inválida {texto!r} (use AAAA-MM-DD)") from None
    return timezone.make_aware(datetime.combine(dia, time.max))
