"""WSGI entry point (gunicorn: `gunicorn -c deploy/gunicorn.conf.py fiscal_app.wsgi`).

Fails closed: the settings refuse to load outside DEBUG without the keys, and gunicorn runs no system
checks, so the encryption keys' format (fiscal.E001) is checked here too. Either error stops the worker
from booting, and gunicorn exits non-zero ("Worker failed to boot") with the message in its log.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fiscal_app.settings")

application = get_wsgi_application()

from core.cripto import verificar_configuracao  # noqa: E402 (needs the apps loaded above)

verificar_configuracao()
