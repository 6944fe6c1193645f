"""Settings for fiscal, read strictly from the environment (django-environ).

With no environment at all the project runs on SQLite, a local-memory cache and e-mail written to
files, so `make run` and `make test` need nothing installed. Production and CI set DATABASE_URL and
CACHE_URL. Every variable is listed in `.env.example` and in README's "Configuração" tables, with its
default and meaning (tests/test_settings.py fails on a variable missing from either).
"""

import ipaddress
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# Development only: `make run` writes var/dev.env (the receivers-on-this-machine allowance, its port),
# so a command typed in another terminal with DEBUG=true (importar_xml, webhook_worker) runs as the
# server does. Outside DEBUG it is never read: a production machine with a stray copy ignores it.
# Precedence: the environment, then .env, then this file.
ENV_DE_DESENVOLVIMENTO = BASE_DIR / "var" / "dev.env"
if DEBUG and ENV_DE_DESENVOLVIMENTO.is_file():
    environ.Env.read_env(ENV_DE_DESENVOLVIMENTO, overwrite=False)

# Keys. Fail closed: outside DEBUG the process refuses to start without its own SECRET_KEY and
# FIELD_ENCRYPTION_KEY, so a lost or forgotten .env never runs production on keys anyone can read
# here. FISCAL_CHAVE_DE_DESENVOLVIMENTO (on with DEBUG) accepts the public development SECRET_KEY and
# lets core/cripto.py derive the encryption key from it; the test suite turns it on with DEBUG off
# (fiscal_app/settings_de_teste.py) and `check --deploy` refuses it (core/checks.py, fiscal.E002).
SECRET_KEY_DE_DESENVOLVIMENTO = "dev-only-insecure-key-change-me"
# Published here and in .env.example / README: never a production key.
SECRET_KEYS_PUBLICAS = frozenset({SECRET_KEY_DE_DESENVOLVIMENTO, "troque-por-um-valor-aleatorio-longo"})
SECRET_KEY = env.str("SECRET_KEY", default=SECRET_KEY_DE_DESENVOLVIMENTO)
# Encryption at rest (core/cripto.py): one Fernet key, or a comma-separated list (first encrypts,
# all decrypt: that is how a key is rotated). Its format is checked by the system check fiscal.E001.
FIELD_ENCRYPTION_KEY = env.str("FIELD_ENCRYPTION_KEY", default="")
FISCAL_CHAVE_DE_DESENVOLVIMENTO = env.bool("FISCAL_CHAVE_DE_DESENVOLVIMENTO", default=DEBUG)
if not FISCAL_CHAVE_DE_DESENVOLVIMENTO:
    _faltando = [
        *(["SECRET_KEY (ausente, ou uma das chaves públicas de exemplo)"] if SECRET_KEY in SECRET_KEYS_PUBLICAS else []),
        *(["FIELD_ENCRYPTION_KEY"] if not FIELD_ENCRYPTION_KEY.strip(" ,") else []),
    ]
    if _faltando:
        raise environ.ImproperlyConfigured(
            "Configuração de produção incompleta (DEBUG=false): defina " + " e ".join(_faltando) + ". "
            "SECRET_KEY: python3 -c \"import secrets; print(secrets.token_urlsafe(50))\"; FIELD_ENCRYPTION_KEY: "
            "python3 -c \"from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())\". "
            "Nenhuma chave pública é aceita em produção. Em desenvolvimento, use DEBUG=true (make run)."
        )
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
# Behind an HTTPS proxy Django sees plain http unless gunicorn trusts the proxy's X-Forwarded-Proto
# (FORWARDED_ALLOW_IPS in deploy/gunicorn.conf.py); otherwise list the public origin here
# ("https://fiscal.exemplo.com.br") or the admin's forms fail the CSRF origin check.
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Session and CSRF cookies only over HTTPS: turn on in production (the admin, and the API's session login).
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=False)
# HTTPS only: plain http is redirected (the proxy's X-Forwarded-Proto is believed from
# FORWARDED_ALLOW_IPS, deploy/gunicorn.conf.py), except the health check, which a load balancer calls
# over plain http. HSTS makes browsers refuse http for the site (and, included, its subdomains) for
# that many seconds; start small, since a browser keeps it even after the setting is turned off.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_REDIRECT_EXEMPT = [r"^saude/$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",  # only for its table, read by migration 0015; API keys are core.TokenDeAPI
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "core",
    "api",
]

