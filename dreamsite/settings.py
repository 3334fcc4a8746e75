"""Settings for Dreamsite, read from environment variables.

Every default gives the embedded mode (DESIGN.md, "Two ways to run"): a SQLite file, a local
media folder, in-process workers, the in-memory channel layer and console email. Production
switches each piece by setting the variables listed in the README's settings table; no code
path differs between the two except the process layout.
"""

import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import django_stubs_ext
import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from pythonjsonlogger.core import RESERVED_ATTRS

# Generic admin, forms and querysets (ModelAdmin[Dream]) at run time, as mypy checks them.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A .env file beside manage.py is optional; the real environment wins over it.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)
_EMBEDDED_SECRET_KEY = "embedded-default-insecure-key-set-SECRET_KEY-in-production"
SECRET_KEY = env("SECRET_KEY", default=_EMBEDDED_SECRET_KEY if DEBUG else "")
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
if not DEBUG:
    # A public site must not start on the embedded defaults: say which variable is missing.
    if not SECRET_KEY or SECRET_KEY == _EMBEDDED_SECRET_KEY:
        raise ImproperlyConfigured("DEBUG is off: set SECRET_KEY to a long random string.")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured(
            "DEBUG is off: set ALLOWED_HOSTS to the site's host names (comma-separated)."
        )

INSTALLED_APPS = [
    # daphne first: its runserver serves the ASGI app (pages and websockets).
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # Before staticfiles, so runserver serves static files the way production does.
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "allauth",
    "allauth.account",
    "channels",
    "csp",
    "django_prometheus",
    # django_dramatiq sets up the broker before any app defines an actor.
    "django_dramatiq",
    "accounts",
    "jobs",
    "characters",
    "dreams",
    "history",
    "films",
    "generation",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "dreamsite.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    # Last, so that daphne runs the stack in one thread (see its docstring).
    "dreamsite.middleware.SynchronousStackMiddleware",
]

ROOT_URLCONF = "dreamsite.urls"
WSGI_APPLICATION = "dreamsite.wsgi.application"
ASGI_APPLICATION = "dreamsite.asgi.application"

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

# --- Database -------------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
# Seconds a connection is reused; 0 closes it after each request and each job, so a restarted
# PostgreSQL costs at most one failed (and retried) job. Checked for health before reuse.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.int(
        "DB_CONNECT_TIMEOUT_SECONDS", default=5
    )
    # Under ASGI each request's sync code runs on a fresh thread, so without a pool every
    # page opens a new PostgreSQL connection (Django's docs, "Persistent connections": use
    # the backend's pool under ASGI). With CONN_HEALTH_CHECKS Django has the pool check a
    # connection before lending it, so a restarted PostgreSQL fails no request. 0: no pool.
    DB_POOL_MAX_SIZE = env.int("DB_POOL_MAX_SIZE", default=0 if DEBUG else 10)
    if DB_POOL_MAX_SIZE:
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"]["OPTIONS"]["pool"] = {
            "min_size": 1,
            "max_size": DB_POOL_MAX_SIZE,
            "timeout": env.float("DB_POOL_TIMEOUT_SECONDS", default=10.0),
        }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets pages read while a worker thread writes progress; IMMEDIATE transactions take
    # the write lock up front, so two racing uploads serialise instead of failing midway.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Tests use a file too, so threads and processes share it as they do in production.
    DATABASES["default"]["TEST"] = {
        "NAME": env("TEST_SQLITE_PATH", default=str(BASE_DIR / "var" / "test.sqlite3")),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (allauth's rate limits, model status) --------------------------------------------
# With several web processes this must be shared (redis://...), or each counts on its own.
CACHES = {
    "default": env.cache("CACHE_URL", default="locmemcache://dreamsite"),
    # Rendered history cards, per process: a card's key holds everything on it that can change,
    # so no process can serve a stale one and none needs to share them.
    "fragments": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "dreamsite-fragments",
        "TIMEOUT": 24 * 3600,
        "OPTIONS": {"MAX_ENTRIES": 10_000},
    },
}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # Without it, every request under daphne opened a new Redis connection (see the class).
    CACHES["default"].setdefault("OPTIONS", {})["pool_class"] = (
        "dreamsite.redis_pool.ProcessWideConnectionPool"
    )
    # Sessions are read from the shared Redis and written through to the database: a signed-in
    # page's session costs no SQL query, and a Redis restart signs nobody out. Only with a
    # shared cache: a per-process one would keep serving a session another process ended.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# --- Accounts -------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
SITE_ID = 1
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
# Optional on a single machine; mandatory once DEBUG is off (a public site).
ACCOUNT_EMAIL_VERIFICATION = env(
    "ACCOUNT_EMAIL_VERIFICATION", default="optional" if DEBUG else "mandatory"
)
# allauth's default ACCOUNT_RATE_LIMITS stay on (login failures, signup, reset mails); they
# count in the cache above.
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
LOGIN_REDIRECT_URL = "history:list"
LOGIN_URL = "account_login"

# EMAIL_URL, e.g. smtp+tls://user:password@smtp.example.com:587 (django-environ's forms), or
# EMAIL_BACKEND alone; the embedded mode prints mails on the console. A public site must really
# send them (verification is mandatory there).
if env("EMAIL_URL", default=""):
    globals().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = env(
        "EMAIL_BACKEND",
        default="django.core.mail.backends.console.EmailBackend" if DEBUG else "",
    )
    if not EMAIL_BACKEND:
        raise ImproperlyConfigured(
            "DEBUG is off: set EMAIL_URL (e.g. smtp+tls://user:password@host:587) so that "
            "verification and password-reset mails are sent."
        )
SERVER_EMAIL = env("SERVER_EMAIL", default="root@localhost")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Dreamsite <noreply@localhost>")

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="UTC")
# English only: without the translation machinery every url tag and date skips a
# context-local language lookup (a fifth of the history page's rendering time).
USE_I18N = False
USE_TZ = True

