from django.contrib import admin
from django.urls import include, path
from django.views.i18n import set_language

from gemeenten.views import home
from gesprekken import views as gesprekken_views

from . import health, views

urlpatterns = [
    path("", home, name="home"),
    # The finder: the geography pages of gemeenten with the gesprekken there. Wired here
    # because they join two apps, and gemeenten may not import gesprekken.
    path("postcode/", gesprekken_views.postcode_search, name="postcode"),
    path("gemeente/<str:code>/", gesprekken_views.gemeente_detail, name="gemeente"),
    path("buurt/<str:code>/", gesprekken_views.buurt_detail, name="buurt"),
    path("", include("gesprekken.urls")),
    path("", include("gemeenten.urls")),
    path("werkruimte/", include("gesprekken.staff.urls")),
    path("werkruimte/", include("gesprekken.staff.running_urls")),
    path("i18n/setlang/", set_language, name="set_language"),
    path("accounts/", include("allauth.urls")),
    path("coordinatie/", include("facilitators.urls")),
    # Coverage dashboards under /dekking/, open data under /open-data/.
    path("", include("dekking.urls")),
    path("admin/", admin.site.urls),
    # For load balancers and monitoring: database, cache and broker (buurtgesprek/health.py).
    path("gezond/", health.health, name="health"),
    # Always routed, but the views answer 404 unless DEBUG (see buurtgesprek/views.py).
    path("dev/mail/", views.dev_mailbox, name="dev_mailbox"),
    path("dev/mail/<str:name>", views.dev_mail, name="dev_mail"),
]
