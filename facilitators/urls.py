from django.urls import path

from gesprekken import incident_views

from . import views

app_name = "coordinatie"

urlpatterns = [
    path("", views.index, name="index"),
    path("begeleiders/<int:pk>/deactiveren/", views.deactivate, name="deactivate"),
    path("begeleider/<int:pk>/wissen/", views.erase, name="erase"),
    path("uitnodigen/", views.invite, name="invite"),
    path("uitnodigingen/", views.invitations, name="invitations"),
    path("uitnodigingen/<int:pk>/intrekken/", views.revoke, name="revoke"),
    # Incidents and the block list: the municipal coordinators of the gemeente only.
    path("incidenten/", incident_views.incident_list, name="incidents"),
    path("incidenten/<int:pk>/", incident_views.incident_detail, name="incident"),
    path("blokkades/", incident_views.block_list, name="blocks"),
    path("blokkades/<int:pk>/opheffen/", incident_views.lift_block, name="lift_block"),
    # The link in the invitation e-mail: public, opened by pk and secret token.
    path("uitnodiging/<int:pk>/<str:token>/", views.accept, name="accept"),
]
