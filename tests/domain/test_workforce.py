from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from crowdloop import workforce
from crowdloop.clock import ManualClock
from crowdloop.errors import AlreadyExists, Conflict, InUse, InvalidInput, LimitExceeded, NotFound
from crowdloop.runtime import Caller, Services
from crowdloop.store.tables import workteam_groups

CALLER = Caller("123456789012", "us-east-1")
OIDC = {
    "ClientId": "client",
    "ClientSecret": "s3cret",
    "Issuer": "https://idp.example.org",
    "AuthorizationEndpoint": "https://idp.example.org/auth",
    "TokenEndpoint": "https://idp.example.org/token",
    "UserInfoEndpoint": "https://idp.example.org/userinfo",
    "LogoutEndpoint": "https://idp.example.org/logout",
    "JwksUri": "https://idp.example.org/jwks",
}
COGNITO = {"UserPool": "us-east-1_abc", "ClientId": "app"}


def _oidc(*groups: str) -> list[dict[str, Any]]:
    return [{"OidcMemberDefinition": {"Groups": list(groups)}}]


def _cognito(group: str, pool: str = "us-east-1_abc", client: str = "app") -> dict[str, Any]:
    return {"CognitoMemberDefinition": {"UserPool": pool, "UserGroup": group, "ClientId": client}}


def _groups(services: Services, team_id: int) -> set[str]:
    with services.store.read() as conn:
        return set(
            conn.execute(
                sa.select(workteam_groups.c.group_name).where(workteam_groups.c.workteam_id == team_id)
            ).scalars()
        )


# --- workforces -----------------------------------------------------------------------------------------


def test_default_workforce_exists_from_the_start(services: Services) -> None:
    page = workforce.list_workforces(services, CALLER)
    assert [wf.name for wf in page.items] == ["default"]
    assert page.items[0].arn == "arn:aws:sagemaker:us-east-1:123456789012:workforce/default"
    assert page.items[0].status == "Active" and page.items[0].config == {}
    assert workforce.describe_workforce(services, CALLER, "default") == page.items[0]
    assert workforce.list_workforces(services, CALLER).items == page.items  # created once
    other = workforce.list_workforces(services, Caller("123456789012", "eu-west-1")).items
    assert other[0].arn == "arn:aws:sagemaker:eu-west-1:123456789012:workforce/default"


def test_second_workforce_is_refused(services: Services) -> None:
    with pytest.raises(LimitExceeded, match="one workforce per region"):
        workforce.create_workforce(services, CALLER, "mine", oidc_config=OIDC)


def test_unknown_workforce_message(services: Services) -> None:
    with pytest.raises(NotFound, match="No workforce found with name nope") as caught:
        workforce.describe_workforce(services, CALLER, "nope")
    assert caught.value.kind == "workforce"


def test_replace_the_default_workforce(services: Services) -> None:
    workforce.delete_workforce(services, CALLER, "default")
    assert workforce.list_workforces(services, CALLER).items == []  # it does not come back by itself
    with pytest.raises(NotFound):
        workforce.describe_workforce(services, CALLER, "default")
    with pytest.raises(InvalidInput, match="exactly one of CognitoConfig and OidcConfig"):
        workforce.create_workforce(services, CALLER, "mine")
    with pytest.raises(InvalidInput, match="exactly one"):
        workforce.create_workforce(services, CALLER, "mine", oidc_config=OIDC, cognito_config=COGNITO)
    created = workforce.create_workforce(
        services, CALLER, "mine", oidc_config=OIDC, source_ip_config={"Cidrs": ["10.0.0.0/16"]}
    )
    assert created.config["OidcConfig"] == OIDC
    assert created.config["SourceIpConfig"] == {"Cidrs": ["10.0.0.0/16"]}
    assert [wf.name for wf in workforce.list_workforces(services, CALLER).items] == ["mine"]
    workforce.delete_workforce(services, CALLER, "mine")
    revived = workforce.create_workforce(services, CALLER, "default", cognito_config=COGNITO)
    assert revived.config == {"CognitoConfig": COGNITO}


def test_create_workteam_recreates_a_deleted_default_workforce(services: Services) -> None:
    workforce.delete_workforce(services, CALLER, "default")
    team = workforce.create_workteam(services, CALLER, "team", description="d", member_definitions=_oidc("g"))
    assert team.workforce_arn.endswith(":workforce/default")
    assert [wf.name for wf in workforce.list_workforces(services, CALLER).items] == ["default"]


