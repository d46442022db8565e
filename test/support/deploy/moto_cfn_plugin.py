"""CloudFormation resource types and properties moto's CloudFormation leaves out, for the deploy test.

Written against moto 5.2.5 (MOTO_VERSION in scripts/versions.sh); `check_moto_version()` refuses any other,
because the hooks below lean on moto's internals (its model registry and backend method signatures).

moto's CloudFormation skips resource types it has no model for (and then fails any template that reads one
of their attributes), and creates some resources without the properties that matter to Safekeep. This
plugin adds, through moto's own service backends so the ordinary AWS APIs then describe the result:

  new types    AWS::Scheduler::ScheduleGroup, AWS::Scheduler::Schedule, AWS::CloudWatch::Alarm,
               AWS::DynamoDB::GlobalTable (one replica, in the stack's region), AWS::S3::BucketPolicy,
               AWS::SQS::QueuePolicy, AWS::SNS::TopicPolicy, AWS::SNS::Subscription,
               AWS::Lambda::EventInvokeConfig, AWS::IAM::Group (managed policies),
               AWS::SecretsManager::Secret (string, KMS key)
  properties   AWS::S3::Bucket: versioning, public access block, ownership controls, logging, lifecycle,
               Object Lock · AWS::ECS::TaskDefinition: CPU, memory, network mode, compatibilities,
               task and execution roles, runtime platform · AWS::DynamoDB::Table: point-in-time recovery, SSE ·
               AWS::Lambda::Function: architectures, tracing, layers, KMS key · AWS::IAM::Role: managed
               policies (the launcher loads AWS's managed policies: MOTO_IAM_LOAD_MANAGED_POLICIES) ·
               AWS::IAM::User: groups ·
               AWS::Logs::LogGroup: KMS key · AWS::S3::Bucket encryption: BucketKeyEnabled
               AWS::Lambda::LayerVersion: compatible architectures; Ref is its ARN
  fixes        AWS::KMS::Key: a KeyPolicy object is stored as JSON text (moto's DescribeKey fails on the
               object) · AWS::Logs::LogGroup: Fn::GetAtt Arn ends in ":*", as CloudFormation's does
  behaviour    bucket policies: only statements without a Condition are enforced (moto would enforce
               CDK's "deny unless TLS" as "deny everything")

It never changes a template, and it checks no property values: cfn-lint does that (test/infra/cfn-lint.test.ts).
A property this plugin does not know is ignored, as moto ignores it, so the deploy test compares only what it
reads back through the APIs. Updates replace the resource (delete, then create) for the new types.
"""

from __future__ import annotations

import json
from typing import Any

import moto
from moto.cloudformation import parsing
from moto.cloudwatch.models import cloudwatch_backends
from moto.core.common_models import CloudFormationModel
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import Table
from moto.ecs.models import TaskDefinition, ecs_backends
from moto.s3.models import FakeBucket, s3_backends
from moto.scheduler.models import scheduler_backends
from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends
from moto.utilities.utils import get_partition

PINNED_MOTO_VERSION = "5.2.5"
# moto files every model class under the service named by its module's second part (moto.<service>...).
_MODULE = "moto.safekeep_plugin"


def check_moto_version() -> None:
    if moto.__version__ != PINNED_MOTO_VERSION:
        raise SystemExit(
            f"moto_cfn_plugin was written against moto {PINNED_MOTO_VERSION}, found {moto.__version__}: "
            "re-check its hooks against the new moto, then update PINNED_MOTO_VERSION"
        )


def _policy_text(document: Any) -> str:
    return document if isinstance(document, str) else json.dumps(document)


class _Model:
    """Shared plumbing: a plain record of what was created, deleted through `delete()`. Each model also
    subclasses CloudFormationModel directly: moto registers only its direct subclasses."""

    TYPE = ""
    NAME_PROPERTY = ""
    ATTRIBUTES: tuple[str, ...] = ()

    def __init__(self, physical_id: str, account_id: str, region_name: str, attributes: dict[str, Any]):
        self.physical_resource_id = physical_id
        self.account_id = account_id
        self.region_name = region_name
        self.attributes = attributes

    @classmethod
    def cloudformation_type(cls) -> str:  # type: ignore[override]
        return cls.TYPE

    @classmethod
    def cloudformation_name_type(cls) -> str:  # type: ignore[override]
        return cls.NAME_PROPERTY

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name not in self.ATTRIBUTES:
            from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

            raise UnformattedGetAttTemplateException()
        return self.attributes[attribute_name]

    def is_created(self) -> bool:
        return True

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> Any:
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        raise NotImplementedError  # every instance deletes itself through delete()

    def delete(self, account_id: str, region_name: str) -> None:
        raise NotImplementedError


