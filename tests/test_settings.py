"""With no environment the project needs nothing installed; with it, it uses what it is given."""

import os
import subprocess
import sys
from pathlib import Path

RAIZ = Path(__file__).resolve().parent.parent


def _configuracao(ambiente: dict) -> list[str]:
    codigo = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE']); print(s.CACHES['default']['BACKEND']); print(s.EMAIL_BACKEND)"
    )
    limpo = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CACHE_URL", "EMAIL_BACKEND")}
    saida = subprocess.run(
        [sys.executable, "-c", codigo], cwd=RAIZ, env={**limpo, "DJANGO_SETTINGS_MODULE": "fiscal_app.settings", **ambiente},
        capture_output=True, text=True, check=True,
    )
    return saida.stdout.split()


def test_without_environment_it_uses_sqlite_local_memory_and_file_email():
    assert _configuracao({}) == [
        "django.db.backends.sqlite3",
        "django.core.cache.backends.locmem.LocMemCache",
        "django.core.mail.backends.filebased.EmailBackend",
    ]


def test_database_and_cache_urls_select_postgresql_and_redis():
    motor, cache, _ = _configuracao(
        {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/fiscal", "CACHE_URL": "redis://127.0.0.1:6379/1"}
    )
    assert motor == "django.db.backends.postgresql"
    assert cache == "django.core.cache.backends.redis.RedisCache"