def test_delete_workforce_with_teams_is_in_use(services: Services) -> None:
    workforce.create_workteam(services, CALLER, "team", description="d", member_definitions=_oidc("g"))
    with pytest.raises(InUse, match="still has work teams"):
        workforce.delete_workforce(services, CALLER, "default")


def test_update_workforce(services: Services, clock: ManualClock) -> None:
    before = workforce.describe_workforce(services, CALLER, "default")
    clock.advance(60)
    updated = workforce.update_workforce(
        services,
        CALLER,
        "default",
        source_ip_config={"Cidrs": ["1.2.3.0/24"]},
        ip_address_type="dualstack",
        oidc_config=OIDC,
    )
    assert updated.config == {
        "SourceIpConfig": {"Cidrs": ["1.2.3.0/24"]},
        "IpAddressType": "dualstack",
        "OidcConfig": OIDC,
    }
    assert updated.updated_at > before.updated_at and updated.created_at == before.created_at
    with pytest.raises(InvalidInput, match="not a valid CIDR"):
        workforce.update_workforce(services, CALLER, "default", source_ip_config={"Cidrs": ["1.2.3.400/24"]})
    with pytest.raises(InvalidInput, match="less than or equal to 10"):
        workforce.update_workforce(
            services, CALLER, "default", source_ip_config={"Cidrs": [f"10.0.{i}.0/24" for i in range(11)]}
        )
    workforce.create_workteam(services, CALLER, "team", description="d", member_definitions=_oidc("g"))
    with pytest.raises(Conflict, match="has work teams"):
        workforce.update_workforce(services, CALLER, "default", oidc_config=OIDC)
    with pytest.raises(NotFound, match="No workforce found with name other"):
        workforce.update_workforce(services, CALLER, "other")


def test_cognito_workforce_cannot_take_oidc(services: Services) -> None:
    workforce.delete_workforce(services, CALLER, "default")
    workforce.create_workforce(services, CALLER, "cog", cognito_config=COGNITO)
    with pytest.raises(InvalidInput, match="uses Amazon Cognito"):
        workforce.update_workforce(services, CALLER, "cog", oidc_config=OIDC)


# --- work teams -----------------------------------------------------------------------------------------


def test_create_and_describe_workteam(services: Services) -> None:
    team = workforce.create_workteam(
        services,
        CALLER,
        "Raters",
        description="RLHF raters",
        member_definitions=_oidc("raters", "experts", "raters"),
        notification_configuration={"NotificationTopicArn": "arn:aws:sns:us-east-1:123456789012:t"},
    )
    assert team.arn == "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/Raters"
    assert team.groups == ("experts", "raters")
    assert team.member_definitions == _oidc("raters", "experts", "raters")
    assert team.notification_configuration == {"NotificationTopicArn": "arn:aws:sns:us-east-1:123456789012:t"}
    assert workforce.describe_workteam(services, CALLER, "Raters") == team
    with pytest.raises(AlreadyExists, match="Work team Raters already exists"):
        workforce.create_workteam(services, CALLER, "Raters", description="d", member_definitions=_oidc("g"))


def test_unknown_workteam_message(services: Services) -> None:
    for call in (
        lambda: workforce.describe_workteam(services, CALLER, "ghost"),
        lambda: workforce.update_workteam(services, CALLER, "ghost", description="x"),
        lambda: workforce.delete_workteam(services, CALLER, "ghost"),
    ):
        with pytest.raises(NotFound, match=r"^The work team ghost does not exist\.$") as caught:
            call()
        assert caught.value.kind == "workteam"


