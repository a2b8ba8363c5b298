"""The bare view's settings: no middleware, only the apps the models need, one URL."""

from bench.settings import *  # noqa: F403

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "gemeenten",
    "facilitators",
    "gesprekken",
]
MIDDLEWARE = []
ROOT_URLCONF = "bench.bare_urls"
