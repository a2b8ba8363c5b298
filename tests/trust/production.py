"""The settings a production deployment gets: settings.py evaluated with production env."""

import os
import runpy
import secrets
import subprocess
import sys
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[2]
HOST = "buurtgesprek.example"


def production_env() -> dict[str, str]:
    """What an operator sets (docs/operations.md); everything else keeps its default."""
    return {
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": HOST,
        "SITE_URL": f"https://{HOST}",
    }


def production_settings(**extra: str) -> dict:
    """The module-level names of buurtgesprek/settings.py under the production env."""
    env = {**production_env(), **extra}
    with mock.patch.dict(os.environ, env):
        return runpy.run_path(str(ROOT / "buurtgesprek" / "settings.py"))


def deploy_check(**extra: str) -> subprocess.CompletedProcess:
    """`manage.py check --deploy --fail-level WARNING` under the production env, as CI runs it."""
    env = {**os.environ, **production_env(), **extra}
    # Set in this process by the Playwright tests; never part of a deployment.
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
