"""CreateWorkforce / DescribeWorkforce / ListWorkforces / UpdateWorkforce / DeleteWorkforce.

Every test signs for a region of its own: the one-workforce-per-region rule would otherwise couple them.
"""

from __future__ import annotations

from typing import Any

from tests.api.sagemaker_helpers import expect_error, make_workteam, regional_client

OIDC = {
    "ClientId": "client",
    "ClientSecret": "s3cret",
    "Issuer": "https://idp.example.org",
    "AuthorizationEndpoint": "https://idp.example.org/auth",
    "TokenEndpoint": "https://idp.example.org/token",
    "UserInfoEndpoint": "https://idp.example.org/userinfo",
    "LogoutEndpoint": "https://idp.example.org/logout",
    "JwksUri": "https://idp.example.org/jwks",
    "Scope": "openid groups",
}


def test_default_workforce_exists_from_the_start(server: Any) -> None:
    sm = regional_client(server)
    region = sm.meta.region_name
    workforces = sm.list_workforces()["Workforces"]
    assert len(workforces) == 1
    default = workforces[0]
    assert default["WorkforceName"] == "default"
    assert default["WorkforceArn"] == f"arn:aws:sagemaker:{region}:123456789012:workforce/default"
    assert default["SubDomain"] == f"127.0.0.1:{server.port}"
    assert default["Status"] == "Active"
    assert default["SourceIpConfig"] == {"Cidrs": []}
    assert "CognitoConfig" not in default and "OidcConfig" not in default
    assert sm.describe_workforce(WorkforceName="default")["Workforce"] == default


def test_errors(server: Any) -> None:
    sm = regional_client(server)
    expect_error(
        sm.create_workforce,
        "ResourceLimitExceeded",
        "one workforce per region",
        WorkforceName="second",
        OidcConfig=OIDC,
    )
    for call in (sm.describe_workforce, sm.delete_workforce, sm.update_workforce):
        expect_error(call, "ValidationException", "No workforce found with name nope", WorkforceName="nope")
    make_workteam(sm)
    expect_error(sm.delete_workforce, "ResourceInUse", "still has work teams", WorkforceName="default")
    expect_error(sm.update_workforce, "ConflictException", "has work teams", WorkforceName="default", OidcConfig=OIDC)


def test_replace_default_with_oidc_workforce(server: Any) -> None:
    sm = regional_client(server)
    assert sm.delete_workforce(WorkforceName="default")["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert sm.list_workforces()["Workforces"] == []
    expect_error(
        sm.create_workforce, "ValidationException", "exactly one of CognitoConfig and OidcConfig", WorkforceName="mine"
    )
    arn = sm.create_workforce(
        WorkforceName="mine",
        OidcConfig=OIDC,
        SourceIpConfig={"Cidrs": ["10.0.0.0/8"]},
        Tags=[{"Key": "team", "Value": "ml"}],
    )["WorkforceArn"]
    described = sm.describe_workforce(WorkforceName="mine")["Workforce"]
    assert described["WorkforceArn"] == arn
    assert described["OidcConfig"] == {k: v for k, v in OIDC.items() if k != "ClientSecret"}
    assert described["SourceIpConfig"] == {"Cidrs": ["10.0.0.0/8"]}
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "ml"}]
    pages = list(sm.get_paginator("list_workforces").paginate(PaginationConfig={"PageSize": 1}))
    assert [w["WorkforceName"] for p in pages for w in p["Workforces"]] == ["mine"]
    assert sm.list_workforces(NameContains="MIN")["Workforces"][0]["WorkforceName"] == "mine"
    assert sm.list_workforces(NameContains="zzz")["Workforces"] == []


def test_update_workforce(server: Any) -> None:
    sm = regional_client(server)
    before = sm.describe_workforce(WorkforceName="default")["Workforce"]
    updated = sm.update_workforce(
        WorkforceName="default",
        SourceIpConfig={"Cidrs": ["192.168.0.0/16"]},
        OidcConfig=OIDC,
        IpAddressType="dualstack",
    )["Workforce"]
    assert updated["SourceIpConfig"] == {"Cidrs": ["192.168.0.0/16"]}
    assert updated["IpAddressType"] == "dualstack"
    assert "ClientSecret" not in updated["OidcConfig"] and updated["OidcConfig"]["ClientId"] == "client"
    assert updated["LastUpdatedDate"] >= before["LastUpdatedDate"] and updated["Status"] == "Active"
    assert sm.describe_workforce(WorkforceName="default")["Workforce"] == updated
    expect_error(
        sm.update_workforce,
        "ValidationException",
        "less than or equal to 10",
        WorkforceName="default",
        SourceIpConfig={"Cidrs": [f"10.0.{i}.0/24" for i in range(11)]},
    )
