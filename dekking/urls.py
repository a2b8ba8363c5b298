from django.urls import path

from . import views

app_name = "dekking"

urlpatterns = [
    path("dekking/", views.national, name="national"),
    path("dekking/gemeente/", views.mine, name="mine"),
    path("dekking/gemeente/<str:code>/", views.gemeente, name="gemeente"),
    path("dekking/publiek/", views.public, name="public"),
    path("open-data/dekking.json", views.open_data_json, name="open_data_json"),
    path("open-data/dekking.csv", views.open_data_csv, name="open_data_csv"),
]