class ScheduleGroupModel(_Model, CloudFormationModel):
    __module__ = _MODULE
    TYPE = "AWS::Scheduler::ScheduleGroup"
    NAME_PROPERTY = "Name"
    ATTRIBUTES = ("Arn", "CreationDate", "LastModificationDate", "State")

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> ScheduleGroupModel:
        props = cloudformation_json["Properties"]
        group = scheduler_backends[account_id][region_name].create_schedule_group(resource_name, props.get("Tags", []))
        return cls(resource_name, account_id, region_name, {"Arn": group.arn, "State": "ACTIVE"})

    def delete(self, account_id: str, region_name: str) -> None:
        scheduler_backends[account_id][region_name].delete_schedule_group(self.physical_resource_id)


class ScheduleModel(_Model, CloudFormationModel):
    __module__ = _MODULE
    TYPE = "AWS::Scheduler::Schedule"
    NAME_PROPERTY = "Name"
    ATTRIBUTES = ("Arn",)

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> ScheduleModel:
        props = cloudformation_json["Properties"]
        group = props.get("GroupName") or "default"
        # The backend raises ResourceNotFound when the group does not exist yet: a schedule created before
        # its group fails here as it would in AWS.
        schedule = scheduler_backends[account_id][region_name].create_schedule(
            description=props.get("Description"),
            end_date=props.get("EndDate"),
            flexible_time_window=props["FlexibleTimeWindow"],
            group_name=group,
            kms_key_arn=props.get("KmsKeyArn"),
            name=resource_name,
            schedule_expression=props["ScheduleExpression"],
            schedule_expression_timezone=props.get("ScheduleExpressionTimezone"),
            start_date=props.get("StartDate"),
            state=props.get("State"),
            target=props["Target"],
            action_after_completion=None,
        )
        model = cls(resource_name, account_id, region_name, {"Arn": schedule.arn})
        model.group = group
        return model

    def delete(self, account_id: str, region_name: str) -> None:
        scheduler_backends[account_id][region_name].delete_schedule(self.group, self.physical_resource_id)


class AlarmModel(_Model, CloudFormationModel):
    __module__ = _MODULE
    TYPE = "AWS::CloudWatch::Alarm"
    NAME_PROPERTY = "AlarmName"
    ATTRIBUTES = ("Arn",)

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> AlarmModel:
        props = cloudformation_json["Properties"]
        if "Metrics" in props:
            raise NotImplementedError("moto_cfn_plugin: metric-math alarms (Metrics) are not supported yet")
        alarm = cloudwatch_backends[account_id][region_name].put_metric_alarm(
            name=resource_name,
            namespace=props.get("Namespace"),
            metric_name=props.get("MetricName"),
            comparison_operator=props["ComparisonOperator"],
            evaluation_periods=int(props["EvaluationPeriods"]),
            period=int(props["Period"]) if "Period" in props else None,
            threshold=float(props["Threshold"]) if "Threshold" in props else None,
            statistic=props.get("Statistic"),
            description=props.get("AlarmDescription"),
            dimensions=[{"Name": d["Name"], "Value": d["Value"]} for d in props.get("Dimensions", [])],
            alarm_actions=props.get("AlarmActions", []),
            datapoints_to_alarm=props.get("DatapointsToAlarm"),
            extended_statistic=props.get("ExtendedStatistic"),
            ok_actions=props.get("OKActions", []),
            insufficient_data_actions=props.get("InsufficientDataActions", []),
            unit=props.get("Unit"),
            actions_enabled=props.get("ActionsEnabled", True),
            treat_missing_data=props.get("TreatMissingData"),
        )
        return cls(resource_name, account_id, region_name, {"Arn": alarm.alarm_arn})

    def delete(self, account_id: str, region_name: str) -> None:
        cloudwatch_backends[account_id][region_name].delete_alarms([self.physical_resource_id])