# --- Static and media files -----------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Where collectstatic gathers the hashed files WhiteNoise serves; the embedded mode serves
# straight from the source folders and needs none.
STATIC_ROOT = env("STATIC_ROOT", default="" if DEBUG else str(BASE_DIR / "var" / "static")) or None
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
# Media is never served from a public URL: views check the owner first (dreams.files).
MEDIA_URL = "/media-not-public/"
# "local" keeps media under MEDIA_ROOT; "s3" puts it in a private bucket (django-storages).
STORAGE_BACKEND = env("STORAGE_BACKEND", default="local")
AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME", default="")
AWS_S3_REGION_NAME = env("AWS_S3_REGION_NAME", default="us-east-1")
# For S3-compatible servers (MinIO, moto in the tests); empty means AWS itself.
AWS_S3_ENDPOINT_URL = env("AWS_S3_ENDPOINT_URL", default="")
# Lifetime of the presigned URLs that media views redirect to, in seconds.
MEDIA_URL_EXPIRE_SECONDS = env.int("MEDIA_URL_EXPIRE_SECONDS", default=300)
if STORAGE_BACKEND == "s3":
    _MEDIA_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "region_name": AWS_S3_REGION_NAME,
            "endpoint_url": AWS_S3_ENDPOINT_URL or None,
            "addressing_style": "path" if AWS_S3_ENDPOINT_URL else None,
            "signature_version": "s3v4",
            # Private objects, presigned short-lived URLs, never an overwrite.
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": MEDIA_URL_EXPIRE_SECONDS,
            "file_overwrite": False,
        },
    }
elif STORAGE_BACKEND == "local":
    _MEDIA_STORAGE = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
else:
    raise ValueError("STORAGE_BACKEND must be 'local' or 's3'.")
STORAGES = {
    "default": _MEDIA_STORAGE,
    # Production serves compressed files under hashed names (WhiteNoise, cached forever); this
    # needs `manage.py collectstatic`. The embedded mode serves the source files as they are.
    "staticfiles": {
        "BACKEND": env(
            "STATICFILES_BACKEND",
            default="django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage",
        )
    },
}
# Uploads above this many bytes go to a temporary file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# --- Jobs (Dramatiq) ------------------------------------------------------------------------
DRAMATIQ_BROKER_URL = env("DRAMATIQ_BROKER_URL", default="")
_DRAMATIQ_MIDDLEWARE = [
    "dramatiq.middleware.AgeLimit",
    "dramatiq.middleware.TimeLimit",
    "dramatiq.middleware.Callbacks",
    "dramatiq.middleware.Retries",
    "dramatiq.middleware.CurrentMessage",
    "django_dramatiq.middleware.DbConnectionsMiddleware",
    "jobs.middleware.RemoveOrphanWorkFolders",
    "jobs.middleware.PublishGpuStatus",
]
if DRAMATIQ_BROKER_URL.startswith("redis"):
    DRAMATIQ_BROKER = {
        "BROKER": "dramatiq.brokers.redis.RedisBroker",
        "OPTIONS": {
            "url": DRAMATIQ_BROKER_URL,
            # A worker silent this long (ms) is presumed dead and its unacked messages go
            # back on the queue (Dramatiq's at-least-once delivery).
            "heartbeat_timeout": env.int("DRAMATIQ_HEARTBEAT_TIMEOUT_MS", default=60_000),
            # Per million broker commands, how many also look for such dead workers. Dramatiq's
            # 1,000 left a killed worker's prefetched messages waiting minutes (an idle worker
            # sends about one command a second per queue) while other workers sat idle; the
            # look is two sorted-set reads when no worker died.
            "maintenance_chance": env.int("DRAMATIQ_MAINTENANCE_CHANCE", default=100_000),
        },
        "MIDDLEWARE": _DRAMATIQ_MIDDLEWARE,
    }
