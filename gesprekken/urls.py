from django.urls import path

from . import effect_views, views

app_name = "gesprekken"

urlpatterns = [
    path("buurt/<str:code>/interesse/", views.interest, name="interest"),
    path("gesprek/<int:pk>/", views.gesprek_detail, name="detail"),
    path("gesprek/<int:pk>/aanmelden/", views.sign_up, name="sign_up"),
    path("gesprek/<int:pk>/aangemeld/", views.signed_up, name="signed_up"),
    path("aanmelding/link-kwijt/", views.resend, name="resend"),
    path("aanmelding/<int:pk>/<str:token>/", views.manage, name="manage"),
    path("aanmelding/<int:pk>/<str:token>/bevestig/", views.confirm, name="confirm"),
    path("aanmelding/<int:pk>/<str:token>/plek/", views.claim, name="claim"),
    path("aanmelding/<int:pk>/<str:token>/annuleer/", views.cancel, name="cancel"),
    path("aanmelding/<int:pk>/<str:token>/agenda.ics", views.ics, name="ics"),
    path("aanmelding/<int:pk>/<str:token>/taal/", views.change_language, name="language"),
    path(
        "aanmelding/<int:pk>/<str:token>/stellingen-wissen/",
        views.withdraw_stance,
        name="withdraw_stance",
    ),
    path("aanmelding/<int:pk>/<str:token>/gegevens.json", views.export_data, name="export"),
    path("aanmelding/<int:pk>/<str:token>/verwijder/", views.erase, name="erase"),
    path("aanmelding/verwijderd/", views.erased, name="erased"),
    path(
        "interesse/<int:pk>/<str:token>/bevestig/", views.interest_confirm, name="interest_confirm"
    ),
    path("privacy/", views.privacy, name="privacy"),
    path("peiling/<int:pk>/<str:key>/voor/", effect_views.before, name="effect_before"),
    path("peiling/<int:pk>/<str:key>/na/", effect_views.after, name="effect_after"),
]