MIDDLEWARE = [
    "core.middleware.APIRequestLoggingMiddleware",  # first: its time covers everything, 429s included
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.middleware.RateLimitMiddleware",  # after authentication: a session user is known
    "core.fuso_horario.FusoHorarioDoAdminMiddleware",  # after authentication: the organization's zone
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "fiscal_app.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "fiscal_app.wsgi.application"

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Django's backend with the bound-variable limit of the SQLite in use (fiscal_app/sqlite/base.py).
    DATABASES["default"]["ENGINE"] = "fiscal_app.sqlite"
    # WAL lets the dev server read while the import command writes; IMMEDIATE transactions take the
    # write lock up front, so concurrent importers wait (up to the timeout) instead of failing with
    # "database is locked" when a read-then-write transaction loses the race.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://fiscal")}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "pt-br"
FORMAT_MODULE_PATH = ["fiscal_app.formatos"]  # dates as 31/01/2026 23:30 (fiscal_app/formatos/pt_BR)
TIME_ZONE = env.str("TIME_ZONE", default="America/Sao_Paulo")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Where `collectstatic` gathers the static files and whitenoise serves them from, gzipped at collect
# time. No hashed names (manifest): pages render without a collectstatic first (development, tests).
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
if Path(STATIC_ROOT).is_dir():
    # Static files (admin CSS, Swagger UI) served by the app itself in production, no web server needed;
    # right after SecurityMiddleware, as whitenoise asks. whitenoise lists STATIC_ROOT once, at start-up,
    # so a process started before `collectstatic` would serve nothing from it anyway: without the folder
    # (development, tests) it is left out instead of warning on every request handler built.
    MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
                      "whitenoise.middleware.WhiteNoiseMiddleware")  # fmt: skip
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# E-mail: written to files by default; production sets the SMTP backend and server. Every send runs in
# the worker or the cron task (the e-mail queue), never in a request: EMAIL_TIMEOUT keeps a dead SMTP
# server from holding them for long (Django's own default is no timeout at all).
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = env.path("EMAIL_FILE_PATH", default=BASE_DIR / "var" / "emails")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="fiscal <nao-responda@fiscal.local>")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT", default=10.0)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise environ.ImproperlyConfigured("EMAIL_USE_TLS (STARTTLS, 587) and EMAIL_USE_SSL (465) exclude each other")
if EMAIL_TIMEOUT <= 0:
    raise environ.ImproperlyConfigured("EMAIL_TIMEOUT must be above 0 seconds")
# The e-mail queue (core/notifications/envio.py): seconds between attempts while the mail server fails;
# after the last one the e-mail is marked failed (the admin can queue it again).
EMAIL_RETRY_SCHEDULE = env.str("EMAIL_RETRY_SCHEDULE", default="60,300,1800,7200,21600")
if not all(parte.strip().isdigit() for parte in EMAIL_RETRY_SCHEDULE.split(",")):
    raise environ.ImproperlyConfigured("EMAIL_RETRY_SCHEDULE must be seconds separated by commas, e.g. 60,300,1800")
# E-mail notifications (core/notifications): an import that brings a recipient more items than this
# sends them one digest instead of one e-mail per document or error.
FISCAL_NOTIFICACOES_LIMITE_INDIVIDUAL = env.int("FISCAL_NOTIFICACOES_LIMITE_INDIVIDUAL", default=3)
if FISCAL_NOTIFICACOES_LIMITE_INDIVIDUAL < 0:
    raise environ.ImproperlyConfigured("FISCAL_NOTIFICACOES_LIMITE_INDIVIDUAL must be 0 or more")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.autenticacao.TokenComOrganizacao",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissoes.MembroDaOrganizacao"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.erros.tratar_excecao",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DATETIME_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": True,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "fiscal API",
    "DESCRIPTION": "Documentos fiscais eletrônicos (NF-e, NFC-e, CT-e, CT-e OS) da sua organização.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "StatusDeEntregaEnum": "core.models.webhooks.WebhookLog.Status",
        "StatusDeImportacaoEnum": "core.models.importacao.ImportLog.Status",
        "TipoDeConsultaEnum": "core.models.sefaz.ConsultaSEFAZ.Tipo",
        "TipoDeManifestacaoEnum": ["ciencia", "confirmacao", "desconhecimento", "nao_realizada"],
        # One name per choice set shared by several serializers: without them drf-spectacular invents
        # names (Situacao634Enum) and warns, which `check --deploy` reports (drf_spectacular.W001).
        "SituacaoEnum": "core.models.documentos.Situacao",
        "TipoDocumentoEnum": "core.models.documentos.TipoDocumento",
        "EstadoDeManifestacaoEnum": ["nenhuma", "ciencia", "confirmacao", "desconhecimento", "nao_realizada"],
    },
}

