import pytest
from django.apps import apps
from django.contrib import admin


def test_every_model_of_ours_is_in_the_admin():
    ours = [m for m in apps.get_models() if m.__module__.startswith("apps.")]
    missing = [m._meta.label for m in ours if m not in admin.site._registry]
    assert ours and missing == []


@pytest.mark.django_db
def test_every_admin_list_and_search_page_renders(client, users):
    boss = users["admin"]
    boss.is_staff = boss.is_superuser = True
    boss.save()
    client.force_login(boss)
    for model in admin.site._registry:
        if model.__module__.startswith("apps."):
            url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
            assert client.get(url).status_code == 200, url
            assert client.get(url, {"q": "测试"}).status_code == 200, url
