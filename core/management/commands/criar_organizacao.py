from django.core.management.base import BaseCommand, CommandError

from core.organizacoes import OrganizacaoInvalida, criar_organizacao


class Command(BaseCommand):
    help = "Cria uma organização, seu primeiro usuário e um token de API (impresso na última linha)."

    def add_arguments(self, parser):
        parser.add_argument("nome", help='Nome da organização, ex.: "Contabilidade Exemplo"')
        parser.add_argument("--usuario", required=True, help="E-mail do primeiro usuário")
        parser.add_argument(
            "--senha",
            help="Senha para entrar no admin, aceita pelos validadores de senha do Django (sem ela, o acesso é só por token)",
        )
        parser.add_argument("--slug", help="Identificador da organização (padrão: derivado do nome)")

    def handle(self, *args, nome, usuario, senha, slug, **options):
        try:
            nova = criar_organizacao(nome=nome, email=usuario, senha=senha, slug=slug)
        except OrganizacaoInvalida as erro:
            raise CommandError(str(erro)) from None
        self.stdout.write(f"Organização: {nova.organizacao.nome} (slug: {nova.organizacao.slug})")
        self.stdout.write(f"Usuário: {nova.usuario.username}")
        self.stdout.write(nova.token)
