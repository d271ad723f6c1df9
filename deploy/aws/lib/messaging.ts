import { aws_ec2 as ec2, aws_msk as msk, aws_ssm as ssm } from 'aws-cdk-lib';
import { Construct } from 'constructs';

export const topics = ['video_tasks', 'video_tasks.dlq'];

export interface MessagingProps {
  readonly vpc: ec2.IVpc;
  readonly securityGroup: ec2.ISecurityGroup;
}

/**
 * Amazon MSK, two kafka.t3.small brokers (one per AZ), IAM client
 * authentication only (port 9098), TLS between clients and brokers and
 * inside the cluster. Topics are not auto-created: the CreateKafkaTopics
 * Run Command document creates video_tasks and video_tasks.dlq once.
 */
export class Messaging extends Construct {
  readonly cluster: msk.CfnCluster;
  readonly createTopics: ssm.CfnDocument;

  constructor(scope: Construct, id: string, props: MessagingProps) {
    super(scope, id);
    const config = new msk.CfnConfiguration(this, 'Config', {
      name: `${id.toLowerCase()}-anb`,
      serverProperties: [
        'auto.create.topics.enable=false',
        'default.replication.factor=2',
        'min.insync.replicas=1',
        'num.partitions=6',
        'unclean.leader.election.enable=false',
      ].join('\n'),
    });
    this.cluster = new msk.CfnCluster(this, 'Cluster', {
      clusterName: 'anb',
      kafkaVersion: '3.6.0',
      numberOfBrokerNodes: 2,
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
      configurationInfo: { arn: config.attrArn, revision: 1 },
      enhancedMonitoring: 'DEFAULT',
    });

    // Deploy step (deploy/README.md): run once on one worker instance,
    // whose role may create topics.
    this.createTopics = new ssm.CfnDocument(this, 'CreateTopics', {
      documentType: 'Command',
      documentFormat: 'YAML',
      content: {
        schemaVersion: '2.2',
        description: 'Create the ANB Kafka topics on the MSK cluster (IAM auth), idempotently.',
        parameters: {
          KafkaCliUrl: { type: 'String', description: 'URL of an Apache Kafka 3.6 binary tarball (kafka_2.13-3.6.x.tgz).' },
          IamAuthJarUrl: { type: 'String', description: 'URL of the aws-msk-iam-auth "all" jar.' },
          Partitions: { type: 'String', default: '6' },
        },
        mainSteps: [
          {
            action: 'aws:runShellScript',
            name: 'createTopics',
            inputs: {
              runCommand: [
                'set -euo pipefail',
                '. /etc/anb/instance.env',
                'apt-get install -y --no-install-recommends default-jre-headless',
                'work=$(mktemp -d) && cd "$work"',
                'curl -fsSL -o kafka.tgz "{{ KafkaCliUrl }}" && tar -xzf kafka.tgz --strip-components=1',
                'curl -fsSL -o libs/aws-msk-iam-auth.jar "{{ IamAuthJarUrl }}"',
                "printf 'security.protocol=SASL_SSL\\nsasl.mechanism=AWS_MSK_IAM\\nsasl.jaas.config=software.amazon.msk.auth.iam.IAMLoginModule required;\\nsasl.client.callback.handler.class=software.amazon.msk.auth.iam.IAMClientCallbackHandler\\n' > client.properties",
                'brokers=$(aws kafka get-bootstrap-brokers --region "$AWS_REGION" --cluster-arn "$MSK_CLUSTER_ARN" --query BootstrapBrokerStringSaslIam --output text)',
                ...topics.map(
                  (t) =>
                    `bin/kafka-topics.sh --bootstrap-server "$brokers" --command-config client.properties --create --if-not-exists --topic ${t} --partitions {{ Partitions }} --replication-factor 2`,
                ),
                'bin/kafka-topics.sh --bootstrap-server "$brokers" --command-config client.properties --list',
              ],
            },
          },
        ],
      },
    });
  }
}
