import pytest

from apps.audit.models import AuditEvent
from apps.clients.models import Client
from tests.factories import make_client

URL = "/api/v1/clients/"


def create(api, lang="zh-hans", **fields):
    body = {"name": "南京测试科技有限公司", "taxpayer_id": "91320118MA1X7GFL8Q", "taxpayer_kind": "general", **fields}
    return api.post(URL, body, format="json", HTTP_ACCEPT_LANGUAGE=lang)


@pytest.mark.django_db
def test_a_client_with_a_valid_credit_code_is_created_and_audited(api):
    response = create(api, taxpayer_id=" 91320118ma1x7gfl8q ")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["name"], body["taxpayer_id"], body["taxpayer_id_legacy"]) == (
        "南京测试科技有限公司",
        "91320118MA1X7GFL8Q",
        False,
    )
    assert body["filing_frequency"] == "monthly"
    event = AuditEvent.objects.get(action="client.created")
    assert event.after["taxpayer_id"] == "91320118MA1X7GFL8Q" and event.actor_label == "管理员甲"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "taxpayer_id, reason",
    [
        ("91320118MA1X7GFL8R", "校验码应为Q，实际为R"),
        ("91320118MA1X7GFL8I", "第18位含非法字符“I”"),
        ("9132011OMA1X7GFL8Q", "第8位含非法字符“O”"),
        ("91320118MA1X7GF", "第7–15位的组织机构代码校验位"),  # 15 characters: read as a legacy code, and wrong
        ("91320118MA1X7GFL", "实际为16位"),
        ("91320118MA1X7GFL8QQ", "实际为19位"),
    ],
)
def test_a_bad_identifier_is_refused_naming_the_field_and_the_reason(api, taxpayer_id, reason):
    response = create(api, taxpayer_id=taxpayer_id)
    assert response.status_code == 400
    errors = response.json()
    assert list(errors) == ["taxpayer_id"]
    assert reason in errors["taxpayer_id"][0]
    assert not Client.objects.exists() and not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_errors_come_in_english_on_request(api):
    response = create(api, lang="en", taxpayer_id="91320118MA1X7GFL8R", taxpayer_kind="nonsense", name="")
    assert response.status_code == 400
    errors = response.json()
    assert errors["taxpayer_id"] == ["Check character should be Q, got R"]
    assert errors["name"] == ["This field may not be blank."]
    assert "is not a valid choice" in errors["taxpayer_kind"][0]
    chinese = create(api, taxpayer_id="91320118MA1X7GFL8R", taxpayer_kind="nonsense", name="").json()
    assert chinese["name"] == ["该字段不能为空。"] and "不是合法选项" in chinese["taxpayer_kind"][0]


@pytest.mark.django_db
def test_a_legacy_identifier_is_accepted_and_marked_legacy(api):
    response = create(api, taxpayer_id="320118MA1X7GFL8")
    assert response.status_code == 201, response.json()
    assert response.json()["taxpayer_id_legacy"] is True
    assert Client.objects.get().taxpayer_id_legacy


@pytest.mark.django_db
def test_the_same_identifier_twice_is_refused_even_written_differently(api):
    assert create(api).status_code == 201
    response = create(api, taxpayer_id="９１３２０１１８ｍａ１ｘ７ｇｆｌ８ｑ")
    assert response.status_code == 400 and "已有客户使用该纳税人识别号" in response.json()["taxpayer_id"][0]
    assert Client.objects.count() == 1


@pytest.mark.django_db
def test_update_records_before_and_after(api):
    client_id = create(api).json()["id"]
    response = api.patch(f"{URL}{client_id}/", {"filing_frequency_override": "quarterly"}, format="json")
    assert response.status_code == 200 and response.json()["filing_frequency"] == "quarterly"
    event = AuditEvent.objects.get(action="client.updated")
    assert (event.before["filing_frequency"], event.after["filing_frequency"]) == ("monthly", "quarterly")


@pytest.mark.django_db
def test_list_filters_and_search(api, users):
    make_client(name="甲公司", taxpayer_kind="general", staff=users["owner"])
    make_client(name="乙公司", taxpayer_kind="small_scale", staff=users["colleague"])
    names = lambda **q: [c["name"] for c in api.get(URL, q).json()["results"]]  # noqa: E731
    assert names(taxpayer_kind="small_scale") == ["乙公司"]
    assert names(staff=users["owner"].pk) == ["甲公司"]
    assert names(search="乙") == ["乙公司"]
    taxpayer_id = Client.objects.get(name="甲公司").taxpayer_id
    assert names(search=taxpayer_id[-6:]) == ["甲公司"]


@pytest.mark.django_db
def test_anonymous_requests_are_refused(client):
    assert client.get(URL).status_code in (401, 403)
