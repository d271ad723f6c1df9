import { CfnElement, Stack, Validations, aws_ec2 as ec2, aws_iam as iam, aws_rds as rds, aws_s3 as s3, aws_secretsmanager as secretsmanager } from 'aws-cdk-lib';

export interface Findings {
  readonly stack: Stack;
  readonly vpc: ec2.Vpc;
  readonly apiRole: iam.Role;
  readonly workerRole: iam.Role;
  readonly albSg: ec2.SecurityGroup;
  readonly accessLogs: s3.Bucket;
  readonly jwtSecret: secretsmanager.Secret;
  readonly database: rds.DatabaseInstance;
  readonly bucket: s3.Bucket;
}

const nag = (id: string): string => `AwsSolutions::AwsSolutions-${id}`;

/**
 * The AwsSolutions findings this stack accepts, each where it arises and
 * with its reason. Any other finding fails the synthesis (make deploy-test).
 */
export function acknowledgeFindings(f: Findings): void {
  Validations.of(f.stack).acknowledge({
    id: 'CloudFormation-Validate::W2509', reason: 'TemporalSecretArn is the ARN of a secret, not a secret: nothing to hide.',
  });
  Validations.of(f.albSg).acknowledge({
    id: nag('EC23'), reason: 'The public load balancer: 443 and 80 (redirected to 443) from anywhere, behind WAF.',
  });
  for (const child of f.vpc.node.children) {
    if (child instanceof ec2.InterfaceVpcEndpoint) {
      Validations.of(child).acknowledge({
        id: nag('EC23'), reason: 'Interface endpoint: 443 from the VPC CIDR only (a token the rule cannot read).',
      });
    }
  }
  Validations.of(f.accessLogs).acknowledge({
    id: nag('S1'), reason: 'The access-log bucket itself; logging it into itself would loop.',
  });
  Validations.of(f.jwtSecret).acknowledge({
    id: nag('SMG4'),
    reason: 'The JWT signing key: rotating it logs every player out, so it is rotated by hand (deploy/README.md).',
  });
  Validations.of(f.database).acknowledge({
    id: nag('RDS11'), reason: 'Port 5432 is reachable only from the API and worker security groups; a custom port adds nothing behind them.',
  });

  const bucketArn = `<${f.stack.getLogicalId(f.bucket.node.defaultChild as CfnElement)}.Arn>`;
  const arn = (service: string, rest: string): string => `arn:<AWS::Partition>:${service}:<AWS::Region>:<AWS::AccountId>:${rest}`;
  const wildcard = (resource: string, reason: string) => ({ id: nag(`IAM5[Resource::${resource}]`), reason });
  const common = [
    wildcard(`${bucketArn}/videos/uploaded/*`, 'Originals, by object prefix; the actions are listed one by one per role.'),
    wildcard(`${bucketArn}/videos/processed/*`, 'Renders, by object prefix; the actions are listed one by one per role.'),
    wildcard('arn:<AWS::Partition>:s3:::<ReleaseBucket>/releases/*', 'Every release tarball: a rollback boots an older one.'),
    wildcard(arn('cloudformation', 'stack/<AWS::StackName>/*'), 'SignalResource on this stack; the stack id suffix is unknown before creation.'),
    wildcard(arn('kafka', 'group/<AWS::StackName>-kafka/*/*'), 'Consumer groups of this cluster (the bridge\'s and the tools\'); the cluster uuid is unknown before creation.'),
    wildcard(arn('kafka', 'topic/<AWS::StackName>-kafka/*/video_tasks'), 'The task topic; only the cluster uuid segment is a wildcard.'),
    wildcard(arn('kafka', 'topic/<AWS::StackName>-kafka/*/video_tasks.dlq'), 'The dead-letter topic; only the cluster uuid segment is a wildcard.'),
  ];
  Validations.of(f.apiRole).acknowledge(
    ...common,
    wildcard(arn('autoscaling', 'autoScalingGroup:*:autoScalingGroupName/<AWS::StackName>-ApiAsg*'),
      'SetInstanceHealth (liveness) on this stack\'s API group, by its generated name\'s prefix.'),
  );
  Validations.of(f.workerRole).acknowledge(
    ...common,
    wildcard(arn('autoscaling', 'autoScalingGroup:*:autoScalingGroupName/<AWS::StackName>-WorkerAsg*'),
      'The drain\'s lifecycle actions on this stack\'s worker group, by its generated name\'s prefix.'),
    wildcard('*', 'cloudwatch:PutMetricData has no resource type; the statement is conditioned on the ANB namespace.'),
  );
  for (const role of [f.apiRole, f.workerRole]) {
    Validations.of(role).acknowledge({
      id: nag('IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]'),
      reason: 'Session Manager and Run Command instead of SSH: the AWS policy is the documented minimum for the SSM agent.',
    });
  }
}