# Webhooks: outbound requests never reach private networks (SSRF guard) unless this is on, which
# development and tests with loopback receivers need. It also allows plain http.
WEBHOOK_ALLOW_PRIVATE_NETWORKS = env.bool("WEBHOOK_ALLOW_PRIVATE_NETWORKS", default=False)
# Seconds between delivery attempts (±10% jitter), about 3 days in all; operators and tests shorten it.
WEBHOOK_RETRY_SCHEDULE = env.str("WEBHOOK_RETRY_SCHEDULE", default="5,30,120,600,1800,3600,10800,21600,43200,86400,86400")
# How long a worker may hold a claimed delivery before another worker may take it back.
WEBHOOK_LEASE_SECONDS = env.int("WEBHOOK_LEASE_SECONDS", default=60)
# Deliver right after the commit, in a small pool of threads per process (the worker/cron picks up the rest).
WEBHOOK_ENTREGA_IMEDIATA = env.bool("WEBHOOK_ENTREGA_IMEDIATA", default=True)
# Threads of that pool, and how long a process that ends (a command, a recycled gunicorn worker, SIGTERM)
# waits for them before releasing what they claimed to the worker.
WEBHOOK_IMMEDIATE_THREADS = env.int("WEBHOOK_IMMEDIATE_THREADS", default=4)
WEBHOOK_SHUTDOWN_SECONDS = env.float("WEBHOOK_SHUTDOWN_SECONDS", default=10.0)
if WEBHOOK_IMMEDIATE_THREADS < 1 or WEBHOOK_SHUTDOWN_SECONDS < 0:
    raise environ.ImproperlyConfigured("WEBHOOK_IMMEDIATE_THREADS must be 1 or more, WEBHOOK_SHUTDOWN_SECONDS 0 or more")
# CA bundle HTTPS receivers are verified against, instead of certifi's (an internal CA, say).
WEBHOOK_CA_BUNDLE = env.str("WEBHOOK_CA_BUNDLE", default=None)

# SEFAZ (core/sefaz). Endpoints default to the official Ambiente Nacional URLs per ambiente; override
# them for homologation proxies and the local simulator (`manage.py sefaz_simulador`).
SEFAZ_NFE_DISTRIBUICAO_URL = env.str("SEFAZ_NFE_DISTRIBUICAO_URL", default="")
SEFAZ_CTE_DISTRIBUICAO_URL = env.str("SEFAZ_CTE_DISTRIBUICAO_URL", default="")
SEFAZ_NFE_EVENTO_URL = env.str("SEFAZ_NFE_EVENTO_URL", default="")
# CA bundle the SEFAZ servers are verified against (empty: certifi). Verification is never turned off.
SEFAZ_CA_BUNDLE = env.str("SEFAZ_CA_BUNDLE", default="")
SEFAZ_TIMEOUT_SEGUNDOS = env.float("SEFAZ_TIMEOUT_SEGUNDOS", default=30.0)
# Pause between the pages of one distNSU run, and the most pages a run takes (the next run continues).
SEFAZ_PAUSA_ENTRE_PAGINAS = env.float("SEFAZ_PAUSA_ENTRE_PAGINAS", default=1.0)
SEFAZ_MAX_PAGINAS = env.int("SEFAZ_MAX_PAGINAS", default=100)
# Pages a "consultar agora" API request fetches before answering (the scheduled run continues).
SEFAZ_PAGINAS_POR_REQUISICAO = env.int("SEFAZ_PAGINAS_POR_REQUISICAO", default=5)
# The scheduled task prazos_manifestacao warns this many days before an NF-e's manifestation deadline
# (180 days from its authorization, core/documentos/manifestacao_estado.py).
FISCAL_AVISO_PRAZO_MANIFESTACAO_DIAS = env.int("FISCAL_AVISO_PRAZO_MANIFESTACAO_DIAS", default=10)
if not 1 <= FISCAL_AVISO_PRAZO_MANIFESTACAO_DIAS <= 180:
    raise environ.ImproperlyConfigured("FISCAL_AVISO_PRAZO_MANIFESTACAO_DIAS must be between 1 and 180")

# A DANFE/DACTE takes ~0.1-1 s to render and never changes for a given XML: cache it this long.
FISCAL_PDF_CACHE_SEGUNDOS = env.int("FISCAL_PDF_CACHE_SEGUNDOS", default=24 * 3600)

