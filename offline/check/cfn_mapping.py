"""Every pulumi-aws type the program creates, mapped to its CloudFormation type and properties.

The plan's AWS-constraints layer (offline/check/aws_constraints.py) turns each recorded AWS
resource into the CloudFormation resource that would create the same thing, then lets
cfn-lint judge it with the schemas and data AWS publishes. This module is the one place
that says how: for each pulumi-aws type token either a `CfnMapping` (CFN type, and for
each pulumi input the CFN property it becomes, with a value transform where the shapes
differ) or a `NoEquivalent` with the reason nothing can be checked. A test fails when the
program creates a type that has neither (tests/test_aws_constraints.py).

Shapes follow the pulumi-aws input names (camelCase, as recorded in plan.json) and the
CloudFormation resource reference
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-template-resource-type-ref.html).
Inputs that have no CFN property (provider-only behaviour such as `applyImmediately`) are
listed in `ignored` with the reason, so an input that is neither mapped nor ignored is
noticed by the same test.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Union

Transform = Callable[[Any], Any]


def pascal(key: str) -> str:
    return key[:1].upper() + key[1:]


def keys_to_pascal(value: Any, renames: Mapping[str, str] | None = None) -> Any:
    """camelCase keys to CloudFormation's PascalCase, at every depth (renames win)."""
    renames = renames or {}
    if isinstance(value, dict):
        return {renames.get(k, pascal(k)): keys_to_pascal(v, renames) for k, v in value.items()}
    if isinstance(value, list):
        return [keys_to_pascal(v, renames) for v in value]
    return value


def tag_list(value: Any) -> Any:
    """pulumi's `tags` map to CloudFormation's [{Key, Value}] list."""
    if isinstance(value, dict):
        return [{"Key": k, "Value": v} for k, v in value.items()]
    return value


def json_document(value: Any) -> Any:
    """IAM/KMS policies are JSON strings in pulumi, objects in CloudFormation."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def as_string(value: Any) -> Any:
    # CloudFormation types some numbers as strings (RDS AllocatedStorage, Route 53 TTL).
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def wrap_list(value: Any) -> Any:
    return value if isinstance(value, list) else [value]


def _dimension_list(value: Any) -> Any:
    """pulumi's alarm `dimensions` map to CloudFormation's [{Name, Value}] list."""
    if isinstance(value, dict):
        return [{"Name": k, "Value": v} for k, v in value.items()]
    return value


def _scrape_configuration(value: Any) -> Any:
    # pulumi takes the scrape configuration YAML itself; CloudFormation wraps it.
    return {"ConfigurationBlob": value}


def nested(renames: Mapping[str, str] | None = None) -> Transform:
    return lambda value: keys_to_pascal(value, renames)


def _launch_template_tags(value: Any) -> Any:
    return [
        {"ResourceType": spec.get("resourceType"), "Tags": tag_list(spec.get("tags"))}
        if isinstance(spec, dict) else spec
        for spec in (value if isinstance(value, list) else [])
    ]


def _sg_rules(cidr_key: str, group_key: str) -> Transform:
    """Inline rules: pulumi takes lists of CIDRs per rule, CloudFormation one CIDR per rule."""

    def convert(value: Any) -> Any:
        rules: list[Any] = []
        for rule in value if isinstance(value, list) else []:
            if not isinstance(rule, dict):
                rules.append(rule)
                continue
            base = {"IpProtocol": rule.get("protocol"), "FromPort": rule.get("fromPort"),
                    "ToPort": rule.get("toPort")}
            if "description" in rule:
                base["Description"] = rule["description"]
            targets = [(cidr_key, c) for c in rule.get("cidrBlocks") or []]
            targets += [("CidrIpv6", c) for c in rule.get("ipv6CidrBlocks") or []]
            targets += [(group_key, g) for g in rule.get("securityGroups") or []]
            if rule.get("self"):
                targets.append((group_key, {"Ref": "PlanUnknown"}))  # the group's own id
            rules.extend([{**base, key: target} for key, target in targets] or [base])
        return rules

    return convert


def _eks_logging(value: Any) -> Any:
    return {"ClusterLogging": {"EnabledTypes": [{"Type": t} for t in wrap_list(value)]}}


def _msk_client_authentication(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    sasl = value.get("sasl")
    if isinstance(sasl, dict):
        out["Sasl"] = {pascal(k): {"Enabled": v} for k, v in sasl.items() if isinstance(v, bool)}
    if isinstance(value.get("unauthenticated"), bool):
        out["Unauthenticated"] = {"Enabled": value["unauthenticated"]}
    if isinstance(value.get("tls"), dict):
        out["Tls"] = keys_to_pascal(value["tls"])
    return out


def _msk_encryption(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    if "encryptionAtRestKmsKeyArn" in value:
        out["EncryptionAtRest"] = {"DataVolumeKMSKeyId": value["encryptionAtRestKmsKeyArn"]}
    if "encryptionInTransit" in value:
        out["EncryptionInTransit"] = keys_to_pascal(value["encryptionInTransit"])
    return out


def _rds_parameters(value: Any) -> Any:
    """[{name, value, applyMethod}] to CloudFormation's {name: value} map."""
    if not isinstance(value, list):
        return value
    return {p["name"]: p.get("value") for p in value if isinstance(p, dict) and "name" in p}


