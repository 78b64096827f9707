import pulumi_aws as aws

from tests.harness import one, run


def test_component_plans_with_fabricated_outputs() -> None:
    def program() -> dict[str, object]:
        provider = aws.Provider("aws", region="eu-west-1")
        vpc = aws.ec2.Vpc("v", cidr_block="10.1.0.0/16", opts=__import__("pulumi").ResourceOptions(provider=provider))
        return {"vpcId": vpc.id, "arn": vpc.arn}

    plan = run(program, region="eu-west-1")
    vpc = one(plan, "aws:ec2/vpc:Vpc", "v")
    assert vpc.inputs["cidrBlock"] == "10.1.0.0/16"
    assert vpc.provider is not None and vpc.provider.endswith("pulumi:providers:aws::aws")
    assert plan.outputs["vpcId"].value.startswith("vpc-")
    assert plan.outputs["arn"].value.startswith("arn:aws:ec2:eu-west-1:123456789012:")
