from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Documentos fiscais"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from core import checks

        checks.registrar()
        post_migrate.connect(_atualizar_grupo_de_membros, sender=self)


def _atualizar_grupo_de_membros(sender, **kwargs):
    """After every migrate the members' group holds the permissions of the models that exist now,
    so an installation upgraded to a version with new models gives its members access at once."""
    from core.organizacoes import grupo_de_membros

    grupo_de_membros()
