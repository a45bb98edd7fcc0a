"""URLs for the admin tests: Django's admin site, nothing else."""

from django.contrib import admin
from django.urls import path

urlpatterns = [path("admin/", admin.site.urls)]