class GlobalTableModel(_Model, CloudFormationModel):
    __module__ = _MODULE
    """A global table with its one replica in the stack's region, as a plain table (what CDK's TableV2 makes)."""

    TYPE = "AWS::DynamoDB::GlobalTable"
    NAME_PROPERTY = "TableName"
    ATTRIBUTES = ("Arn", "StreamArn", "TableId")

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> GlobalTableModel:
        props = cloudformation_json["Properties"]
        replicas = [r for r in props.get("Replicas", []) if r.get("Region", region_name) == region_name]
        if len(replicas) != 1:
            raise NotImplementedError("moto_cfn_plugin: a global table needs exactly one replica in the stack's region")
        replica = replicas[0]
        sse = dict(props.get("SSESpecification") or {})
        if replica.get("SSESpecification", {}).get("KMSMasterKeyId"):
            sse["KMSMasterKeyId"] = replica["SSESpecification"]["KMSMasterKeyId"]
        backend = dynamodb_backends[account_id][region_name]
        table = backend.create_table(
            name=resource_name,
            schema=props["KeySchema"],
            throughput=None,
            attr=props["AttributeDefinitions"],
            global_indexes=props.get("GlobalSecondaryIndexes", []),
            indexes=props.get("LocalSecondaryIndexes", []),
            streams=props.get("StreamSpecification"),
            billing_mode=props.get("BillingMode", "PROVISIONED"),
            sse_specification=_api_sse(sse) if sse else None,
            tags=replica.get("Tags", []),
            deletion_protection_enabled=replica.get("DeletionProtectionEnabled", False),
            warm_throughput=None,
        )
        _point_in_time_recovery(backend, resource_name, replica.get("PointInTimeRecoverySpecification"))
        return cls(
            resource_name,
            account_id,
            region_name,
            {"Arn": table.table_arn, "StreamArn": table.describe()["TableDescription"].get("LatestStreamArn"), "TableId": table.table_arn.split("/")[-1]},
        )

    def delete(self, account_id: str, region_name: str) -> None:
        dynamodb_backends[account_id][region_name].delete_table(self.physical_resource_id)


class BucketPolicyModel(_Model, CloudFormationModel):
    __module__ = _MODULE
    TYPE = "AWS::S3::BucketPolicy"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> BucketPolicyModel:
        props = cloudformation_json["Properties"]
        bucket = props["Bucket"]
        backend = s3_backends[account_id][get_partition(region_name)]
        backend.put_bucket_policy(bucket, _policy_text(props["PolicyDocument"]).encode())
        return cls(bucket, account_id, region_name, {})

    def delete(self, account_id: str, region_name: str) -> None:
        from moto.s3.exceptions import MissingBucket

        try:
            s3_backends[account_id][get_partition(region_name)].delete_bucket_policy(self.physical_resource_id)
        except MissingBucket:
            pass  # the bucket went first, and its policy with it


class QueuePolicyModel(_Model, CloudFormationModel):
    __module__ = _MODULE
    TYPE = "AWS::SQS::QueuePolicy"
    ATTRIBUTES = ("Id",)

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> QueuePolicyModel:
        props = cloudformation_json["Properties"]
        queues = [url.rstrip("/").split("/")[-1] for url in props["Queues"]]
        for queue in queues:
            sqs_backends[account_id][region_name].set_queue_attributes(queue, {"Policy": _policy_text(props["PolicyDocument"])})
        model = cls(resource_name, account_id, region_name, {"Id": resource_name})
        model.queues = queues
        return model

    def delete(self, account_id: str, region_name: str) -> None:
        from moto.sqs.exceptions import QueueDoesNotExist

        for queue in self.queues:
            try:
                sqs_backends[account_id][region_name].set_queue_attributes(queue, {"Policy": ""})
            except QueueDoesNotExist:
                pass  # deleted with the stack before its policy: nothing left to detach


class TopicPolicyModel(_Model, CloudFormationModel):
    __module__ = _MODULE
    TYPE = "AWS::SNS::TopicPolicy"
    ATTRIBUTES = ("Id",)

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> TopicPolicyModel:
        props = cloudformation_json["Properties"]
        for topic in props["Topics"]:
            sns_backends[account_id][region_name].set_topic_attribute(topic, "policy", _policy_text(props["PolicyDocument"]))
        return cls(resource_name, account_id, region_name, {"Id": resource_name})

    def delete(self, account_id: str, region_name: str) -> None:
        pass  # the topics go with the stack; a topic keeps a policy until then


