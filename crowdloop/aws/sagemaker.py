"""SageMaker (awsJson1_1) handlers: human task UIs, flow definitions, work teams, workforces and tags.

Each handler takes the request members already validated against botocore's model, calls one domain
function and shapes its result as the operation's output. Timestamps stay datetimes and absent members
stay None; the protocol layer serialises both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crowdloop import flows, tags, workforce
from crowdloop.aws import labeling
from crowdloop.listing import CreationListing, NameListing, PageArgs
from crowdloop.runtime import Caller, Services
from crowdloop.tags import Tag

Handler = Callable[[Services, Caller, dict[str, Any]], dict[str, Any]]
Out = dict[str, Any]

GRANT_READ_ACCESS_SECONDS = 3600


def _tags(params: dict[str, Any], member: str = "Tags") -> list[Tag]:
    return [Tag(t["Key"], t["Value"]) for t in params.get(member) or []]


def _page(params: dict[str, Any]) -> PageArgs:
    return {"max_results": params.get("MaxResults"), "next_token": params.get("NextToken") or None}


def _creation_listing(params: dict[str, Any]) -> CreationListing:
    """The members of ListHumanTaskUis and ListFlowDefinitions."""
    return {
        "created_after": params.get("CreationTimeAfter"),
        "created_before": params.get("CreationTimeBefore"),
        "sort_order": params.get("SortOrder"),
        **_page(params),
    }


def _name_listing(params: dict[str, Any]) -> NameListing:
    """The members of ListWorkteams and ListWorkforces."""
    return {
        "sort_by": params.get("SortBy"),
        "sort_order": params.get("SortOrder"),
        "name_contains": params.get("NameContains"),
        **_page(params),
    }


# --- human task UIs -------------------------------------------------------------------------------------


def create_human_task_ui(svc: Services, caller: Caller, params: dict[str, Any]) -> Out:
    ui = flows.create_human_task_ui(
        svc, caller, params["HumanTaskUiName"], params["UiTemplate"]["Content"], _tags(params)
    )
    return {"HumanTaskUiArn": ui.arn}


def describe_human_task_ui(svc: Services, caller: Caller, params: dict[str, Any]) -> Out:
    ui = flows.describe_human_task_ui(svc, caller, params["HumanTaskUiName"])
    return {
        "HumanTaskUiArn": ui.arn,
        "HumanTaskUiName": ui.name,
        "HumanTaskUiStatus": "Active",
        "CreationTime": ui.created_at,
        "UiTemplate": {
            "Url": flows.template_url(svc.settings, ui.template_sha256),
            "ContentSha256": ui.template_sha256,
        },
    }


def list_human_task_uis(svc: Services, caller: Caller, params: dict[str, Any]) -> Out:
    page = flows.list_human_task_uis(svc, caller, **_creation_listing(params))
    return {
        "HumanTaskUiSummaries": [
            {"HumanTaskUiName": ui.name, "HumanTaskUiArn": ui.arn, "CreationTime": ui.created_at} for ui in page.items
        ],
        "NextToken": page.next_token,
    }


def delete_human_task_ui(svc: Services, caller: Caller, params: dict[str, Any]) -> Out:
    flows.delete_human_task_ui(svc, caller, params["HumanTaskUiName"])
    return {}


def render_ui_template(svc: Services, caller: Caller, params: dict[str, Any]) -> Out:
    def grant_read_access(uri: str) -> str:
        return svc.blobs.url_for(uri, GRANT_READ_ACCESS_SECONDS) if uri.startswith("s3://") else uri

    template = params.get("UiTemplate")
    rendered = flows.render_ui_template(
        svc,
        caller,
        task_input=params["Task"]["Input"],
        content=None if template is None else template["Content"],
        human_task_ui_arn=params.get("HumanTaskUiArn"),
        grant_read_access=grant_read_access,
    )
    return {
        "RenderedContent": rendered.html,
        "Errors": [{"Code": code, "Message": message} for code, message in rendered.errors],
    }


# --- flow definitions -----------------------------------------------------------------------------------


def create_flow_definition(svc: Services, caller: Caller, params: dict[str, Any]) -> Out:
    fd = flows.create_flow_definition(
        svc,
        caller,
        params["FlowDefinitionName"],
        role_arn=params["RoleArn"],
        output_config=params["OutputConfig"],
        human_loop_config=params.get("HumanLoopConfig"),
        request_source=params.get("HumanLoopRequestSource"),
        activation_config=params.get("HumanLoopActivationConfig"),
        tags=_tags(params),
    )
    return {"FlowDefinitionArn": fd.arn}


def describe_flow_definition(svc: Services, caller: Caller, params: dict[str, Any]) -> Out:
    fd = flows.describe_flow_definition(svc, caller, params["FlowDefinitionName"])
    return {
        "FlowDefinitionArn": fd.arn,
        "FlowDefinitionName": fd.name,
        "FlowDefinitionStatus": fd.status.value,
        "CreationTime": fd.created_at,
        **fd.request,
        "FailureReason": fd.failure_reason,
    }


def list_flow_definitions(svc: Services, caller: Caller, params: dict[str, Any]) -> Out:
    page = flows.list_flow_definitions(svc, caller, **_creation_listing(params))
    return {
        "FlowDefinitionSummaries": [
            {
                "FlowDefinitionName": fd.name,
                "FlowDefinitionArn": fd.arn,
                "FlowDefinitionStatus": fd.status.value,
                "CreationTime": fd.created_at,
                "FailureReason": fd.failure_reason,
            }
            for fd in page.items
        ],
        "NextToken": page.next_token,
    }


def delete_flow_definition(svc: Services, caller: Caller, params: dict[str, Any]) -> Out:
    flows.delete_flow_definition(svc, caller, params["FlowDefinitionName"])
    return {}


# --- work teams -----------------------------------------------------------------------------------------


def _workteam(svc: Services, team: workforce.Workteam) -> Out:
    return {
        "WorkteamName": team.name,
        "MemberDefinitions": team.member_definitions,
        "WorkteamArn": team.arn,
        "WorkforceArn": team.workforce_arn,
        "Description": team.description,
        "SubDomain": svc.settings.portal_host,
        "CreateDate": team.created_at,
        "LastUpdatedDate": team.updated_at,
        "NotificationConfiguration": team.notification_configuration,
        "WorkerAccessConfiguration": team.worker_access_configuration,
    }


def create_workteam(svc: Services, caller: Caller, params: dict[str, Any]) -> Out:
    team = workforce.create_workteam(
        svc,
        caller,
        params["WorkteamName"],
        member_definitions=params["MemberDefinitions"],
        description=params["Description"],
        workforce_name=params.get("WorkforceName"),
        notification_configuration=params.get("NotificationConfiguration"),
        worker_access_configuration=params.get("WorkerAccessConfiguration"),
        tags=_tags(params),
    )
    return {"WorkteamArn": team.arn}


def describe_workteam(svc: Services, caller: Caller, params: dict[str, Any]) -> Out:
    return {"Workteam": _workteam(svc, workforce.describe_workteam(svc, caller, params["WorkteamName"]))}


def list_workteams(svc: Services, caller: Caller, params: dict[str, Any]) -> Out:
    page = workforce.list_workteams(svc, caller, **_name_listing(params))
    return {"Workteams": [_workteam(svc, team) for team in page.items], "NextToken": page.next_token}


def update_workteam(svc: Services, caller: Caller, params: dict[str, Any]) -> Out:
    team = workforce.update_workteam(
        svc,
        caller,
        params["WorkteamName"],
        member_definitions=params.get("MemberDefinitions"),
        description=params.get("Description"),
        notification_configuration=params.get("NotificationConfiguration"),
        worker_access_configuration=params.get("WorkerAccessConfiguration"),
    )
    return {"Workteam": _workteam(svc, team)}


def delete_workteam(svc: Services, caller: Caller, params: dict[str, Any]) -> Out:
    workforce.delete_workteam(svc, caller, params["WorkteamName"])
    return {"Success": True}


# --- workforces -----------------------------------------------------------------------------------------


def _workforce(svc: Services, wf: workforce.Workforce) -> Out:
    config = wf.config
    oidc = config.get("OidcConfig")
    return {
        "WorkforceName": wf.name,
        "WorkforceArn": wf.arn,
        "LastUpdatedDate": wf.updated_at,
        "SourceIpConfig": config.get("SourceIpConfig") or {"Cidrs": []},
        "SubDomain": svc.settings.portal_host,
        "CognitoConfig": config.get("CognitoConfig"),
        "OidcConfig": None if oidc is None else {k: v for k, v in oidc.items() if k != "ClientSecret"},
        "CreateDate": wf.created_at,
        "WorkforceVpcConfig": config.get("WorkforceVpcConfig"),
        "Status": wf.status,
        "IpAddressType": config.get("IpAddressType", "ipv4"),
    }


def create_workforce(svc: Services, caller: Caller, params: dict[str, Any]) -> Out:
    wf = workforce.create_workforce(
        svc,
        caller,
        params["WorkforceName"],
        cognito_config=params.get("CognitoConfig"),
        oidc_config=params.get("OidcConfig"),
        source_ip_config=params.get("SourceIpConfig"),
        vpc_config=params.get("WorkforceVpcConfig"),
        ip_address_type=params.get("IpAddressType"),
        tags=_tags(params),
    )
    return {"WorkforceArn": wf.arn}


def describe_workforce(svc: Services, caller: Caller, params: dict[str, Any]) -> Out:
    return {"Workforce": _workforce(svc, workforce.describe_workforce(svc, caller, params["WorkforceName"]))}


def list_workforces(svc: Services, caller: Caller, params: dict[str, Any]) -> Out:
    page = workforce.list_workforces(svc, caller, **_name_listing(params))
    return {"Workforces": [_workforce(svc, wf) for wf in page.items], "NextToken": page.next_token}


def update_workforce(svc: Services, caller: Caller, params: dict[str, Any]) -> Out:
    wf = workforce.update_workforce(
        svc,
        caller,
        params["WorkforceName"],
        source_ip_config=params.get("SourceIpConfig"),
        oidc_config=params.get("OidcConfig"),
        vpc_config=params.get("WorkforceVpcConfig"),
        ip_address_type=params.get("IpAddressType"),
    )
    return {"Workforce": _workforce(svc, wf)}


def delete_workforce(svc: Services, caller: Caller, params: dict[str, Any]) -> Out:
    workforce.delete_workforce(svc, caller, params["WorkforceName"])
    return {}


# --- tags -----------------------------------------------------------------------------------------------


def add_tags(svc: Services, caller: Caller, params: dict[str, Any]) -> Out:
    added = tags.add_tags(svc, caller, params["ResourceArn"], _tags(params))
    return {"Tags": [{"Key": t.key, "Value": t.value} for t in added]}


def list_tags(svc: Services, caller: Caller, params: dict[str, Any]) -> Out:
    page = tags.list_tags(svc, caller, params["ResourceArn"], **_page(params))
    return {"Tags": [{"Key": t.key, "Value": t.value} for t in page.items], "NextToken": page.next_token}


def delete_tags(svc: Services, caller: Caller, params: dict[str, Any]) -> Out:
    tags.delete_tags(svc, caller, params["ResourceArn"], params["TagKeys"])
    return {}


OPERATIONS: dict[str, Handler] = {
    "CreateHumanTaskUi": create_human_task_ui,
    "DescribeHumanTaskUi": describe_human_task_ui,
    "ListHumanTaskUis": list_human_task_uis,
    "DeleteHumanTaskUi": delete_human_task_ui,
    "RenderUiTemplate": render_ui_template,
    "CreateFlowDefinition": create_flow_definition,
    "DescribeFlowDefinition": describe_flow_definition,
    "ListFlowDefinitions": list_flow_definitions,
    "DeleteFlowDefinition": delete_flow_definition,
    "CreateWorkteam": create_workteam,
    "DescribeWorkteam": describe_workteam,
    "ListWorkteams": list_workteams,
    "UpdateWorkteam": update_workteam,
    "DeleteWorkteam": delete_workteam,
    "CreateWorkforce": create_workforce,
    "DescribeWorkforce": describe_workforce,
    "ListWorkforces": list_workforces,
    "UpdateWorkforce": update_workforce,
    "DeleteWorkforce": delete_workforce,
    "AddTags": add_tags,
    "ListTags": list_tags,
    "DeleteTags": delete_tags,
    **labeling.OPERATIONS,
}
