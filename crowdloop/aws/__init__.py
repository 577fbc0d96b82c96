"""The AWS protocol layer: SageMaker (awsJson1_1), A2I runtime (restJson1), read-only S3 and STS.

Entry points for the root app: `crowdloop.aws.app.AwsApi` (ASGI) and `crowdloop.aws.app.is_aws_request`.
Handler registries live in `crowdloop.aws.sagemaker` / `crowdloop.aws.a2i_runtime` (`OPERATIONS`).
"""