# Public address of this installation: event payloads link to the API with it.
FISCAL_URL_PUBLICA = env.str("FISCAL_URL_PUBLICA", default="http://127.0.0.1:8000")

# The event feed (/api/eventos/) holds back events younger than this, so an event whose transaction
# committed a little after a later one is never skipped by a consumer's cursor.
FISCAL_EVENTOS_ATRASO_SEGUNDOS = env.int("FISCAL_EVENTOS_ATRASO_SEGUNDOS", default=5)

# Import limits (bytes and counts). A document larger than FISCAL_MAX_XML_BYTES is refused before
# parsing; ZIPs are bounded in entries, total uncompressed size and nesting so a ZIP bomb cannot
# exhaust memory or disk.
FISCAL_MAX_XML_BYTES = env.int("FISCAL_MAX_XML_BYTES", default=5 * 1024 * 1024)
FISCAL_MAX_ZIP_ENTRIES = env.int("FISCAL_MAX_ZIP_ENTRIES", default=10_000)
FISCAL_MAX_ZIP_TOTAL_BYTES = env.int("FISCAL_MAX_ZIP_TOTAL_BYTES", default=512 * 1024 * 1024)
FISCAL_MAX_ZIP_DEPTH = env.int("FISCAL_MAX_ZIP_DEPTH", default=2)
# Refused entries (too big, corrupt, unsafe name...) one upload reports one by one; the next one stops
# the upload with a single error that counts them, so a hostile ZIP leaves a bounded ImportLog.
FISCAL_MAX_ZIP_ERROS = env.int("FISCAL_MAX_ZIP_ERROS", default=100)
# Documents issued in homologation (tpAmb=2) have no fiscal value; refuse them unless asked.
FISCAL_ACEITAR_HOMOLOGACAO = env.bool("FISCAL_ACEITAR_HOMOLOGACAO", default=False)
# How many documents the import pipeline writes per transaction in bulk mode.
FISCAL_IMPORT_BATCH_SIZE = env.int("FISCAL_IMPORT_BATCH_SIZE", default=200)
# PEM files of certification authorities trusted besides the shipped ICP-Brasil ones
# (core/certificados/cadeia.py): a self-signed one is a root, the others intermediates. For tests and
# the demo's test CA; production leaves it empty.
FISCAL_CADEIA_CERTIFICADOS_EXTRAS = [
    p.strip() for p in env.list("FISCAL_CADEIA_CERTIFICADOS_EXTRAS", default=[]) if p.strip()
]

# Retention (days) of what `run_scheduled_tasks --task=limpeza_logs` deletes (core/tarefas/limpeza.py).
# Events stay at least 90 days: the event feed promises integrators that much (issue 4).
FISCAL_RETENCAO_WEBHOOKS_DIAS = env.int("FISCAL_RETENCAO_WEBHOOKS_DIAS", default=30)
FISCAL_RETENCAO_EVENTOS_DIAS = env.int("FISCAL_RETENCAO_EVENTOS_DIAS", default=90)
FISCAL_RETENCAO_IMPORTACOES_DIAS = env.int("FISCAL_RETENCAO_IMPORTACOES_DIAS", default=90)
FISCAL_RETENCAO_REQUISICOES_DIAS = env.int("FISCAL_RETENCAO_REQUISICOES_DIAS", default=30)
FISCAL_RETENCAO_CONSULTAS_SEFAZ_DIAS = env.int("FISCAL_RETENCAO_CONSULTAS_SEFAZ_DIAS", default=180)
FISCAL_RETENCAO_EXECUCOES_DIAS = env.int("FISCAL_RETENCAO_EXECUCOES_DIAS", default=180)
# Rows deleted per transaction (short locks, flat memory), and whether SQLite is VACUUMed afterwards.
FISCAL_LIMPEZA_LOTE = env.int("FISCAL_LIMPEZA_LOTE", default=5000)
FISCAL_LIMPEZA_VACUUM = env.bool("FISCAL_LIMPEZA_VACUUM", default=True)
if min(FISCAL_RETENCAO_WEBHOOKS_DIAS, FISCAL_RETENCAO_IMPORTACOES_DIAS, FISCAL_RETENCAO_REQUISICOES_DIAS,
       FISCAL_RETENCAO_CONSULTAS_SEFAZ_DIAS, FISCAL_RETENCAO_EXECUCOES_DIAS, FISCAL_LIMPEZA_LOTE) < 1:  # fmt: skip
    raise environ.ImproperlyConfigured("FISCAL_RETENCAO_*_DIAS and FISCAL_LIMPEZA_LOTE must be 1 or more")
