"""Linli settings: read from environment variables only (every one is listed in .env.example)."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("LINLI_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("LINLI_DEBUG", False)


def _embedded_secret(name: str) -> str:
    """A secret generated once into var/ for the embedded mode (production sets it in the environment)."""
    import secrets

    path = VAR_DIR / name
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(secrets.token_urlsafe(50))
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        tmp.unlink(missing_ok=True)
    return path.read_text().strip()


# Production (PostgreSQL) without LINLI_SECRET_KEY is the system check error linli.E001.
SECRET_KEY = os.environ.get("LINLI_SECRET_KEY", "") or _embedded_secret("secret_key")
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("LINLI_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("LINLI_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.admin",
    "huey.contrib.djhuey",
    "ninja",  # serves Swagger UI from its own static files (no CDN)
    "linli.core",
    "linli.places",
    "linli.people",
    "linli.accounts",
    "linli.notify",
    "linli.tickets",
    "linli.devices",
    "linli.alerts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "linli.core.middleware.RequestContextMiddleware",
]

ROOT_URLCONF = "linli.urls"
WSGI_APPLICATION = "linli.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "linli" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "linli.core.context_processors.linli",
            ],
        },
    }
]

DATABASE_URL = os.environ.get("DATABASE_URL", "") or f"sqlite:///{VAR_DIR / 'linli.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the web process read while the task consumer writes.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("LINLI_TEST_SQLITE", "") or None}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "linli" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i"
SHORT_DATE_FORMAT = "Y-m-d"
FORMAT_MODULE_PATH = ["linli.core.formats"]

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise serves from it after collectstatic; finders serve before
STATICFILES_DIRS = [BASE_DIR / "linli" / "static"]
MEDIA_ROOT = Path(os.environ.get("LINLI_MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if env_bool("LINLI_COMPRESS_STATIC", False)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = True
DATA_UPLOAD_MAX_MEMORY_SIZE = 50 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
LINLI_IMPORT_MAX_BYTES = int(os.environ.get("LINLI_IMPORT_MAX_BYTES", str(40 * 1024 * 1024)))

# Field encryption keys: comma-separated "id:base64key" entries; the first encrypts, all decrypt (rotation).
LINLI_FIELD_KEYS = os.environ.get("LINLI_FIELD_KEYS", "")
# Key for the keyed look-up hashes of ID numbers and phones; must never change once data exists.
LINLI_LOOKUP_KEY = os.environ.get("LINLI_LOOKUP_KEY", "")

# Task queue: Redis when LINLI_REDIS_URL is set, otherwise SQLite next to the database.
LINLI_REDIS_URL = os.environ.get("LINLI_REDIS_URL", "")
HUEY_IMMEDIATE = env_bool("LINLI_HUEY_IMMEDIATE", False)
if LINLI_REDIS_URL:
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": os.environ.get("LINLI_QUEUE_NAME", "linli"),
        "url": LINLI_REDIS_URL,
        "immediate": HUEY_IMMEDIATE,
        "results": False,
        "consumer": {"workers": int(os.environ.get("LINLI_WORKERS", "2")), "worker_type": "thread"},
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": os.environ.get("LINLI_QUEUE_NAME", "linli"),
        "filename": str(VAR_DIR / "queue.sqlite3"),
        "immediate": HUEY_IMMEDIATE,
        "results": False,
        "consumer": {"workers": int(os.environ.get("LINLI_WORKERS", "2")), "worker_type": "thread"},
    }

LINLI_MQTT_URL = os.environ.get("LINLI_MQTT_URL", "")
# linli ingest over MQTT (linli.devices.mqtt): the shared-subscription group, this process's client id (stable, so a
# restarted process resumes its persistent session), the topic prefixes and the session expiry in seconds.
LINLI_MQTT_GROUP = os.environ.get("LINLI_MQTT_GROUP", "linli-ingest")
LINLI_MQTT_CLIENT_ID = os.environ.get("LINLI_MQTT_CLIENT_ID", "")
LINLI_MQTT_TOPIC_PREFIX = os.environ.get("LINLI_MQTT_TOPIC_PREFIX", "linli")
LINLI_MQTT_FRIGATE_PREFIX = os.environ.get("LINLI_MQTT_FRIGATE_PREFIX", "frigate")
LINLI_MQTT_SESSION_EXPIRY = int(os.environ.get("LINLI_MQTT_SESSION_EXPIRY", "86400"))
# "queue" (the default): the pipeline (presence, alert rules) runs on each stored batch in a task of the worker;
# "inline": linli ingest runs it itself right after the commit (no queue hop, but it shares the ingest process's
# CPU). See docs/domain/devices.md and bench/README.md.
LINLI_INGEST_AFTER_STORE = os.environ.get("LINLI_INGEST_AFTER_STORE", "queue")
# Notifications (linli.notify): delivery retries, fallback channels, SMS, WeCom and e-mail. See docs/domain/notify.md.
LINLI_NOTIFY_MAX_ATTEMPTS = int(os.environ.get("LINLI_NOTIFY_MAX_ATTEMPTS", "5"))
LINLI_NOTIFY_RETRY_BASE_SECONDS = float(os.environ.get("LINLI_NOTIFY_RETRY_BASE_SECONDS", "30"))
LINLI_NOTIFY_RETRY_MAX_SECONDS = float(os.environ.get("LINLI_NOTIFY_RETRY_MAX_SECONDS", "3600"))
LINLI_NOTIFY_RETRY_JITTER = float(os.environ.get("LINLI_NOTIFY_RETRY_JITTER", "0.2"))
LINLI_NOTIFY_LEASE_SECONDS = int(os.environ.get("LINLI_NOTIFY_LEASE_SECONDS", "120"))
LINLI_NOTIFY_FALLBACK = os.environ.get("LINLI_NOTIFY_FALLBACK", "sms:inapp,wecom:sms,email:inapp")
LINLI_SMS_PROVIDER = os.environ.get("LINLI_SMS_PROVIDER", "log")
LINLI_SMS_LOG_FILE = os.environ.get("LINLI_SMS_LOG_FILE", "") or str(VAR_DIR / "sms.log")
LINLI_SMS_SIGN_NAME = os.environ.get("LINLI_SMS_SIGN_NAME", "邻里")
LINLI_SMS_TEMPLATE_CODES = os.environ.get("LINLI_SMS_TEMPLATE_CODES", "")
LINLI_SMS_TIMEOUT = float(os.environ.get("LINLI_SMS_TIMEOUT", "10"))
LINLI_SMS_ALIYUN_ACCESS_KEY_ID = os.environ.get("LINLI_SMS_ALIYUN_ACCESS_KEY_ID", "")
LINLI_SMS_ALIYUN_ACCESS_KEY_SECRET = os.environ.get("LINLI_SMS_ALIYUN_ACCESS_KEY_SECRET", "")
LINLI_SMS_ALIYUN_ENDPOINT = os.environ.get("LINLI_SMS_ALIYUN_ENDPOINT", "dysmsapi.aliyuncs.com")
LINLI_SMS_ALIYUN_PROTOCOL = os.environ.get("LINLI_SMS_ALIYUN_PROTOCOL", "https")
LINLI_SMS_TENCENT_SECRET_ID = os.environ.get("LINLI_SMS_TENCENT_SECRET_ID", "")
LINLI_SMS_TENCENT_SECRET_KEY = os.environ.get("LINLI_SMS_TENCENT_SECRET_KEY", "")
LINLI_SMS_TENCENT_APP_ID = os.environ.get("LINLI_SMS_TENCENT_APP_ID", "")
LINLI_SMS_TENCENT_REGION = os.environ.get("LINLI_SMS_TENCENT_REGION", "ap-guangzhou")
LINLI_SMS_TENCENT_ENDPOINT = os.environ.get("LINLI_SMS_TENCENT_ENDPOINT", "sms.tencentcloudapi.com")
LINLI_SMS_TENCENT_PROTOCOL = os.environ.get("LINLI_SMS_TENCENT_PROTOCOL", "https")
LINLI_WECOM_WEBHOOK_URL = os.environ.get("LINLI_WECOM_WEBHOOK_URL", "")
LINLI_WECOM_MSGTYPE = os.environ.get("LINLI_WECOM_MSGTYPE", "text")
LINLI_WECOM_TIMEOUT = float(os.environ.get("LINLI_WECOM_TIMEOUT", "5"))
if os.environ.get("LINLI_EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = os.environ["LINLI_EMAIL_HOST"]
    EMAIL_PORT = int(os.environ.get("LINLI_EMAIL_PORT", "25"))
    EMAIL_HOST_USER = os.environ.get("LINLI_EMAIL_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("LINLI_EMAIL_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("LINLI_EMAIL_USE_TLS", False)
    EMAIL_USE_SSL = env_bool("LINLI_EMAIL_USE_SSL", False)
    EMAIL_TIMEOUT = int(os.environ.get("LINLI_EMAIL_TIMEOUT", "10"))
else:
    # Offline by default: each e-mail is written as a file under var/mail.
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")
DEFAULT_FROM_EMAIL = os.environ.get("LINLI_EMAIL_FROM", "linli@localhost")
LINLI_EMAIL_MSGID_DOMAIN = os.environ.get("LINLI_EMAIL_MSGID_DOMAIN", "linli.local")
LINLI_MAP_TILES = os.environ.get("LINLI_MAP_TILES", "")
# Tickets (linli.tickets). See docs/domain/tickets.md.
LINLI_TICKET_AUTO_CLOSE_DAYS = int(os.environ.get("LINLI_TICKET_AUTO_CLOSE_DAYS", "7"))
LINLI_TICKET_ESCALATE_AFTER_MINUTES = int(os.environ.get("LINLI_TICKET_ESCALATE_AFTER_MINUTES", "60"))
LINLI_TICKET_RETURN_VISIT_DAYS = int(os.environ.get("LINLI_TICKET_RETURN_VISIT_DAYS", "3"))
LINLI_TICKET_PHOTO_MAX_BYTES = int(os.environ.get("LINLI_TICKET_PHOTO_MAX_BYTES", str(10 * 1024 * 1024)))
LINLI_TICKET_KPI_TARGETS = os.environ.get(
    "LINLI_TICKET_KPI_TARGETS", "on_time_rate=1.0,complaint_handling_rate=1.0,satisfaction_rate=0.95")

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("LINLI_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LINLI_LOG_LEVEL", "INFO")},
    "loggers": {"huey": {"level": "WARNING"}},
}