class SubscriptionModel(_Model, CloudFormationModel):
    __module__ = _MODULE
    TYPE = "AWS::SNS::Subscription"
    ATTRIBUTES = ("Arn",)

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> SubscriptionModel:
        props = cloudformation_json["Properties"]
        backend = sns_backends[account_id][region_name]
        subscription = backend.subscribe(props["TopicArn"], props["Endpoint"], props["Protocol"])
        if "RedrivePolicy" in props:  # where undeliverable notifications go
            backend.set_subscription_attributes(subscription.arn, "RedrivePolicy", json.dumps(props["RedrivePolicy"]))
        return cls(subscription.arn, account_id, region_name, {"Arn": subscription.arn})

    def delete(self, account_id: str, region_name: str) -> None:
        sns_backends[account_id][region_name].unsubscribe(self.physical_resource_id)


class EventInvokeConfigModel(_Model, CloudFormationModel):
    __module__ = _MODULE
    TYPE = "AWS::Lambda::EventInvokeConfig"
    ATTRIBUTES = ("Id",)

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> EventInvokeConfigModel:
        from moto.awslambda.models import lambda_backends

        props = cloudformation_json["Properties"]
        config = {k: props[k] for k in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig") if k in props}
        lambda_backends[account_id][region_name].put_function_event_invoke_config(props["FunctionName"], config)
        model = cls(resource_name, account_id, region_name, {"Id": resource_name})
        model.function = props["FunctionName"]
        return model

    def delete(self, account_id: str, region_name: str) -> None:
        from moto.awslambda.models import lambda_backends

        from moto.awslambda.exceptions import LambdaClientError

        try:
            lambda_backends[account_id][region_name].delete_function_event_invoke_config(self.function)
        except LambdaClientError:
            pass  # the function went first, and its invoke config with it


class GroupModel(_Model, CloudFormationModel):
    """An IAM group with its managed policies (a staticKeys writer's user gets its policy through one)."""

    __module__ = _MODULE
    TYPE = "AWS::IAM::Group"
    NAME_PROPERTY = "GroupName"
    ATTRIBUTES = ("Arn",)

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> GroupModel:
        from moto.iam.models import iam_backends

        props = cloudformation_json.get("Properties", {})
        backend = iam_backends[account_id][get_partition(region_name)]
        group = backend.create_group(resource_name, props.get("Path", "/"))
        for arn in props.get("ManagedPolicyArns", []):
            backend.attach_group_policy(arn, resource_name)
        return cls(resource_name, account_id, region_name, {"Arn": group.arn})

    def delete(self, account_id: str, region_name: str) -> None:
        from moto.iam.models import iam_backends

        backend = iam_backends[account_id][get_partition(region_name)]
        group = backend.get_group(self.physical_resource_id)
        for arn in list(group.managed_policies):
            backend.detach_group_policy(arn, self.physical_resource_id)
        for user in list(group.users):
            backend.remove_user_from_group(self.physical_resource_id, user.name)
        backend.delete_group(self.physical_resource_id)


class SecretModel(_Model, CloudFormationModel):
    """A Secrets Manager secret with its string and KMS key; Ref is its ARN, as CloudFormation's is."""

    __module__ = _MODULE
    TYPE = "AWS::SecretsManager::Secret"
    NAME_PROPERTY = "Name"
    ATTRIBUTES = ("Id",)

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> SecretModel:
        from moto.secretsmanager.models import secretsmanager_backends

        props = cloudformation_json.get("Properties", {})
        created = json.loads(
            secretsmanager_backends[account_id][region_name].create_secret(
                name=resource_name,
                secret_string=props.get("SecretString"),
                secret_binary=None,
                description=props.get("Description"),
                tags=props.get("Tags"),
                kms_key_id=props.get("KmsKeyId"),
                client_request_token=None,
                replica_regions=[],
                force_overwrite=False,
            )
        )
        return cls(created["ARN"], account_id, region_name, {"Id": created["ARN"]})

    def delete(self, account_id: str, region_name: str) -> None:
        from moto.secretsmanager.models import secretsmanager_backends

        secretsmanager_backends[account_id][region_name].delete_secret(self.physical_resource_id, None, True)


def _api_sse(spec: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation's SSESpecification (SSEEnabled) in the API's shape (Enabled), which moto reads."""
    out = {k: v for k, v in spec.items() if k != "SSEEnabled"}
    out["Enabled"] = bool(spec.get("SSEEnabled"))
    return out


def _point_in_time_recovery(backend: Any, table: str, spec: dict[str, Any] | None) -> None:
    if spec and spec.get("PointInTimeRecoveryEnabled"):
        backend.update_continuous_backups(table, {"PointInTimeRecoveryEnabled": True})


def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A CloudFormation lifecycle rule in the shape of PutBucketLifecycleConfiguration (what moto stores)."""
    out: dict[str, Any] = {"ID": rule.get("Id"), "Status": rule["Status"]}
    out["Filter"] = {"Prefix": rule.get("Prefix", "")}
    expiration: dict[str, Any] = {}
    if "ExpirationInDays" in rule:
        expiration["Days"] = rule["ExpirationInDays"]
    if "ExpiredObjectDeleteMarker" in rule:
        expiration["ExpiredObjectDeleteMarker"] = rule["ExpiredObjectDeleteMarker"]
    if expiration:
        out["Expiration"] = expiration
    if "NoncurrentVersionExpiration" in rule:
        out["NoncurrentVersionExpiration"] = rule["NoncurrentVersionExpiration"]
    elif "NoncurrentVersionExpirationInDays" in rule:
        out["NoncurrentVersionExpiration"] = {"NoncurrentDays": rule["NoncurrentVersionExpirationInDays"]}
    transitions = rule.get("Transitions", [])
    if "Transition" in rule:
        transitions = [*transitions, rule["Transition"]]
    if transitions:
        out["Transition"] = [{"Days": t.get("TransitionInDays"), "StorageClass": t["StorageClass"]} for t in transitions]
    if "NoncurrentVersionTransitions" in rule:
        out["NoncurrentVersionTransition"] = [
            {"NoncurrentDays": t["TransitionInDays"], "StorageClass": t["StorageClass"]}
            for t in rule["NoncurrentVersionTransitions"]
        ]
    if "AbortIncompleteMultipartUpload" in rule:
        out["AbortIncompleteMultipartUpload"] = rule["AbortIncompleteMultipartUpload"]
    return out


def _extend_bucket() -> None:
    original = FakeBucket.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
        bucket = original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        props = cloudformation_json.get("Properties", {})
        backend = s3_backends[account_id][get_partition(region_name)]
        if props.get("ObjectLockEnabled"):
            # Object Lock needs versioning, and is only set when the bucket is created, as in S3.
            bucket.object_lock_enabled = True
            bucket.versioning_status = "Enabled"
            rule = props.get("ObjectLockConfiguration", {}).get("Rule", {}).get("DefaultRetention")
            if rule:
                backend.put_object_lock_configuration(
                    resource_name, True, mode=rule.get("Mode"), days=rule.get("Days"), years=rule.get("Years")
                )
        encryption = props.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [{}])[0]
        if "BucketKeyEnabled" in encryption and bucket.encryption:
            bucket.encryption["Rule"]["BucketKeyEnabled"] = str(encryption["BucketKeyEnabled"]).lower()
        if "VersioningConfiguration" in props:
            backend.put_bucket_versioning(resource_name, props["VersioningConfiguration"]["Status"])
        if "PublicAccessBlockConfiguration" in props:
            backend.put_public_access_block(resource_name, props["PublicAccessBlockConfiguration"])
        if "OwnershipControls" in props:
            backend.put_bucket_ownership_controls(resource_name, props["OwnershipControls"]["Rules"][0]["ObjectOwnership"])
        if "LifecycleConfiguration" in props:
            backend.put_bucket_lifecycle(resource_name, [_lifecycle_rule(r) for r in props["LifecycleConfiguration"]["Rules"]])
        logging = props.get("LoggingConfiguration")
        if logging:
            # Stored as PutBucketLogging stores it. moto's own PutBucketLogging also demands that the target
            # bucket's policy already admits the logging service; CloudFormation creates that policy after
            # both buckets, so the check belongs to the deploy test's reading of both, not here.
            bucket.logging = {"TargetBucket": logging["DestinationBucketName"], "TargetPrefix": logging.get("LogFilePrefix", "")}
        return bucket

    FakeBucket.create_from_cloudformation_json = classmethod(create)  # type: ignore[method-assign]


def _evaluate_unconditional_bucket_statements() -> None:
    """moto evaluates a bucket policy's statements ignoring their conditions, so CDK's "deny unless TLS"
    statement would deny every request. Here only statements without a Condition are evaluated; the
    others are stored and returned by GetBucketPolicy, which is what the deploy test reads."""
    from moto.iam.access_control import IAMPolicy, PermissionResult

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        document = json.loads(self.policy.decode())
        statements = document.get("Statement", [])
        statements = [s for s in (statements if isinstance(statements, list) else [statements]) if "Condition" not in s]
        if not statements:
            return PermissionResult.NEUTRAL
        return IAMPolicy(json.dumps({**document, "Statement": statements})).is_action_permitted(action, resource)

    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]


