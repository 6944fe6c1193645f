"""python manage.py carregar_demo: the demo organization, its user and token, and a few documents.

Idempotent: run it again and the same organization and token come back (the demo's key is derived from
SECRET_KEY, `core.tokens.chave_da_demo`, since a stored token's key cannot be shown again) and the documents already
loaded are skipped as duplicates (keys are deterministic within a month; their dates move with the day,
and a changed document under a stored key would be a conflict, so it is never sent again). It also writes a new example NF-e, not imported,
for trying the import by hand (the same file as `manage.py gerar_nfe_exemplo`). The token is the last
line printed: `make -s demo | tail -1`.
"""

from collections import Counter

from django.core.management.base import BaseCommand

from core.demo import DEMO_EMAIL, DEMO_SENHA, DEMO_SLUG, NFE_EXEMPLO, documentos_demo, gravar_nfe_exemplo
from core.documentos.importacao import Entrada, importar
from core.models import CTe, EventoDocumento, Membro, NFe, Origem, OutroDocumento, TokenDeAPI
from core.organizacoes import criar_organizacao
from core.tenancy import escopo
from core.tokens import chave_da_demo, criar_token, hash_da_chave


def chaves_guardadas(organizacao) -> set[str]:
    """Keys the demo organization already holds (documents, or events awaiting their document)."""
    chaves: set[str] = set()
    for modelo in (NFe, CTe, OutroDocumento, EventoDocumento):
        chaves.update(escopo(modelo, organizacao).values_list("chave", flat=True))
    return chaves


def garantir_token_da_demo(organizacao, usuario) -> str:
    """The demo's key, its token issued again if missing and made usable again if revoked or expired:
    `make run` must hand out a key that works."""
    chave = chave_da_demo()
    tokens = escopo(TokenDeAPI, organizacao).filter(hash=hash_da_chave(chave))
    if not tokens.update(revogado_em=None, expira_em=None):
        criar_token(organizacao=organizacao, usuario=usuario, nome="Token inicial", chave=chave)
    return chave


class Command(BaseCommand):
    help = "Cria (ou reaproveita) a organização demo e carrega documentos de exemplo."

    def add_arguments(self, parser):
        parser.add_argument(
            "--nfe-exemplo", default=str(NFE_EXEMPLO),
            help=f"onde gravar a NF-e de exemplo, ainda não importada (padrão: {NFE_EXEMPLO})",
        )  # fmt: skip

    def handle(self, *args, nfe_exemplo, **options):
        membro = Membro.objects.select_related("usuario", "organizacao").filter(organizacao__slug=DEMO_SLUG).first()
        if membro is None:
            nova = criar_organizacao(
                nome="Empresa Demo", email=DEMO_EMAIL, senha=DEMO_SENHA, slug=DEMO_SLUG, chave_do_token=chave_da_demo()
            )
            organizacao, usuario = nova.organizacao, nova.usuario
        else:
            organizacao, usuario = membro.organizacao, membro.usuario
        chave = garantir_token_da_demo(organizacao, usuario)

        guardadas = chaves_guardadas(organizacao)
        documentos = documentos_demo()
        entradas = [Entrada(nome, xml) for nome, xml in documentos if nome[:44] not in guardadas]
        contagem = Counter(r.status for r in importar(organizacao=organizacao, entradas=entradas, origem=Origem.UPLOAD))
        contagem["duplicado"] += len(documentos) - len(entradas)

        self.stdout.write(
            f"Documentos demo: {contagem['sucesso']} importados, {contagem['duplicado']} já existiam, "
            f"{contagem['erro']} com erro"
        )
        self.stdout.write(f"Organização: {organizacao.nome} (slug: {organizacao.slug})")
        self.stdout.write(f"Admin: http://127.0.0.1:8000/admin/  usuário: {usuario.username}  senha: {DEMO_SENHA}")
        gravar_nfe_exemplo(nfe_exemplo)
        self.stdout.write(
            f"NF-e de exemplo, ainda não importada: {nfe_exemplo} (uma nova a cada `manage.py gerar_nfe_exemplo`)"
        )
        self.stdout.write("API: Authorization: Token <token abaixo>")
        self.stdout.write(chave)
