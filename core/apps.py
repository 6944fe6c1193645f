from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Documentos fiscais"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from core.notifications import receptores

        receptores.conectar()
