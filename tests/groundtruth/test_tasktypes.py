"""Task types: the table against botocore's list of built-in Lambdas, and inference from ARNs."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import botocore
import pytest

from crowdloop.errors import InvalidInput
from crowdloop.groundtruth.tasktypes import (
    BUILTIN_UI_TYPES,
    INFO,
    TaskType,
    builtin_ui_task_type,
    infer_task_type,
    lambda_task_type,
)


def _arn(name: str, region: str = "us-east-1", account: str = "432418664414") -> str:
    return f"arn:aws:lambda:{region}:{account}:function:{name}"


def _ui(name: str, region: str = "us-west-2", account: str = "394669845002") -> str:
    return f"arn:aws:sagemaker:{region}:{account}:human-task-ui/{name}"


def test_the_types_are_botocores_built_in_lambda_names() -> None:
    model = Path(botocore.__file__).parent / "data/sagemaker/2017-07-24/service-2.json.gz"
    shapes = json.loads(gzip.decompress(model.read_bytes()))["shapes"]
    pre = shapes["HumanTaskConfig"]["members"]["PreHumanTaskLambdaArn"]["documentation"]
    acs = shapes["AnnotationConsolidationConfig"]["members"]["AnnotationConsolidationLambdaArn"]["documentation"]
    names = {t.value for t in TaskType}
    assert set(re.findall(r"function:PRE-([A-Za-z0-9]+)", pre)) == names
    assert set(re.findall(r"function:ACS-([A-Za-z0-9]+)", acs)) == names
    assert len(names) == 23


def test_info_rows() -> None:
    assert set(INFO) == set(TaskType)
    assert all(info.task_type is t for t, info in INFO.items())
    box = INFO[TaskType.BOUNDING_BOX]
    assert (box.output_type, box.label_ref, box.supported) == ("groundtruth/object-detection", False, True)
    assert INFO[TaskType.SEMANTIC_SEGMENTATION].label_ref and INFO[TaskType.SEMANTIC_SEGMENTATION].supported
    # the verification job of segmentation must NOT end with -ref, and is supported (a classifier answer)
    seg_check = INFO[TaskType.VERIFICATION_SEMANTIC_SEGMENTATION]
    assert (seg_check.output_type, seg_check.label_ref, seg_check.supported) == (
        "groundtruth/label-verification",
        False,
        True,
    )
    assert INFO[TaskType.NAMED_ENTITY_RECOGNITION].output_type == "groundtruth/text-span"
    assert INFO[TaskType.ADJUSTMENT_BOUNDING_BOX].output_type == "groundtruth/object-detection"
    assert INFO[TaskType.POINT_CLOUD_OBJECT_TRACKING].output_type == "groundtruth/point_cloud_object_tracking"
    assert not INFO[TaskType.POINT_CLOUD_OBJECT_DETECTION].label_ref  # not in the model doc's -ref list
    assert INFO[TaskType.VIDEO_MULTI_CLASS].output_type == "groundtruth/video-classification"  # our choice
    supported = {t for t, info in INFO.items() if info.supported}
    assert supported == {
        TaskType.BOUNDING_BOX,
        TaskType.ADJUSTMENT_BOUNDING_BOX,
        TaskType.IMAGE_MULTI_CLASS,
        TaskType.IMAGE_MULTI_CLASS_MULTI_LABEL,
        TaskType.VIDEO_MULTI_CLASS,
        TaskType.TEXT_MULTI_CLASS,
        TaskType.TEXT_MULTI_CLASS_MULTI_LABEL,
        TaskType.NAMED_ENTITY_RECOGNITION,
        TaskType.VERIFICATION_BOUNDING_BOX,
        TaskType.VERIFICATION_SEMANTIC_SEGMENTATION,
        TaskType.SEMANTIC_SEGMENTATION,  # with the segmentation extra
        TaskType.ADJUSTMENT_SEMANTIC_SEGMENTATION,
        TaskType.PASS_THROUGH,
    }
    assert {t for t, info in INFO.items() if info.label_ref} == {
        TaskType.SEMANTIC_SEGMENTATION,
        TaskType.ADJUSTMENT_SEMANTIC_SEGMENTATION,
        TaskType.VIDEO_OBJECT_DETECTION,
        TaskType.VIDEO_OBJECT_TRACKING,
        TaskType.ADJUSTMENT_VIDEO_OBJECT_DETECTION,
        TaskType.ADJUSTMENT_VIDEO_OBJECT_TRACKING,
        TaskType.POINT_CLOUD_OBJECT_TRACKING,
        TaskType.POINT_CLOUD_SEMANTIC_SEGMENTATION,
        TaskType.ADJUSTMENT_POINT_CLOUD_OBJECT_TRACKING,
        TaskType.ADJUSTMENT_POINT_CLOUD_SEMANTIC_SEGMENTATION,
    }


@pytest.mark.parametrize(
    ("arn", "prefix", "expected"),
    [
        (_arn("PRE-BoundingBox"), "PRE", TaskType.BOUNDING_BOX),
        (_arn("ACS-BoundingBox", "us-west-2", "081040173940"), "ACS", TaskType.BOUNDING_BOX),
        (_arn("ACS-TextMultiClass", "eu-central-1", "203001061592"), "ACS", TaskType.TEXT_MULTI_CLASS),
        # any account, any region (a 2021 user's eu-central-1 account; a self-hosted region)
        (
            _arn("ACS-3DPointCloudObjectDetection", "eu-central-1", "326177286064"),
            "ACS",
            TaskType.POINT_CLOUD_OBJECT_DETECTION,
        ),
        (_arn("PRE-NamedEntityRecognition", "local-1", "000000000000"), "PRE", TaskType.NAMED_ENTITY_RECOGNITION),
        ("arn:aws-cn:lambda:cn-north-1:123456789012:function:PRE-PassThrough", "PRE", TaskType.PASS_THROUGH),
        (_arn("ACS-ImageMultiClass:3"), "ACS", TaskType.IMAGE_MULTI_CLASS),  # a version qualifier
        (_arn("PRE-BoundingBox"), "ACS", None),  # a PRE function where an ACS one belongs: custom
        (_arn("ACS-boundingbox"), "ACS", None),  # names are case-sensitive
        (_arn("ACS-BoundingBoxes"), "ACS", None),
        (_arn("ACS-"), "ACS", None),
        (_arn("my-consolidation"), "ACS", None),
        (_arn("ACS"), "ACS", None),
        ("ACS-BoundingBox", "ACS", None),  # not an ARN
        ("arn:aws:lambda:us-east-1:4324186644:function:ACS-BoundingBox", "ACS", None),  # 10-digit account
        ("arn:aws:sagemaker:us-east-1:432418664414:function:ACS-BoundingBox", "ACS", None),
    ],
)
def test_lambda_task_type(arn: str, prefix: str, expected: TaskType | None) -> None:
    assert lambda_task_type(arn, prefix) is expected  # type: ignore[arg-type]


def test_builtin_ui_task_type() -> None:
    assert builtin_ui_task_type(_ui("NamedEntityRecognition")) is TaskType.NAMED_ENTITY_RECOGNITION
    assert builtin_ui_task_type(_ui("PointCloudObjectTracking", "ap-south-1")) is TaskType.POINT_CLOUD_OBJECT_TRACKING
    assert builtin_ui_task_type(_ui("VideoObjectDetection", "eu-west-1")) is TaskType.VIDEO_OBJECT_DETECTION
    assert builtin_ui_task_type(_ui("NamedEntityRecognition", account="123456789012")) is None  # our own UI
    assert builtin_ui_task_type(_ui("my-ui")) is None
    assert builtin_ui_task_type("arn:aws:sagemaker:us-west-2:394669845002:flow-definition/x") is None
    assert set(BUILTIN_UI_TYPES) == {
        "NamedEntityRecognition",
        "PointCloudObjectDetection",
        "PointCloudObjectTracking",
        "PointCloudSemanticSegmentation",
        "VideoObjectDetection",
        "VideoObjectTracking",
    }


def test_infer_task_type() -> None:
    custom = _arn("GtRecipe-consolidate", "us-east-2", "123456789012")
    assert infer_task_type(_arn("PRE-BoundingBox"), _arn("ACS-BoundingBox", "us-east-2", "266458841044"), None) is (
        TaskType.BOUNDING_BOX
    )
    assert infer_task_type(_arn("PRE-TextMultiClass"), custom, None) is TaskType.TEXT_MULTI_CLASS
    assert infer_task_type(custom, _arn("ACS-ImageMultiClassMultiLabel"), None) is (
        TaskType.IMAGE_MULTI_CLASS_MULTI_LABEL
    )
    assert infer_task_type(None, _arn("ACS-PassThrough"), None) is TaskType.PASS_THROUGH
    assert infer_task_type(_arn("PRE-VerificationBoundingBox"), None, None) is TaskType.VERIFICATION_BOUNDING_BOX
    assert infer_task_type(custom, custom, None) is None
    assert infer_task_type(None, None, None) is None
    assert infer_task_type(None, None, _ui("my-own-ui", account="123456789012")) is None
    # the UI alone, or with custom Lambdas, or agreeing with the built-in ones (same family)
    assert infer_task_type(custom, None, _ui("NamedEntityRecognition")) is TaskType.NAMED_ENTITY_RECOGNITION
    ner = _arn("PRE-NamedEntityRecognition"), _arn("ACS-NamedEntityRecognition")
    assert infer_task_type(*ner, _ui("NamedEntityRecognition")) is TaskType.NAMED_ENTITY_RECOGNITION
    adjust = _arn("PRE-AdjustmentVideoObjectTracking"), _arn("ACS-AdjustmentVideoObjectTracking")
    assert infer_task_type(*adjust, _ui("VideoObjectTracking")) is TaskType.ADJUSTMENT_VIDEO_OBJECT_TRACKING
    cloud = _arn("PRE-3DPointCloudObjectDetection"), _arn("ACS-Adjustment3DPointCloudObjectDetection")
    with pytest.raises(InvalidInput):  # PRE and ACS differ even within a family
        infer_task_type(*cloud, None)
    assert infer_task_type(None, cloud[1], _ui("PointCloudObjectDetection")) is (
        TaskType.ADJUSTMENT_POINT_CLOUD_OBJECT_DETECTION
    )


def test_infer_task_type_errors() -> None:
    with pytest.raises(InvalidInput) as caught:
        infer_task_type(_arn("PRE-BoundingBox"), _arn("ACS-ImageMultiClass", "eu-west-1", "568282634449"), None)
    assert caught.value.field == "humanTaskConfig.annotationConsolidationConfig.annotationConsolidationLambdaArn"
    assert "BoundingBox" in caught.value.message and "ImageMultiClass" in caught.value.message
    with pytest.raises(InvalidInput) as caught:
        infer_task_type(_arn("PRE-BoundingBox"), None, _ui("NamedEntityRecognition"))
    assert caught.value.field == "humanTaskConfig.uiConfig.humanTaskUiArn"
    with pytest.raises(InvalidInput):
        infer_task_type(None, _arn("ACS-VideoObjectDetection"), _ui("VideoObjectTracking"))
