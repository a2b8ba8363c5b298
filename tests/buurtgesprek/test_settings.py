from django.conf import settings


def test_dutch_is_the_default_language_and_english_is_available():
    assert settings.LANGUAGE_CODE == "nl"
    assert [code for code, _ in settings.LANGUAGES] == ["nl", "en"]
    assert settings.TIME_ZONE == "Europe/Amsterdam"


def test_cache_is_the_database_so_redis_stays_out_of_the_request_path():
    assert settings.CACHES["default"]["BACKEND"].endswith("DatabaseCache")
