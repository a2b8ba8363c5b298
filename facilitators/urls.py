from django.urls import path

from . import views

app_name = "coordinatie"

urlpatterns = [
    path("", views.index, name="index"),
    path("begeleiders/<int:pk>/deactiveren/", views.deactivate, name="deactivate"),
    path("begeleider/<int:pk>/wissen/", views.erase, name="erase"),
    path("uitnodigen/", views.invite, name="invite"),
    path("uitnodigingen/", views.invitations, name="invitations"),
    path("uitnodigingen/<int:pk>/intrekken/", views.revoke, name="revoke"),
    # The link in the invitation e-mail: public, opened by pk and secret token.
    path("uitnodiging/<int:pk>/<str:token>/", views.accept, name="accept"),
]
