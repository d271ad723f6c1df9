import { Aws, RemovalPolicy, aws_ec2 as ec2, aws_logs as logs, aws_msk as msk } from 'aws-cdk-lib';
import { Construct } from 'constructs';

export const topics = ['video_tasks', 'video_tasks.dlq'];

/** Brokers, one per zone; replication and in-sync replicas follow. */
export const brokerCount = 3;

export interface MessagingProps {
  readonly vpc: ec2.IVpc;
  readonly securityGroup: ec2.ISecurityGroup;
  readonly logRetention: logs.RetentionDays;
}

/**
 * Amazon MSK, three kafka.t3.small brokers (one per zone), IAM client
 * authentication only (port 9098), TLS between clients and brokers and
 * inside the cluster. Replication factor 3 with min.insync.replicas=2: a
 * write acknowledged by the producers (acks=all) survives the loss of a
 * broker or a zone, and writes go on while one broker is down. Topics are
 * not auto-created: the workers' first boot creates them (anb-bootstrap).
 */
export class Messaging extends Construct {
  readonly cluster: msk.CfnCluster;
  readonly clusterName: string;
  readonly brokerLogs: logs.LogGroup;

  constructor(scope: Construct, id: string, props: MessagingProps) {
    super(scope, id);
    // Named after the stack: two stacks in one account and region coexist.
    this.clusterName = `${Aws.STACK_NAME}-kafka`;
    const config = new msk.CfnConfiguration(this, 'Config', {
      name: `${Aws.STACK_NAME}-kafka`,
      serverProperties: [
        'auto.create.topics.enable=false',
        `default.replication.factor=${brokerCount}`,
        'min.insync.replicas=2',
        'num.partitions=6',
        'unclean.leader.election.enable=false',
      ].join('\n'),
    });
    this.brokerLogs = new logs.LogGroup(this, 'BrokerLogs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.cluster = new msk.CfnCluster(this, 'Cluster', {
      clusterName: this.clusterName,
      kafkaVersion: '3.6.0',
      numberOfBrokerNodes: brokerCount,
      brokerNodeGroupInfo: {
        instanceType: 'kafka.t3.small',
        clientSubnets: props.vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }).subnetIds,
        securityGroups: [props.securityGroup.securityGroupId],
        storageInfo: { ebsStorageInfo: { volumeSize: 50 } },
      },
      clientAuthentication: {
        sasl: { iam: { enabled: true } },
        unauthenticated: { enabled: false },
      },
      encryptionInfo: {
        encryptionInTransit: { clientBroker: 'TLS', inCluster: true },
      },
      // The latest revision: a changed setting above reaches the brokers.
      configurationInfo: { arn: config.attrArn, revision: config.attrLatestRevisionRevision },
      enhancedMonitoring: 'PER_BROKER',
      loggingInfo: {
        brokerLogs: { cloudWatchLogs: { enabled: true, logGroup: this.brokerLogs.logGroupName } },
      },
    });
  }
}