def _extend_task_definition() -> None:
    from moto.core.utils import pascal_to_camelcase, remap_nested_keys

    def create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
        props = cloudformation_json["Properties"]

        def camel(value: Any) -> Any:
            return remap_nested_keys(value, pascal_to_camelcase) if value is not None else None

        return ecs_backends[account_id][region_name].register_task_definition(
            family=props.get("Family", resource_name),
            container_definitions=camel(props.get("ContainerDefinitions", [])),
            volumes=camel(props.get("Volumes", [])),
            network_mode=props.get("NetworkMode"),
            tags=camel(props.get("Tags")),
            requires_compatibilities=props.get("RequiresCompatibilities"),
            cpu=props.get("Cpu"),
            memory=props.get("Memory"),
            task_role_arn=props.get("TaskRoleArn"),
            execution_role_arn=props.get("ExecutionRoleArn"),
            runtime_platform=camel(props.get("RuntimePlatform")),
            ephemeral_storage=camel(props.get("EphemeralStorage")),
            pid_mode=props.get("PidMode"),
            ipc_mode=props.get("IpcMode"),
        )

    TaskDefinition.create_from_cloudformation_json = classmethod(create)  # type: ignore[method-assign]


def _extend_table() -> None:
    original = Table.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
        props = dict(cloudformation_json["Properties"])
        if "SSESpecification" in props:
            props["SSESpecification"] = _api_sse(props["SSESpecification"])
        cloudformation_json = {**cloudformation_json, "Properties": props}
        table = original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        spec = cloudformation_json["Properties"].get("PointInTimeRecoverySpecification")
        _point_in_time_recovery(dynamodb_backends[account_id][region_name], resource_name, spec)
        return table

    Table.create_from_cloudformation_json = classmethod(create)  # type: ignore[method-assign]