elif DRAMATIQ_BROKER_URL.startswith("amqp"):
    DRAMATIQ_BROKER = {
        "BROKER": "dramatiq.brokers.rabbitmq.RabbitmqBroker",
        "OPTIONS": {"url": DRAMATIQ_BROKER_URL},
        "MIDDLEWARE": _DRAMATIQ_MIDDLEWARE,
    }
else:
    # Embedded: messages stay in this process and workers run inside the web server.
    DRAMATIQ_BROKER = {
        "BROKER": "dramatiq.brokers.stub.StubBroker",
        "OPTIONS": {},
        "MIDDLEWARE": _DRAMATIQ_MIDDLEWARE,
    }
EMBEDDED_WORKERS = env.bool("EMBEDDED_WORKERS", default=not DRAMATIQ_BROKER_URL)
EMBEDDED_WORKER_THREADS = env.int("EMBEDDED_WORKER_THREADS", default=2)

# --- Live progress (Channels) ---------------------------------------------------------------
CHANNEL_LAYER_URL = env("CHANNEL_LAYER_URL", default="")
if CHANNEL_LAYER_URL:
    CHANNEL_LAYERS = {
        "default": {
            # Redis pub/sub, told of a lost connection (see dreamsite/channel_layers.py);
            # "channels_redis.core.RedisChannelLayer" keeps messages through a short loss but
            # is slower in bursts (bench/websocket_fanout.py compares them).
            "BACKEND": env(
                "CHANNEL_LAYER_BACKEND",
                default="dreamsite.channel_layers.ResyncingPubSubChannelLayer",
            ),
            "CONFIG": {
                # redis-py 8 reads with a 5 s socket timeout by default, as long as the layer's
                # blocking pop waits, so busy pages lost their socket every few seconds
                # (django/channels_redis#422): give reads more than the 5 s pop.
                "hosts": [{"address": CHANNEL_LAYER_URL, "socket_timeout": 15}],
                # RedisChannelLayer only: messages waiting per web process (all its sockets
                # share one Redis list): beyond it channels-redis drops events, saying so only
                # at INFO. The stock 100 is small for one process holding thousands of pages.
                "capacity": env.int("CHANNEL_LAYER_CAPACITY", default=10_000),
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "dreamsite.channel_layers.ThreadSafeInMemoryChannelLayer",
            # As above: the stock 100 waiting messages per channel drop a film's events (its
            # scenes report each whole percent) whenever a page reads slower than they come.
            "CONFIG": {"capacity": env.int("CHANNEL_LAYER_CAPACITY", default=10_000)},
        }
    }

# --- Stalled jobs (manage.py sweep_jobs) ----------------------------------------------------
# A running local render that reports no progress for this many seconds lost its worker.
SWEEP_RENDER_STALL_SECONDS = env.int("SWEEP_RENDER_STALL_SECONDS", default=180)
# A running cloud job with no poll or start attempt for this long lost its message; more than
# the longest poll interval and busy backoff (5 minutes).
SWEEP_CLOUD_STALL_SECONDS = env.int("SWEEP_CLOUD_STALL_SECONDS", default=600)
# A queued job untouched this long is sent again (its message may have been lost with the
# broker); a second copy is harmless, only one worker can claim the job.
SWEEP_QUEUED_SECONDS = env.int("SWEEP_QUEUED_SECONDS", default=900)
# Attempts a local render gets before a vanished worker fails it for good.
SWEEP_MAX_ATTEMPTS = env.int("SWEEP_MAX_ATTEMPTS", default=3)
SWEEP_INTERVAL_SECONDS = env.int("SWEEP_INTERVAL_SECONDS", default=60)
# Where job attempts keep their temporary files (copies of photos, partial videos). Each
# folder names its process; those of processes that died are removed by workers on start and
# by every sweep (jobs.workdirs).
JOB_WORK_DIR = env("JOB_WORK_DIR", default=str(Path(tempfile.gettempdir()) / "dreamsite-jobs"))

# --- Generation -----------------------------------------------------------------------------
# Clip backends offered to users (dreams and film scenes), in the order the form lists them. A
# cloud backend is offered only once its output S3 URI is set and the model status check can
# reach its model. DREAM_BACKENDS is the old name, still read for one release.
CLIP_BACKENDS = env.list(
    "CLIP_BACKENDS",
    default=env.list(
        "DREAM_BACKENDS",
        default=["animatic", "nova-reel", "luma-ray2", "wan-flf2v", "ltx-video"],
    ),
)
# Fonts for captions (and subtitles), in order of preference: each line is set in the first
# that covers all its characters (a path, "#n" for the n-th face of a collection). Debian's
# Noto packages, installed by the Makefile; missing files are skipped, and with none installed
# Pillow's built-in Latin font is used.
CAPTION_FONTS = env.list(
    "CAPTION_FONTS",
    default=[
        "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
        "/usr/share/fonts/truetype/noto/NotoSansArabic-Regular.ttf",
        "/usr/share/fonts/truetype/noto/NotoSansHebrew-Regular.ttf",
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc#0",
        "/usr/share/fonts/truetype/noto/NotoSansDevanagari-Regular.ttf",
        "/usr/share/fonts/truetype/noto/NotoSansThai-Regular.ttf",
        "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf",
    ],
)
# Every clip backend this site knows: name -> dotted path of its class, imported only when used
# (a web process never imports a renderer's heavy libraries).
CLIP_BACKEND_CLASSES = {
    "animatic": "generation.animatic.AnimaticBackend",
    "nova-reel": "generation.nova_reel.NovaReelBackend",
    "luma-ray2": "generation.luma_ray2.LumaRay2Backend",
    "wan-flf2v": "generation.gpu.backends.WanBackend",
    "ltx-video": "generation.gpu.backends.LtxBackend",
}

# Amazon Bedrock. Credentials come from boto3's usual chain (environment, profile, role).
NOVA_REEL_MODEL_ID = env("NOVA_REEL_MODEL_ID", default="amazon.nova-reel-v1:1")
NOVA_REEL_REGION = env("NOVA_REEL_REGION", default="us-east-1")
NOVA_REEL_OUTPUT_S3_URI = env("NOVA_REEL_OUTPUT_S3_URI", default="")
NOVA_REEL_USD_PER_SECOND = env("NOVA_REEL_USD_PER_SECOND", default="0.08")
LUMA_RAY2_MODEL_ID = env("LUMA_RAY2_MODEL_ID", default="luma.ray-v2:0")
LUMA_RAY2_REGION = env("LUMA_RAY2_REGION", default="us-west-2")
LUMA_RAY2_OUTPUT_S3_URI = env("LUMA_RAY2_OUTPUT_S3_URI", default="")
LUMA_RAY2_RESOLUTION = env("LUMA_RAY2_RESOLUTION", default="720p")
LUMA_RAY2_USD_PER_SECOND = env("LUMA_RAY2_USD_PER_SECOND", default="1.50")
BEDROCK_ENDPOINT_URL = env("BEDROCK_ENDPOINT_URL", default="")
BEDROCK_CONTROL_ENDPOINT_URL = env("BEDROCK_CONTROL_ENDPOINT_URL", default="")
AWS_CONNECT_TIMEOUT_SECONDS = env.float("AWS_CONNECT_TIMEOUT_SECONDS", default=5.0)
AWS_READ_TIMEOUT_SECONDS = env.float("AWS_READ_TIMEOUT_SECONDS", default=30.0)
# Seconds between status polls of one invocation: the list is used in order, then its last
# value repeats.
BEDROCK_POLL_SECONDS = env.list("BEDROCK_POLL_SECONDS", cast=float, default=[10.0, 10.0, 15.0])
# First wait after the provider answers "busy" (throttling, quota), in seconds; it doubles on
# each further busy answer, up to 5 minutes.
BEDROCK_BUSY_RETRY_SECONDS = env.float("BEDROCK_BUSY_RETRY_SECONDS", default=5.0)
# Script writers offered on the new-film form and to `manage.py write_script`, in order:
# "template" (offline, always works), "claude" and "nova" (language models on Bedrock's Converse
# API, offered once BEDROCK_WRITER_REGION is set; IAM action bedrock:InvokeModel and model
# access for the model ids below). Prices are USD per 1,000 tokens: check the Bedrock pricing
# page for your region.
SCRIPT_WRITERS = env.list("SCRIPT_WRITERS", default=["template", "claude", "nova"])
BEDROCK_WRITER_REGION = env("BEDROCK_WRITER_REGION", default="")
CLAUDE_WRITER_MODEL_ID = env(
    "CLAUDE_WRITER_MODEL_ID", default="us.anthropic.claude-haiku-4-5-20251001-v1:0"
)
CLAUDE_WRITER_USD_PER_1K_INPUT = env("CLAUDE_WRITER_USD_PER_1K_INPUT", default="0.001")
CLAUDE_WRITER_USD_PER_1K_OUTPUT = env("CLAUDE_WRITER_USD_PER_1K_OUTPUT", default="0.005")
NOVA_WRITER_MODEL_ID = env("NOVA_WRITER_MODEL_ID", default="us.amazon.nova-2-lite-v1:0")
NOVA_WRITER_USD_PER_1K_INPUT = env("NOVA_WRITER_USD_PER_1K_INPUT", default="0.0003")
NOVA_WRITER_USD_PER_1K_OUTPUT = env("NOVA_WRITER_USD_PER_1K_OUTPUT", default="0.0025")
# How long a model status check is trusted before the next one, in seconds.
MODEL_STATUS_TTL_SECONDS = env.int("MODEL_STATUS_TTL_SECONDS", default=600)
# Each user's spending limit on paid backends per day (TIME_ZONE's day), in USD.
DAILY_BUDGET_USD = env("DAILY_BUDGET_USD", default="10.00")
# x264 preset for the animatic. "superfast" renders a 6 s clip about 3.5x faster than realtime
# on two cores (bench/render_animatic.py) at ~1.4 MB; "veryfast" halves the file but falls
# under 3x realtime there.
ANIMATIC_X264_PRESET = env("ANIMATIC_X264_PRESET", default="superfast")
# The General MIDI sound font FluidSynth plays a film's music with (Debian's fluid-soundfont-gm).
FILM_SOUND_FONT = env("FILM_SOUND_FONT", default="/usr/share/sounds/sf2/FluidR3_GM.sf2")

# The local GPU pipeline (docs/gpu.md): diffusers models in local folders (save_pretrained's
# layout), rendered by a worker serving the `gpu` queue. A model with no folder is not offered.
WAN_WEIGHTS = env("WAN_WEIGHTS", default="")
WAN_SIZE = env("WAN_SIZE", default="832x480")
LTX_WEIGHTS = env("LTX_WEIGHTS", default="")
LTX_SIZE = env("LTX_SIZE", default="1024x576")
# "cuda" (the worker's GPU, chosen by CUDA_VISIBLE_DEVICES), "cuda:N", or "cpu" (tests only).
GPU_DEVICE = env("GPU_DEVICE", default="cuda")
# "quality" (the model's own steps and guidance) or "draft" (fewer steps, for previews). Both
# need the same GPU memory: about 10 GiB for Wan 1.3B at 832x480x81 in bf16 (docs/gpu.md),
# about 25 GiB more for Wan 14B's weights.
GPU_PRESET = env("GPU_PRESET", default="quality")
# Denoising steps for every GPU clip, overriding the preset's (0: the preset's).
GPU_STEPS = env.int("GPU_STEPS", default=0)
# The GPU keyframe model (docs/gpu.md, "Keyframes"): a FLUX.2 [klein] pipeline folder; a dream
# on a local GPU backend can then open on a keyframe it draws from the photos and the prompt.
KEYFRAME_WEIGHTS = env("KEYFRAME_WEIGHTS", default="")
# Its denoising steps (0: the model's own, 4 for the distilled model, 50 for Base).
KEYFRAME_STEPS = env.int("KEYFRAME_STEPS", default=0)
# Seconds between a gpu worker's reports of what it can render; a report lasts three of them,
# so a worker that died stops being counted on within three minutes.
GPU_STATUS_SECONDS = env.int("GPU_STATUS_SECONDS", default=60)
# Pipelines a gpu worker keeps loaded between clips, at most (least recently used let go
# first), and the share of the GPU's memory their weights may take together: the rest is for
# a clip's activations and decoding. On an 80 GB H100, LTX-Video and FLUX.2 [klein] 4B (about
# 14 and 16 GB in bf16) stay loaded together; Wan 14B (about 40 GB) is kept alone.
GPU_WARM_PIPELINES = env.int("GPU_WARM_PIPELINES", default=2)
GPU_WARM_MEMORY_SHARE = env.float("GPU_WARM_MEMORY_SHARE", default=0.5)
# Speed-ups applied when a pipeline loads (docs/gpu.md, "Speed"). The attention kernel: "auto"
# (FlashAttention-3 on a Hopper GPU, else FlashAttention-2, where installed and the model takes
# no attention mask; else PyTorch's own) or a diffusers backend name; never a "*_hub" one,
# which downloads code.
GPU_ATTENTION = env("GPU_ATTENTION", default="auto")
# First-block cache threshold: a step whose first transformer block changed its output by
# less than this (relative mean) reuses the last step's other blocks. 0 (the default) turns it
# off: its effect on quality is not yet measured on real weights (docs/gpu.md).
GPU_FIRST_BLOCK_CACHE = env.float("GPU_FIRST_BLOCK_CACHE", default=0.0)
# Regional torch.compile of the transformer's repeated blocks, on a GPU (the first clip after
# a worker starts compiles for about a minute).
GPU_COMPILE = env.bool("GPU_COMPILE", default=True)
# FP8 matmuls (torchao's dynamic float8, per row) in the transformer blocks' linear layers:
# "auto" where the GPU has FP8 tensor cores (compute capability 8.9+: Ada, Hopper) and
# torchao is installed, "on" to insist, "off". Off until measured on an H100 (docs/gpu.md).
GPU_FP8 = env("GPU_FP8", default="off")
# The operator's price of one GPU-second in USD (0: free), for quotes, budgets and spend, and
# the seconds one denoising step takes on their card (estimates; the defaults: an H100, Wan
# 14B at 480p and LTX-Video at 768x512x121).
GPU_USD_PER_SECOND = env("GPU_USD_PER_SECOND", default="0")
WAN_SECONDS_PER_STEP = env.float("WAN_SECONDS_PER_STEP", default=6.75)
LTX_SECONDS_PER_STEP = env.float("LTX_SECONDS_PER_STEP", default=0.175)
# Seconds one step of the keyframe model takes, for estimates: FLUX.2 [klein] 4B draws a
# 1024x1024 image in 4 steps in about a second on an RTX 4090 (BFL: "sub-second generation on
# consumer GPUs"); up to three reference photos lengthen each step, hence 0.5.
KEYFRAME_SECONDS_PER_STEP = env.float("KEYFRAME_SECONDS_PER_STEP", default=0.5)

# --- Production defaults (DEBUG off) --------------------------------------------------------
# TLS ends at the proxy, which must set X-Forwarded-Proto (and drop a client's own).
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
# Prometheus scrapes each process over plain HTTP on the private network (/health/ is
# answered before any redirect, dreamsite.health).
SECURE_REDIRECT_EXEMPT = [r"^metrics$"]


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# Media links redirect to presigned S3 URLs, so the player and images load from the bucket.
if STORAGE_BACKEND == "s3":
    _MEDIA_ORIGINS = [
        _origin(AWS_S3_ENDPOINT_URL) if AWS_S3_ENDPOINT_URL else "https://*.amazonaws.com"
    ]
else:
    _MEDIA_ORIGINS = []
# Content security policy (django-csp), the same in both modes so tests see what users get:
# no inline script or style anywhere in the portal.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", *_MEDIA_ORIGINS],
        "media-src": [SELF, *_MEDIA_ORIGINS],
        # 'self' covers the page's own ws:// and wss:// origin (CSP level 3).
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- Observability --------------------------------------------------------------------------
# /metrics (Prometheus) answers only with "Authorization: Bearer <METRICS_TOKEN>" when set;
# otherwise keep it off the public proxy.
METRICS_TOKEN = env("METRICS_TOKEN", default="")
# "json": one JSON object per line, with the job id on every line of a job; "plain" for people.
LOG_FORMAT = env("LOG_FORMAT", default="plain" if DEBUG else "json")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"job": {"()": "lib.logs.JobContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(job)s%(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            # "job" is the plain format's prefix; JSON has the ids as fields already.
            "reserved_attrs": [*RESERVED_ATTRS, "job"],
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["job"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "dramatiq": {"level": "WARNING"},
        # daphne's runserver attaches its own handler for request lines; one copy is enough.
        "django.channels.server": {"handlers": ["console"], "propagate": False},
    },
}
