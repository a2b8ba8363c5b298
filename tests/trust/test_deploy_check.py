"""`manage.py check --deploy` is clean with production settings (also a step in .ci/run)."""

from .production import deploy_check


def test_deploy_check_is_clean_with_production_settings():
    result = deploy_check(SECURE_SSL_REDIRECT="1")
    assert result.returncode == 0, result.stdout + result.stderr


def test_deploy_check_is_clean_without_setting_the_ssl_redirect_explicitly():
    # An https SITE_URL turns the redirect on by default.
    result = deploy_check()
    assert result.returncode == 0, result.stdout + result.stderr


def test_deploy_check_catches_an_insecure_setting():
    # The check itself must bite, or the two tests above prove nothing.
    result = deploy_check(SECURE_COOKIES="0")
    assert result.returncode != 0
    assert "security.W012" in result.stdout + result.stderr