def _extend_function() -> None:
    """moto's Lambda takes only some properties from CloudFormation; these are the others it can store."""
    from moto.awslambda.models import LambdaFunction, LayerVersion

    original = LambdaFunction.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
        fn = original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        props = cloudformation_json["Properties"]
        if "Architectures" in props:
            fn.architectures = props["Architectures"]
        if "TracingConfig" in props:
            fn.tracing_config = props["TracingConfig"]
        if "KmsKeyArn" in props:
            fn.kms_key_arn = props["KmsKeyArn"]
        if "Layers" in props:
            fn.layers = fn._get_layers_data([getattr(layer, "arn", layer) for layer in props["Layers"]])
        return fn

    LambdaFunction.create_from_cloudformation_json = classmethod(create)  # type: ignore[method-assign]
    original_layer = LayerVersion.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create_layer(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
        layer = original_layer(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        layer.compatible_architectures = cloudformation_json["Properties"].get("CompatibleArchitectures", [])
        return layer

    LayerVersion.create_from_cloudformation_json = classmethod(create_layer)  # type: ignore[method-assign]
    # Ref of a layer version is its ARN in CloudFormation; moto's has no physical id at all.
    LayerVersion.physical_resource_id = property(lambda self: self.arn)  # type: ignore[attr-defined]


def _extend_role() -> None:
    """moto's IAM role from CloudFormation leaves ManagedPolicyArns out (and then cannot delete a role that has them)."""
    from moto.iam.models import Role, iam_backends

    original = Role.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
        role = original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        backend = iam_backends[account_id][get_partition(region_name)]
        for arn in cloudformation_json["Properties"].get("ManagedPolicyArns", []):
            backend.attach_role_policy(arn, role.name)
        return role

    original_delete = Role.delete_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def delete(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str) -> None:
        # CloudFormation detaches the managed policies it attached before it deletes the role.
        backend = iam_backends[account_id][get_partition(region_name)]
        role = backend.get_role(resource_name)
        for arn in list(role.managed_policies):
            backend.detach_role_policy(arn, resource_name)
        original_delete(cls, resource_name, cloudformation_json, account_id, region_name)

    Role.create_from_cloudformation_json = classmethod(create)  # type: ignore[method-assign]
    Role.delete_from_cloudformation_json = classmethod(delete)  # type: ignore[method-assign]


def _extend_user() -> None:
    """moto's IAM user from CloudFormation leaves Groups out (and CloudFormation takes it out of them before deleting it)."""
    from moto.iam.models import User, iam_backends

    original = User.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
        user = original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        backend = iam_backends[account_id][get_partition(region_name)]
        for group in cloudformation_json["Properties"].get("Groups", []):
            backend.add_user_to_group(group, user.name)
        return user

    original_delete = User.delete_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def delete(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str) -> None:
        backend = iam_backends[account_id][get_partition(region_name)]
        for group in backend.get_groups_for_user(resource_name):
            backend.remove_user_from_group(group.name, resource_name)
        original_delete(cls, resource_name, cloudformation_json, account_id, region_name)

    User.create_from_cloudformation_json = classmethod(create)  # type: ignore[method-assign]
    User.delete_from_cloudformation_json = classmethod(delete)  # type: ignore[method-assign]


def _fix_key_policy() -> None:
    """moto's KMS key from CloudFormation stores KeyPolicy as the template's object, which breaks DescribeKey."""
    from moto.kms.models import Key

    original = Key.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
        props = dict(cloudformation_json["Properties"])
        if not isinstance(props.get("KeyPolicy"), str):
            props["KeyPolicy"] = json.dumps(props["KeyPolicy"])
        return original(cls, resource_name, {**cloudformation_json, "Properties": props}, account_id, region_name, **kwargs)

    Key.create_from_cloudformation_json = classmethod(create)  # type: ignore[method-assign]


def _extend_log_group() -> None:
    """moto's log group from CloudFormation drops KmsKeyId (it reads the API's kmsKeyId)."""
    from moto.logs.models import LogGroup

    original = LogGroup.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any) -> Any:
        group = original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        if "KmsKeyId" in cloudformation_json["Properties"]:
            group.kms_key_id = cloudformation_json["Properties"]["KmsKeyId"]
        return group

    LogGroup.create_from_cloudformation_json = classmethod(create)  # type: ignore[method-assign]


def _fix_log_group_arn() -> None:
    """CloudFormation's Fn::GetAtt LogGroup.Arn ends in ":*" (as DescribeLogGroups' arn does); moto's lacks it."""
    from moto.logs.models import LogGroup

    original = LogGroup.get_cfn_attribute

    def get_cfn_attribute(self: Any, attribute_name: str) -> Any:
        value = original(self, attribute_name)
        return f"{value}:*" if attribute_name == "Arn" and not value.endswith(":*") else value

    LogGroup.get_cfn_attribute = get_cfn_attribute  # type: ignore[method-assign]


def install() -> None:
    """Registers the models and property hooks; call before moto's server handles its first request."""
    check_moto_version()
    _extend_bucket()
    _evaluate_unconditional_bucket_statements()
    _extend_task_definition()
    _extend_table()
    _extend_function()
    _extend_role()
    _extend_user()
    _fix_key_policy()
    _fix_log_group_arn()
    _extend_log_group()
    # moto caches its model registry (CloudFormationModel subclasses) on first use: rebuild it with ours.
    parsing.get_model_list.cache_clear()
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()
    registered = parsing.get_model_map()
    for model in _Model.__subclasses__():  # the new types above
        if registered.get(model.TYPE) is not model:
            raise SystemExit(f"moto_cfn_plugin: {model.TYPE} did not register")