@pytest.mark.parametrize(
    "definitions, message",
    [
        ([{}], "exactly one of CognitoMemberDefinition and OidcMemberDefinition"),
        ([{**_oidc("g")[0], **_cognito("g")}], "exactly one"),
        ([_oidc("g")[0], _cognito("g")], "Do not mix"),
        ([_cognito("a"), _cognito("b", pool="us-east-1_other")], "same UserPool and ClientId"),
        ([{"OidcMemberDefinition": {}}], "needs Groups"),
    ],
)
def test_bad_member_definitions(services: Services, definitions: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as caught:
        workforce.create_workteam(services, CALLER, "team", description="d", member_definitions=definitions)
    assert caught.value.field == "memberDefinitions"


def test_member_definitions_must_match_the_workforce(services: Services) -> None:
    workforce.delete_workforce(services, CALLER, "default")
    workforce.create_workforce(services, CALLER, "cog", cognito_config=COGNITO)
    with pytest.raises(InvalidInput, match="uses Amazon Cognito"):
        workforce.create_workteam(services, CALLER, "t", description="d", member_definitions=_oidc("g"))
    with pytest.raises(InvalidInput, match="must be those of workforce cog"):
        workforce.create_workteam(
            services, CALLER, "t", description="d", member_definitions=[_cognito("g", client="other")]
        )
    team = workforce.create_workteam(
        services, CALLER, "t", description="d", workforce_name="cog", member_definitions=[_cognito("a"), _cognito("b")]
    )
    assert team.groups == ("a", "b")
    with pytest.raises(NotFound, match="No workforce found with name default"):
        workforce.create_workteam(
            services, CALLER, "u", description="d", workforce_name="default", member_definitions=[_cognito("a")]
        )


def test_oidc_workforce_takes_only_oidc_members(services: Services) -> None:
    workforce.update_workforce(services, CALLER, "default", oidc_config=OIDC)
    with pytest.raises(InvalidInput, match="uses OIDC"):
        workforce.create_workteam(services, CALLER, "t", description="d", member_definitions=[_cognito("g")])


def test_update_workteam_replaces_members(services: Services, clock: ManualClock) -> None:
    team = workforce.create_workteam(services, CALLER, "team", description="d", member_definitions=_oidc("a", "b"))
    clock.advance(5)
    updated = workforce.update_workteam(services, CALLER, "team", member_definitions=_oidc("c"), description="new")
    assert updated.groups == ("c",) and _groups(services, team.id) == {"c"}
    assert updated.description == "new" and updated.member_definitions == _oidc("c")
    assert updated.updated_at > team.updated_at and updated.created_at == team.created_at
    same = workforce.update_workteam(
        services,
        CALLER,
        "team",
        worker_access_configuration={"S3Presign": {"IamPolicyConstraints": {"SourceIp": "Enabled"}}},
    )
    assert same.groups == ("c",) and same.description == "new"
    assert same.worker_access_configuration == {"S3Presign": {"IamPolicyConstraints": {"SourceIp": "Enabled"}}}


def test_delete_workteam(services: Services) -> None:
    team = workforce.create_workteam(services, CALLER, "team", description="d", member_definitions=_oidc("a"))
    workforce.delete_workteam(services, CALLER, "team")
    assert _groups(services, team.id) == set()
    assert workforce.list_workteams(services, CALLER).items == []
    workforce.create_workteam(services, CALLER, "team", description="d", member_definitions=_oidc("a"))


def test_workteam_limit(services: Services) -> None:
    for i in range(workforce.MAX_WORKTEAMS):
        workforce.create_workteam(services, CALLER, f"t{i}", description="d", member_definitions=_oidc("g"))
    with pytest.raises(LimitExceeded, match="at most 25 work teams"):
        workforce.create_workteam(services, CALLER, "one-more", description="d", member_definitions=_oidc("g"))


def test_list_workteams_sorts_filters_and_pages(services: Services, clock: ManualClock) -> None:
    for name in ("beta", "Alpha-team", "gamma", "alphabet"):
        workforce.create_workteam(services, CALLER, name, description="d", member_definitions=_oidc("g"))
        clock.advance(1)
    names = [t.name for t in workforce.list_workteams(services, CALLER).items]
    assert names == ["beta", "Alpha-team", "gamma", "alphabet"]  # CreateDate, Ascending by default
    by_name = workforce.list_workteams(services, CALLER, sort_by="Name", sort_order="Descending")
    assert [t.name for t in by_name.items] == ["gamma", "beta", "alphabet", "Alpha-team"]
    found = workforce.list_workteams(services, CALLER, name_contains="ALPHA", sort_by="Name")
    assert [t.name for t in found.items] == ["Alpha-team", "alphabet"]
    seen, token = [], None
    while True:
        page = workforce.list_workteams(services, CALLER, sort_by="Name", max_results=3, next_token=token)
        seen += [t.name for t in page.items]
        if (token := page.next_token) is None:
            break
    assert seen == ["Alpha-team", "alphabet", "beta", "gamma"]
    token = workforce.list_workteams(services, CALLER, max_results=1).next_token
    with pytest.raises(InvalidInput, match="NextToken"):
        workforce.list_workteams(services, CALLER, sort_by="Name", next_token=token)


def test_list_workforces_filters(services: Services) -> None:
    found = workforce.list_workforces(services, CALLER, name_contains="FAU").items
    assert [wf.name for wf in found] == ["default"]
    assert workforce.list_workforces(services, CALLER, name_contains="zzz").items == []
    assert [
        wf.name for wf in workforce.list_workforces(services, CALLER, sort_by="Name", sort_order="Ascending").items
    ] == ["default"]
