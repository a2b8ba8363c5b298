from django.urls import path

from . import views

app_name = "gemeenten"

urlpatterns = [
    path("provincie/<str:code>/", views.provincie_detail, name="provincie"),
    path("wijk/<str:code>/", views.wijk_detail, name="wijk"),
]
