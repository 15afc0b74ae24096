from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class DashboardConfig(AppConfig):
    default = True
    name = "dashboard"
    verbose_name = "Dashboard"


class ShopAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with the service's site (dashboard/admin_site.py): branding, derived data grouped
    and read-only, links to the dashboard. Listed in INSTALLED_APPS in place of "django.contrib.admin"."""

    default = False
    default_site = "dashboard.admin_site.ShopAdminSite"