if FISCAL_RETENCAO_EVENTOS_DIAS < 90:
    raise environ.ImproperlyConfigured("FISCAL_RETENCAO_EVENTOS_DIAS must be 90 or more (the event feed keeps 90 days)")

# API rate limit (core/middleware.py): requests per user (per IP when anonymous) per clock minute;
# Organizacao.limite_requisicoes_por_minuto overrides it. Counted in this cache alias (Redis in
# production, so every process shares one count). A process remembers a token's user, organization
# and limit for RATE_LIMIT_CACHE_SEGUNDOS (a new organization limit applies within that time).
RATE_LIMIT_PER_MINUTE = env.int("RATE_LIMIT_PER_MINUTE", default=100)
RATE_LIMIT_CACHE = env.str("RATE_LIMIT_CACHE", default="default")
RATE_LIMIT_CACHE_SEGUNDOS = env.int("RATE_LIMIT_CACHE_SEGUNDOS", default=60)
if RATE_LIMIT_PER_MINUTE < 1 or RATE_LIMIT_CACHE_SEGUNDOS < 0:
    raise environ.ImproperlyConfigured("RATE_LIMIT_PER_MINUTE must be 1 or more, RATE_LIMIT_CACHE_SEGUNDOS 0 or more")
if RATE_LIMIT_CACHE not in CACHES:
    raise environ.ImproperlyConfigured(f"RATE_LIMIT_CACHE={RATE_LIMIT_CACHE!r} is not a cache alias")
# Proxies (IPs or CIDRs) whose X-Forwarded-For is believed when they are REMOTE_ADDR; empty: none, the
# client IP is always REMOTE_ADDR. List only your own load balancers, or any client can pick its IP.
FISCAL_PROXIES_CONFIAVEIS = [p.strip() for p in env.list("FISCAL_PROXIES_CONFIAVEIS", default=[]) if p.strip()]
for _proxy in FISCAL_PROXIES_CONFIAVEIS:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise environ.ImproperlyConfigured(f"FISCAL_PROXIES_CONFIAVEIS: {_proxy!r} is not an IP or CIDR") from None
# API request log: rows are written by a background thread per process, in batches of this many rows
# or every so many seconds, whichever comes first (1: each row at once, in the request's thread).
# APIREQUESTLOG_ATIVO=false writes no rows (X-Response-Time is still sent).
APIREQUESTLOG_ATIVO = env.bool("APIREQUESTLOG_ATIVO", default=True)
APIREQUESTLOG_LOTE = env.int("APIREQUESTLOG_LOTE", default=1000)
APIREQUESTLOG_INTERVALO_SEGUNDOS = env.float("APIREQUESTLOG_INTERVALO_SEGUNDOS", default=2.0)
if APIREQUESTLOG_LOTE < 1 or APIREQUESTLOG_INTERVALO_SEGUNDOS <= 0:
    raise environ.ImproperlyConfigured("APIREQUESTLOG_LOTE must be 1 or more, APIREQUESTLOG_INTERVALO_SEGUNDOS above 0")
# Admin login throttling (core/login.py): after this many failed logins of one username (from any IP),
# or from one client IP (over any usernames), within a clock window of ADMIN_LOGIN_JANELA_SEGUNDOS,
# the login form refuses even the right password until the window ends. Counted as the API rate limit
# counts (core.limite.contadores): INCR when RATE_LIMIT_CACHE is Redis or memcached, else the database.
ADMIN_LOGIN_FALHAS_POR_CONTA = env.int("ADMIN_LOGIN_FALHAS_POR_CONTA", default=5)
ADMIN_LOGIN_FALHAS_POR_IP = env.int("ADMIN_LOGIN_FALHAS_POR_IP", default=20)
ADMIN_LOGIN_JANELA_SEGUNDOS = env.int("ADMIN_LOGIN_JANELA_SEGUNDOS", default=900)
if min(ADMIN_LOGIN_FALHAS_POR_CONTA, ADMIN_LOGIN_FALHAS_POR_IP) < 1 or ADMIN_LOGIN_JANELA_SEGUNDOS < 60:
    raise environ.ImproperlyConfigured(
        "ADMIN_LOGIN_FALHAS_POR_CONTA and ADMIN_LOGIN_FALHAS_POR_IP must be 1 or more, "
        "ADMIN_LOGIN_JANELA_SEGUNDOS 60 or more"
    )

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"simples": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "simples"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
