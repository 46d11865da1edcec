"""Marketing may add, edit and publish pages (and so lead form pages) under the home page, and use images.

Idempotent: re-running adds nothing twice. Employees get no page permissions.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

PAGE_PERMISSIONS = ("add_page", "change_page", "publish_page")
IMAGE_PERMISSIONS = ("add_image", "change_image", "choose_image")


def _ensure_permissions(apps, app_label):
    app_config = apps.get_app_config(app_label)
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None


def grant_marketing(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    GroupPagePermission = apps.get_model("wagtailcore", "GroupPagePermission")
    GroupCollectionPermission = apps.get_model("wagtailcore", "GroupCollectionPermission")
    Collection = apps.get_model("wagtailcore", "Collection")
    HomePage = apps.get_model("home", "HomePage")
    _ensure_permissions(apps, "wagtailcore")
    _ensure_permissions(apps, "wagtailimages")
    marketing, _created = Group.objects.get_or_create(name="Marketing")
    for home in HomePage.objects.all():
        for codename in PAGE_PERMISSIONS:
            permission = Permission.objects.get(content_type__app_label="wagtailcore", codename=codename)
            GroupPagePermission.objects.get_or_create(group=marketing, page_id=home.pk, permission=permission)
    root = Collection.objects.filter(depth=1).first()
    if root is not None:
        for codename in IMAGE_PERMISSIONS:
            permission = Permission.objects.get(content_type__app_label="wagtailimages", codename=codename)
            GroupCollectionPermission.objects.get_or_create(group=marketing, collection=root, permission=permission)


def revoke_marketing(apps, schema_editor):
    GroupPagePermission = apps.get_model("wagtailcore", "GroupPagePermission")
    GroupCollectionPermission = apps.get_model("wagtailcore", "GroupCollectionPermission")
    GroupPagePermission.objects.filter(group__name="Marketing", permission__codename__in=PAGE_PERMISSIONS).delete()
    GroupCollectionPermission.objects.filter(
        group__name="Marketing", permission__codename__in=IMAGE_PERMISSIONS
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("home", "0003_contentpage_homepage_body"),
        ("wagtailcore", "0098_apitoken"),
        ("wagtailimages", "0027_image_description"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(grant_marketing, revoke_marketing)]
