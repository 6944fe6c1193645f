"""Django system checks of fiscal's own configuration: `manage.py check`, and every command that runs
the checks (runserver, migrate, ...). gunicorn runs none, so fiscal_app/wsgi.py calls the same function.
"""

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from core.cripto import verificar_configuracao


def chaves_de_cifragem(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """fiscal.E001: FIELD_ENCRYPTION_KEY missing (outside development) or not a list of Fernet keys."""
    try:
        verificar_configuracao()
    except ImproperlyConfigured as erro:
        return [checks.Error(str(erro), id="fiscal.E001")]
    return []


def chaves_de_desenvolvimento(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """fiscal.E002 (check --deploy): the public development keys are accepted."""
    if not settings.FISCAL_CHAVE_DE_DESENVOLVIMENTO:
        return []
    return [
        checks.Error(
            "FISCAL_CHAVE_DE_DESENVOLVIMENTO está ligada (ou DEBUG=true): a SECRET_KEY pública de "
            "desenvolvimento é aceita e a chave que cifra os certificados pode ser derivada dela.",
            hint="Em produção: DEBUG=false, FISCAL_CHAVE_DE_DESENVOLVIMENTO=false, SECRET_KEY e "
            "FIELD_ENCRYPTION_KEY próprias.",
            id="fiscal.E002",
        )
    ]


def registrar() -> None:
    checks.register(chaves_de_cifragem)
    checks.register(chaves_de_desenvolvimento, checks.Tags.security, deploy=True)
