from django.urls import path

from .. import incident_views
from . import views

app_name = "werkruimte"

urlpatterns = [
    path("", views.home, name="home"),
    path("plannen/", views.plan, name="plan"),
    path("vraag/", views.demand, name="demand"),
    path("gesprek/<int:pk>/", views.gesprek, name="gesprek"),
    path("gesprek/<int:pk>/lijst/", views.day_list, name="day_list"),
    path("gesprek/<int:pk>/wijzigen/", views.edit, name="edit"),
    path("gesprek/<int:pk>/afgelasten/", views.cancel, name="cancel"),
    path("gesprek/<int:pk>/publiceren/", views.publish, name="publish"),
    path("gesprek/<int:pk>/incident/", incident_views.record, name="incident"),
]