def _route53_alias(value: Any) -> Any:
    first = value[0] if isinstance(value, list) and value else value
    if not isinstance(first, dict):
        return first
    return {"DNSName": first.get("name"), "HostedZoneId": first.get("zoneId"),
            "EvaluateTargetHealth": first.get("evaluateTargetHealth")}


Prop = Union[str, tuple[str, Transform]]


@dataclass(frozen=True)
class Shadow:
    """The same inputs judged once more as another CFN type, for data cfn-lint attaches
    only to that type; only the listed rules count there."""

    cfn_type: str
    props: Mapping[str, str]
    rules: frozenset[str]
    reason: str
    fixed: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CfnMapping:
    cfn_type: str
    props: Mapping[str, Prop]
    # Inputs with no CloudFormation property, and why.
    ignored: Mapping[str, str] = field(default_factory=dict)
    # CFN properties the provider fills in when the input is absent (auto-naming):
    # unknown at plan time, so given as an unknown rather than reported as missing.
    computed: tuple[str, ...] = ()
    # Properties CloudFormation needs that the pulumi type implies (or defaults) when absent.
    fixed: Mapping[str, Any] = field(default_factory=dict)
    # Where the inputs nest under one CFN property (LaunchTemplate's LaunchTemplateData),
    # except those in top_level.
    container: str = ""
    top_level: tuple[str, ...] = ()
    shadows: tuple[Shadow, ...] = ()


@dataclass(frozen=True)
class NoEquivalent:
    reason: str


TAGS: tuple[str, Transform] = ("Tags", tag_list)
_PULUMI_NAME = "pulumi auto-names the resource when `name` is absent"
_FINAL_SNAPSHOT = "CloudFormation takes a final snapshot through the DeletionPolicy, not a property"

