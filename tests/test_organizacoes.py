import pytest
from django.core.management import CommandError, call_command

from core.models import Membro, Organizacao, TokenDeAPI
from core.tenancy import token_de_api


def test_criar_organizacao_prints_the_token_on_its_last_line(db, capsys):
    call_command("criar_organizacao", "Contabilidade Gama", "--usuario", "Ana@Gama.com.br", "--senha", "s3nha-boa-123")

    ultima_linha = capsys.readouterr().out.strip().splitlines()[-1]
    token = token_de_api(ultima_linha)
    assert ultima_linha.startswith("fsc_") and token.hash != ultima_linha
    assert token.usuario.username == "ana@gama.com.br"
    assert token.usuario.check_password("s3nha-boa-123")
    membro = Membro.objects.get(usuario=token.usuario)
    assert membro.organizacao.slug == "contabilidade-gama"
    assert membro.papel == Membro.Papel.ADMINISTRADOR


def test_member_can_view_documents_in_the_admin(db, capsys):
    call_command("criar_organizacao", "Delta", "--usuario", "a@delta.com.br", "--senha", "s3nha-boa-123")
    usuario = Membro.objects.get(organizacao__slug="delta").usuario

    assert usuario.is_staff
    assert usuario.has_perm("core.view_nfe") and usuario.has_perm("core.view_importlog")
    assert not usuario.has_perm("core.change_nfe")


def test_without_password_the_user_cannot_log_in(db, capsys):
    call_command("criar_organizacao", "Epsilon", "--usuario", "e@eps.com.br")
    assert not Membro.objects.get(organizacao__slug="epsilon").usuario.has_usable_password()


@pytest.mark.parametrize(
    "argumentos, mensagem",
    [
        (["Alfa", "--usuario", "outro@alfa.com.br"], "slug 'alfa'"),
        (["Nova", "--usuario", "dona@alfa.com.br"], "já existe"),
        (["Nova", "--usuario", "sem-arroba"], "e-mail inválido"),
        (["   ", "--usuario", "x@y.com"], "nome da organização"),
    ],
)
def test_it_refuses_bad_input_and_saves_nothing(db, argumentos, mensagem):
    call_command("criar_organizacao", "Alfa", "--usuario", "dona@alfa.com.br")
    antes = (Organizacao.objects.count(), TokenDeAPI._default_manager.count())

    with pytest.raises(CommandError, match=mensagem):
        call_command("criar_organizacao", *argumentos)

    assert (Organizacao.objects.count(), TokenDeAPI._default_manager.count()) == antes


@pytest.mark.django_db
def test_migrate_gives_the_members_group_the_permissions_of_every_model():
    from django.contrib.auth.models import Group, Permission
    from django.core.management import call_command

    from core.organizacoes import GRUPO_MEMBROS

    grupo, _ = Group.objects.get_or_create(name=GRUPO_MEMBROS)
    grupo.permissions.clear()  # an installation that predates the newer models

    call_command("migrate", verbosity=0)

    assert grupo.permissions.filter(codename="view_webhooklog").exists()
    assert Permission.objects.get(codename="view_certificadodigital") in grupo.permissions.all()