MAPPINGS: Mapping[str, CfnMapping | NoEquivalent] = {
    "aws:amp/alertManagerDefinition:AlertManagerDefinition": NoEquivalent(
        "CloudFormation sets the definition as AWS::APS::Workspace's AlertManagerDefinition property"
    ),
    "aws:amp/ruleGroupNamespace:RuleGroupNamespace": CfnMapping(
        "AWS::APS::RuleGroupsNamespace",
        {"name": "Name", "data": "Data", "workspaceId": "Workspace", "tags": TAGS},
    ),
    "aws:amp/scraper:Scraper": CfnMapping(
        "AWS::APS::Scraper",
        {"alias": "Alias", "scrapeConfiguration": ("ScrapeConfiguration", _scrape_configuration),
         "source": ("Source", nested({"eks": "EksConfiguration"})),
         "destination": ("Destination", nested({"amp": "AmpConfiguration"})),
         "roleConfiguration": ("RoleConfiguration", nested()), "tags": TAGS},
    ),
    "aws:amp/workspace:Workspace": CfnMapping(
        "AWS::APS::Workspace",
        {"alias": "Alias", "kmsKeyArn": "KmsKeyArn",
         "loggingConfiguration": ("LoggingConfiguration", nested()), "tags": TAGS},
    ),
    "aws:acm/certificate:Certificate": CfnMapping(
        "AWS::CertificateManager::Certificate",
        {"domainName": "DomainName", "subjectAlternativeNames": "SubjectAlternativeNames",
         "validationMethod": "ValidationMethod", "keyAlgorithm": "KeyAlgorithm",
         "certificateAuthorityArn": "CertificateAuthorityArn", "tags": TAGS},
    ),
    "aws:acm/certificateValidation:CertificateValidation": NoEquivalent(
        "a provider-side waiter: CloudFormation's Certificate waits for DNS validation itself"
    ),
    "aws:appautoscaling/policy:Policy": CfnMapping(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {"name": "PolicyName", "policyType": "PolicyType", "resourceId": "ResourceId",
         "scalableDimension": "ScalableDimension", "serviceNamespace": "ServiceNamespace",
         "targetTrackingScalingPolicyConfiguration": ("TargetTrackingScalingPolicyConfiguration", nested()),
         "stepScalingPolicyConfiguration": ("StepScalingPolicyConfiguration", nested())},
        computed=("PolicyName",),
    ),
    "aws:appautoscaling/target:Target": CfnMapping(
        "AWS::ApplicationAutoScaling::ScalableTarget",
        {"maxCapacity": "MaxCapacity", "minCapacity": "MinCapacity", "resourceId": "ResourceId",
         "scalableDimension": "ScalableDimension", "serviceNamespace": "ServiceNamespace",
         "roleArn": "RoleARN", "tags": ("Tags", nested())},
    ),
    "aws:cloudwatch/eventRule:EventRule": CfnMapping(
        "AWS::Events::Rule",
        {"name": "Name", "description": "Description", "eventPattern": ("EventPattern", json_document),
         "eventBusName": "EventBusName", "state": "State"},
        ignored={"tags": "AWS::Events::Rule has no Tags property (tags are set by TagResource)"},
    ),
    "aws:cloudwatch/eventTarget:EventTarget": NoEquivalent(
        "CloudFormation declares a rule's targets inside AWS::Events::Rule (Targets), not as a resource"
    ),
    "aws:cloudwatch/dashboard:Dashboard": CfnMapping(
        "AWS::CloudWatch::Dashboard", {"dashboardName": "DashboardName", "dashboardBody": "DashboardBody"},
    ),
    "aws:cloudwatch/metricAlarm:MetricAlarm": CfnMapping(
        "AWS::CloudWatch::Alarm",
        {"name": "AlarmName", "alarmDescription": "AlarmDescription",
         "comparisonOperator": "ComparisonOperator", "dimensions": ("Dimensions", _dimension_list),
         "evaluationPeriods": "EvaluationPeriods", "datapointsToAlarm": "DatapointsToAlarm",
         "metricName": "MetricName", "namespace": "Namespace", "period": "Period",
         "statistic": "Statistic", "extendedStatistic": "ExtendedStatistic", "threshold": "Threshold",
         "treatMissingData": "TreatMissingData", "unit": "Unit", "alarmActions": "AlarmActions",
         "okActions": "OKActions", "insufficientDataActions": "InsufficientDataActions", "tags": TAGS},
    ),
    "aws:cloudwatch/logGroup:LogGroup": CfnMapping(
        "AWS::Logs::LogGroup",
        {"name": "LogGroupName", "retentionInDays": "RetentionInDays", "kmsKeyId": "KmsKeyId",
         "logGroupClass": "LogGroupClass", "tags": TAGS},
    ),
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": NoEquivalent(
        "adopts the VPC's default security group; CloudFormation cannot manage it"
    ),
    "aws:ec2/tag:Tag": NoEquivalent(
        "tags one existing resource by id (Karpenter's discovery tag on an adopted VPC's subnets); "
        "CloudFormation tags only the resources it declares"
    ),
    "aws:ec2/eip:Eip": CfnMapping("AWS::EC2::EIP", {"domain": "Domain", "tags": TAGS}),
    "aws:ec2/flowLog:FlowLog": CfnMapping(
        "AWS::EC2::FlowLog",
        {"iamRoleArn": "DeliverLogsPermissionArn", "logDestination": "LogDestination",
         "logDestinationType": "LogDestinationType", "trafficType": "TrafficType",
         "vpcId": "ResourceId", "maxAggregationInterval": "MaxAggregationInterval",
         "logFormat": "LogFormat", "tags": TAGS},
        fixed={"ResourceType": "VPC"},
    ),
    "aws:ec2/internetGateway:InternetGateway": CfnMapping(
        "AWS::EC2::InternetGateway", {"tags": TAGS},
        ignored={"vpcId": "CloudFormation attaches it with AWS::EC2::VPCGatewayAttachment (ids only)"},
    ),
    "aws:ec2/launchTemplate:LaunchTemplate": CfnMapping(
        "AWS::EC2::LaunchTemplate",
        {"blockDeviceMappings": ("BlockDeviceMappings", nested()),
         "metadataOptions": ("MetadataOptions", nested()),
         "tagSpecifications": ("TagSpecifications", _launch_template_tags),
         "imageId": "ImageId", "instanceType": "InstanceType", "userData": "UserData",
         "vpcSecurityGroupIds": "SecurityGroupIds", "keyName": "KeyName",
         "name": "LaunchTemplateName", "description": "VersionDescription"},
        container="LaunchTemplateData", top_level=("name", "description"),
        ignored={"tags": "tags of the template itself (TagSpecifications of type launch-template in CFN)"},
    ),
    "aws:ec2/natGateway:NatGateway": CfnMapping(
        "AWS::EC2::NatGateway",
        {"allocationId": "AllocationId", "connectivityType": "ConnectivityType",
         "subnetId": "SubnetId", "tags": TAGS},
    ),
    "aws:ec2/route:Route": CfnMapping(
        "AWS::EC2::Route",
        {"destinationCidrBlock": "DestinationCidrBlock", "natGatewayId": "NatGatewayId",
         "gatewayId": "GatewayId", "routeTableId": "RouteTableId",
         "destinationIpv6CidrBlock": "DestinationIpv6CidrBlock"},
    ),
    "aws:ec2/routeTable:RouteTable": CfnMapping("AWS::EC2::RouteTable", {"vpcId": "VpcId", "tags": TAGS}),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": CfnMapping(
        "AWS::EC2::SubnetRouteTableAssociation", {"routeTableId": "RouteTableId", "subnetId": "SubnetId"},
    ),
    "aws:ec2/securityGroup:SecurityGroup": CfnMapping(
        "AWS::EC2::SecurityGroup",
        {"description": "GroupDescription", "name": "GroupName", "vpcId": "VpcId", "tags": TAGS,
         "ingress": ("SecurityGroupIngress", _sg_rules("CidrIp", "SourceSecurityGroupId")),
         "egress": ("SecurityGroupEgress", _sg_rules("CidrIp", "DestinationSecurityGroupId"))},
        ignored={"revokeRulesOnDelete": "provider behaviour on delete"},
        # pulumi-aws defaults the description to "Managed by Pulumi" (valid).
        fixed={"GroupDescription": "Managed by Pulumi"},
    ),
    "aws:ec2/subnet:Subnet": CfnMapping(
        "AWS::EC2::Subnet",
        {"availabilityZone": "AvailabilityZone", "cidrBlock": "CidrBlock", "vpcId": "VpcId",
         "mapPublicIpOnLaunch": "MapPublicIpOnLaunch", "tags": TAGS},
    ),
    "aws:ec2/vpc:Vpc": CfnMapping(
        "AWS::EC2::VPC",
        {"cidrBlock": "CidrBlock", "enableDnsHostnames": "EnableDnsHostnames",
         "enableDnsSupport": "EnableDnsSupport", "instanceTenancy": "InstanceTenancy", "tags": TAGS},
    ),
    "aws:eks/accessEntry:AccessEntry": CfnMapping(
        "AWS::EKS::AccessEntry",
        {"clusterName": "ClusterName", "principalArn": "PrincipalArn", "type": "Type",
         "kubernetesGroups": "KubernetesGroups", "userName": "Username", "tags": TAGS},
    ),
    # CloudFormation has no resource of its own for it: the association is an item of the
    # AccessEntry's AccessPolicies, judged here in that shape.
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": CfnMapping(
        "AWS::EKS::AccessEntry",
        {"clusterName": "ClusterName", "principalArn": "PrincipalArn",
         # Two inputs, one CFN item: the layer merges one-item lists of the same property.
         "policyArn": ("AccessPolicies", lambda arn: [{"PolicyArn": arn}]),
         "accessScope": ("AccessPolicies", lambda scope: [{"AccessScope": keys_to_pascal(scope)}])},
    ),
    "aws:eks/addon:Addon": CfnMapping(
        "AWS::EKS::Addon",
        {"addonName": "AddonName", "clusterName": "ClusterName", "addonVersion": "AddonVersion",
         "resolveConflictsOnUpdate": "ResolveConflicts", "serviceAccountRoleArn": "ServiceAccountRoleArn",
         "configurationValues": "ConfigurationValues",
         "podIdentityAssociations": ("PodIdentityAssociations", nested()), "tags": TAGS},
        ignored={"resolveConflictsOnCreate": "CloudFormation has one ResolveConflicts (mapped from OnUpdate)"},
    ),
    "aws:eks/cluster:Cluster": CfnMapping(
        "AWS::EKS::Cluster",
        {"name": "Name", "roleArn": "RoleArn", "version": "Version",
         "accessConfig": ("AccessConfig", nested()),
         "bootstrapSelfManagedAddons": "BootstrapSelfManagedAddons",
         "deletionProtection": "DeletionProtection",
         "encryptionConfig": ("EncryptionConfig", lambda v: wrap_list(keys_to_pascal(v))),
         "vpcConfig": ("ResourcesVpcConfig", nested()),
         "enabledClusterLogTypes": ("Logging", _eks_logging),
         "kubernetesNetworkConfig": ("KubernetesNetworkConfig", nested()),
         "upgradePolicy": ("UpgradePolicy", nested()), "tags": TAGS},
        computed=("Name",),
    ),
    "aws:eks/nodeGroup:NodeGroup": CfnMapping(
        "AWS::EKS::Nodegroup",
        {"amiType": "AmiType", "capacityType": "CapacityType", "clusterName": "ClusterName",
         "instanceTypes": "InstanceTypes", "launchTemplate": ("LaunchTemplate", nested()),
         "nodeRoleArn": "NodeRole", "scalingConfig": ("ScalingConfig", nested()),
         "subnetIds": "Subnets", "updateConfig": ("UpdateConfig", nested()), "version": "Version",
         "nodeGroupName": "NodegroupName", "labels": "Labels", "diskSize": "DiskSize",
         "taints": ("Taints", nested()), "tags": "Tags"},
    ),
    "aws:elasticache/replicationGroup:ReplicationGroup": CfnMapping(
        "AWS::ElastiCache::ReplicationGroup",
        {"description": "ReplicationGroupDescription", "replicationGroupId": "ReplicationGroupId",
         "engine": "Engine", "engineVersion": "EngineVersion", "nodeType": "CacheNodeType",
         "numCacheClusters": "NumCacheClusters", "port": "Port",
         "atRestEncryptionEnabled": "AtRestEncryptionEnabled",
         "transitEncryptionEnabled": "TransitEncryptionEnabled",
         "transitEncryptionMode": "TransitEncryptionMode", "authToken": "AuthToken",
         "automaticFailoverEnabled": "AutomaticFailoverEnabled", "multiAzEnabled": "MultiAZEnabled",
         "kmsKeyId": "KmsKeyId", "securityGroupIds": "SecurityGroupIds",
         "subnetGroupName": "CacheSubnetGroupName", "snapshotRetentionLimit": "SnapshotRetentionLimit",
         "snapshotWindow": "SnapshotWindow", "maintenanceWindow": "PreferredMaintenanceWindow",
         "autoMinorVersionUpgrade": "AutoMinorVersionUpgrade", "parameterGroupName": "CacheParameterGroupName",
         "logDeliveryConfigurations": ("LogDeliveryConfigurations", nested()), "tags": TAGS},
        ignored={"applyImmediately": "provider behaviour on update"},
        shadows=(Shadow(
            "AWS::ElastiCache::CacheCluster",
            {"engine": "Engine", "engineVersion": "EngineVersion", "nodeType": "CacheNodeType"},
            # E3695: the engine versions ElastiCache offers per engine (redis up to 7.1, valkey
            # 7.2 on); E3647: the node types orderable in the region.
            frozenset({"E3695", "E3647"}),
            "cfn-lint applies ElastiCache's engine-version and node-type data to CacheCluster only; "
            "a replication group's nodes are cache clusters of the same engine and type",
            fixed={"NumCacheNodes": 1},
        ),),
    ),
    "aws:elasticache/subnetGroup:SubnetGroup": CfnMapping(
        "AWS::ElastiCache::SubnetGroup",
        {"description": "Description", "subnetIds": "SubnetIds", "name": "CacheSubnetGroupName", "tags": TAGS},
    ),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": CfnMapping(
        "AWS::IAM::OIDCProvider",
        {"clientIdLists": "ClientIdList", "url": "Url", "thumbprintLists": "ThumbprintList", "tags": TAGS},
    ),
    "aws:iam/policy:Policy": CfnMapping(
        "AWS::IAM::ManagedPolicy",
        {"description": "Description", "policy": ("PolicyDocument", json_document),
         "name": "ManagedPolicyName", "path": "Path"},
        ignored={"tags": "AWS::IAM::ManagedPolicy has no Tags"},
    ),
    "aws:iam/role:Role": CfnMapping(
        "AWS::IAM::Role",
        {"assumeRolePolicy": ("AssumeRolePolicyDocument", json_document), "description": "Description",
         "name": "RoleName", "maxSessionDuration": "MaxSessionDuration", "path": "Path",
         "permissionsBoundary": "PermissionsBoundary", "managedPolicyArns": "ManagedPolicyArns", "tags": TAGS},
        ignored={"forceDetachPolicies": "provider behaviour on delete"},
    ),
    "aws:iam/rolePolicy:RolePolicy": CfnMapping(
        "AWS::IAM::RolePolicy",
        {"policy": ("PolicyDocument", json_document), "name": "PolicyName", "role": "RoleName"},
        computed=("PolicyName",),
    ),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": NoEquivalent(
        "CloudFormation attaches managed policies through AWS::IAM::Role ManagedPolicyArns; "
        "the inputs are a role name and an ARN, both outputs of other resources"
    ),
    "aws:kms/alias:Alias": CfnMapping("AWS::KMS::Alias", {"name": "AliasName", "targetKeyId": "TargetKeyId"}),
    "aws:kms/key:Key": CfnMapping(
        "AWS::KMS::Key",
        {"description": "Description", "enableKeyRotation": "EnableKeyRotation",
         "deletionWindowInDays": "PendingWindowInDays", "policy": ("KeyPolicy", json_document),
         "keyUsage": "KeyUsage", "customerMasterKeySpec": "KeySpec", "multiRegion": "MultiRegion",
         "rotationPeriodInDays": "RotationPeriodInDays", "tags": TAGS},
    ),
    "aws:msk/cluster:Cluster": CfnMapping(
        "AWS::MSK::Cluster",
        {"brokerNodeGroupInfo": ("BrokerNodeGroupInfo", nested({"ebsStorageInfo": "EBSStorageInfo"})),
         "clientAuthentication": ("ClientAuthentication", _msk_client_authentication),
         "clusterName": "ClusterName", "configurationInfo": ("ConfigurationInfo", nested()),
         "encryptionInfo": ("EncryptionInfo", _msk_encryption), "enhancedMonitoring": "EnhancedMonitoring",
         "kafkaVersion": "KafkaVersion",
         "loggingInfo": ("LoggingInfo", nested({"cloudwatchLogs": "CloudWatchLogs"})),
         "numberOfBrokerNodes": "NumberOfBrokerNodes",
         "openMonitoring": ("OpenMonitoring", nested()), "storageMode": "StorageMode", "tags": "Tags"},
    ),
    "aws:msk/configuration:Configuration": CfnMapping(
        "AWS::MSK::Configuration",
        {"description": "Description", "kafkaVersions": "KafkaVersionsList", "name": "Name",
         "serverProperties": "ServerProperties"},
    ),
    "aws:rds/instance:Instance": CfnMapping(
        "AWS::RDS::DBInstance",
        {"allocatedStorage": ("AllocatedStorage", as_string), "allowMajorVersionUpgrade": "AllowMajorVersionUpgrade",
         "autoMinorVersionUpgrade": "AutoMinorVersionUpgrade", "backupRetentionPeriod": "BackupRetentionPeriod",
         "backupWindow": "PreferredBackupWindow", "maintenanceWindow": "PreferredMaintenanceWindow",
         "caCertIdentifier": "CACertificateIdentifier", "copyTagsToSnapshot": "CopyTagsToSnapshot",
         "dbName": "DBName", "dbSubnetGroupName": "DBSubnetGroupName",
         "deleteAutomatedBackups": "DeleteAutomatedBackups", "deletionProtection": "DeletionProtection",
         "enabledCloudwatchLogsExports": "EnableCloudwatchLogsExports", "engine": "Engine",
         "engineVersion": "EngineVersion", "identifier": "DBInstanceIdentifier",
         "instanceClass": "DBInstanceClass", "kmsKeyId": "KmsKeyId",
         "manageMasterUserPassword": "ManageMasterUserPassword",
         "masterUserSecretKmsKeyId": ("MasterUserSecret", lambda v: {"KmsKeyId": v}),
         "maxAllocatedStorage": "MaxAllocatedStorage", "multiAz": "MultiAZ",
         "parameterGroupName": "DBParameterGroupName",
         "performanceInsightsEnabled": "EnablePerformanceInsights",
         "performanceInsightsKmsKeyId": "PerformanceInsightsKMSKeyId",
         "performanceInsightsRetentionPeriod": "PerformanceInsightsRetentionPeriod",
         "databaseInsightsMode": "DatabaseInsightsMode",
         "monitoringInterval": "MonitoringInterval", "monitoringRoleArn": "MonitoringRoleArn",
         "port": "Port", "publiclyAccessible": "PubliclyAccessible", "storageEncrypted": "StorageEncrypted",
         "storageType": "StorageType", "iops": "Iops", "storageThroughput": "StorageThroughput",
         "username": "MasterUsername", "password": "MasterUserPassword",
         "vpcSecurityGroupIds": "VPCSecurityGroups", "iamDatabaseAuthenticationEnabled":
         "EnableIAMDatabaseAuthentication", "networkType": "NetworkType", "tags": TAGS},
        ignored={"applyImmediately": "provider behaviour on update",
                 "finalSnapshotIdentifier": _FINAL_SNAPSHOT, "skipFinalSnapshot": _FINAL_SNAPSHOT},
    ),
    "aws:rds/parameterGroup:ParameterGroup": CfnMapping(
        "AWS::RDS::DBParameterGroup",
        {"description": "Description", "family": "Family", "parameters": ("Parameters", _rds_parameters),
         "name": "DBParameterGroupName", "tags": TAGS},
        # pulumi-aws defaults the description to "Managed by Pulumi".
        fixed={"Description": "Managed by Pulumi"},
    ),
    "aws:rds/subnetGroup:SubnetGroup": CfnMapping(
        "AWS::RDS::DBSubnetGroup",
        {"description": "DBSubnetGroupDescription", "subnetIds": "SubnetIds", "name": "DBSubnetGroupName",
         "tags": TAGS},
        fixed={"DBSubnetGroupDescription": "Managed by Pulumi"},
    ),
    "aws:route53/record:Record": CfnMapping(
        "AWS::Route53::RecordSet",
        {"name": "Name", "records": "ResourceRecords", "ttl": ("TTL", as_string), "type": "Type",
         "zoneId": "HostedZoneId", "aliases": ("AliasTarget", _route53_alias), "setIdentifier": "SetIdentifier"},
        ignored={"allowOverwrite": "provider behaviour (UPSERT instead of CREATE)"},
    ),
    "aws:secretsmanager/secret:Secret": CfnMapping(
        "AWS::SecretsManager::Secret",
        {"description": "Description", "kmsKeyId": "KmsKeyId", "name": "Name", "tags": TAGS},
        ignored={"recoveryWindowInDays": "a DeleteSecret parameter; CloudFormation has no property for it",
                 "forceOverwriteReplicaSecret": "provider behaviour"},
    ),
    "aws:secretsmanager/secretVersion:SecretVersion": NoEquivalent(
        "CloudFormation sets the value through the Secret's SecretString; the only inputs are the "
        "secret's id (an output) and the secret value, which is never inspected"
    ),
    "aws:sns/topic:Topic": CfnMapping(
        "AWS::SNS::Topic", {"name": "TopicName", "kmsMasterKeyId": "KmsMasterKeyId", "tags": TAGS},
    ),
    "aws:sns/topicPolicy:TopicPolicy": CfnMapping(
        "AWS::SNS::TopicPolicy", {"policy": ("PolicyDocument", json_document), "arn": ("Topics", wrap_list)},
    ),
    "aws:sns/topicSubscription:TopicSubscription": CfnMapping(
        "AWS::SNS::Subscription",
        {"topic": "TopicArn", "protocol": "Protocol", "endpoint": "Endpoint",
         "filterPolicy": ("FilterPolicy", json_document), "filterPolicyScope": "FilterPolicyScope",
         "rawMessageDelivery": "RawMessageDelivery"},
        ignored={"endpointAutoConfirms": "provider-side: whether pulumi waits for the endpoint to confirm",
                 "confirmationTimeoutInMinutes": "provider-side wait for the confirmation"},
    ),
    "aws:sqs/queue:Queue": CfnMapping(
        "AWS::SQS::Queue",
        {"name": "QueueName", "messageRetentionSeconds": "MessageRetentionPeriod",
         "sqsManagedSseEnabled": "SqsManagedSseEnabled", "kmsMasterKeyId": "KmsMasterKeyId", "tags": TAGS},
    ),
    "aws:sqs/queuePolicy:QueuePolicy": CfnMapping(
        "AWS::SQS::QueuePolicy",
        {"policy": ("PolicyDocument", json_document), "queueUrl": ("Queues", wrap_list)},
    ),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": CfnMapping(
        "AWS::EC2::SecurityGroupIngress",
        {"description": "Description", "fromPort": "FromPort", "toPort": "ToPort", "ipProtocol": "IpProtocol",
         "cidrIpv4": "CidrIp", "cidrIpv6": "CidrIpv6", "referencedSecurityGroupId": "SourceSecurityGroupId",
         "prefixListId": "SourcePrefixListId", "securityGroupId": "GroupId"},
        ignored={"tags": "AWS::EC2::SecurityGroupIngress has no Tags"},
    ),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": CfnMapping(
        "AWS::EC2::SecurityGroupEgress",
        {"description": "Description", "fromPort": "FromPort", "toPort": "ToPort", "ipProtocol": "IpProtocol",
         "cidrIpv4": "CidrIp", "cidrIpv6": "CidrIpv6", "referencedSecurityGroupId": "DestinationSecurityGroupId",
         "prefixListId": "DestinationPrefixListId", "securityGroupId": "GroupId"},
        ignored={"tags": "AWS::EC2::SecurityGroupEgress has no Tags"},
    ),
}


# cfn-lint rules that judge the mapping, not the input, for a type (see aws_constraints).
MAPPINGS_NOT_APPLICABLE: Mapping[str, frozenset[str]] = {
    # Mapped onto AWS::EKS::AccessEntry, so it shares its entry's (ClusterName, PrincipalArn).
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": frozenset({"E3019"}),
}
