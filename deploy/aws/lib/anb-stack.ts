import {
  CfnOutput,
  CfnParameter,
  Duration,
  RemovalPolicy,
  Stack,
  StackProps,
  aws_autoscaling as autoscaling,
  aws_cloudwatch as cw,
  aws_ec2 as ec2,
  aws_elasticloadbalancingv2 as elbv2,
  aws_iam as iam,
  aws_rds as rds,
  aws_s3 as s3,
  aws_secretsmanager as secretsmanager,
  aws_ssm as ssm,
} from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { Messaging, topics } from './messaging';
import { Monitoring } from './monitoring';
import { AnbSettings } from './settings';
import { Role, instanceUserData } from './userdata';
import { AuthRateLimit } from './waf';

export interface AnbStackProps extends StackProps {
  readonly settings: AnbSettings;
}

export const drainHookName = 'anb-drain';
const transcodeQueue = 'video-processing-transcode';
const workflowQueue = 'video-processing';
const debianAmi = '/aws/service/debian/release/12/latest/amd64';

export class AnbStack extends Stack {
  constructor(scope: Construct, id: string, props: AnbStackProps) {
    super(scope, id, props);
    const s = props.settings;

    // ---- Parameters: what changes per environment or per release.
    const certificateArn = new CfnParameter(this, 'CertificateArn', {
      type: 'String', description: 'ACM certificate ARN of the public HTTPS listener.',
    });
    const releaseBucket = new CfnParameter(this, 'ReleaseBucket', {
      type: 'String', description: 'S3 bucket holding release tarballs (make release).',
    });
    const releaseKey = new CfnParameter(this, 'ReleaseKey', {
      type: 'String', description: 'Key of the tarball, e.g. releases/anb-v1.2.0-linux-amd64.tar.gz.',
    });
    const releaseSha256 = new CfnParameter(this, 'ReleaseSha256', {
      type: 'String', allowedPattern: '^[0-9a-f]{64}$',
      description: 'SHA-256 of the tarball (the .sha256 file next to it).',
    });
    const temporalAddress = new CfnParameter(this, 'TemporalAddress', {
      type: 'String', description: 'Temporal Cloud gRPC endpoint, <namespace>.<account>.tmprl.cloud:7233.',
    });
    const temporalNamespace = new CfnParameter(this, 'TemporalNamespace', {
      type: 'String', description: 'Temporal Cloud namespace, <namespace>.<account>.',
    });
    const temporalCertArn = new CfnParameter(this, 'TemporalCertificateArn', {
      type: 'String', description: 'Secrets Manager secret with the Temporal client certificate: JSON {"cert": PEM, "key": PEM}.',
    });

    // ---- Network: two AZs, public subnets for the ALB and the NAT, private for the rest.
    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 1,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
      ],
    });
    vpc.addGatewayEndpoint('S3Endpoint', { service: ec2.GatewayVpcEndpointAwsService.S3 });

    // ---- Security groups, least privilege.
    const albSg = new ec2.SecurityGroup(this, 'AlbSg', { vpc, allowAllOutbound: false, description: 'ALB: HTTPS and HTTP from anywhere' });
    albSg.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS');
    albSg.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(80), 'HTTP, redirected to HTTPS');
    const apiSg = new ec2.SecurityGroup(this, 'ApiSg', { vpc, allowAllOutbound: false, description: 'API instances' });
    const workerSg = new ec2.SecurityGroup(this, 'WorkerSg', { vpc, allowAllOutbound: false, description: 'Worker instances (no inbound)' });
    const dbSg = new ec2.SecurityGroup(this, 'DbSg', { vpc, allowAllOutbound: false, description: 'PostgreSQL' });
    const mskSg = new ec2.SecurityGroup(this, 'MskSg', { vpc, allowAllOutbound: false, description: 'MSK brokers' });
    apiSg.addIngressRule(albSg, ec2.Port.tcp(s.appPort), 'ALB to the API port only');
    albSg.addEgressRule(apiSg, ec2.Port.tcp(s.appPort), 'to the API port only');
    for (const sg of [apiSg, workerSg]) {
      dbSg.addIngressRule(sg, ec2.Port.tcp(5432), 'PostgreSQL');
      sg.addEgressRule(dbSg, ec2.Port.tcp(5432), 'PostgreSQL');
      mskSg.addIngressRule(sg, ec2.Port.tcp(9098), 'Kafka, IAM auth over TLS');
      sg.addEgressRule(mskSg, ec2.Port.tcp(9098), 'Kafka, IAM auth over TLS');
      sg.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'AWS APIs, S3, OS packages');
      sg.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(80), 'OS packages');
      sg.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(7233), 'Temporal Cloud');
    }

    // ---- Storage: one private bucket, videos/uploaded/ and videos/processed/.
    const bucket = new s3.Bucket(this, 'Videos', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ id: 'abort-incomplete-multipart', abortIncompleteMultipartUploadAfter: Duration.days(3) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // ---- PostgreSQL: Multi-AZ, encrypted, credentials in Secrets Manager.
    const database = new rds.DatabaseInstance(this, 'Database', {
      engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_16_8 }),
      instanceType: ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MEDIUM),
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [dbSg],
      multiAz: true,
      storageEncrypted: true,
      allocatedStorage: 50,
      maxAllocatedStorage: 200,
      storageType: rds.StorageType.GP3,
      credentials: rds.Credentials.fromGeneratedSecret('anb'),
      databaseName: 'anb',
      backupRetention: Duration.days(7),
      deletionProtection: true,
      removalPolicy: RemovalPolicy.SNAPSHOT,
      enablePerformanceInsights: true,
    });
    const dbSecret = database.secret!;

    const jwtSecret = new secretsmanager.Secret(this, 'JwtSecret', {
      description: 'ANB_JWT_SECRET: signs access tokens',
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
    });
    const temporalSecret = secretsmanager.Secret.fromSecretCompleteArn(this, 'TemporalCert', temporalCertArn.valueAsString);

    // ---- Kafka.
    const messaging = new Messaging(this, 'Kafka', { vpc, securityGroup: mskSg });
    const clusterArn = messaging.cluster.attrArn;

    // ---- Shared instance settings.
    const common: Record<string, string> = {
      ANB_TEMPORAL_ADDRESS: temporalAddress.valueAsString,
      ANB_TEMPORAL_NAMESPACE: temporalNamespace.valueAsString,
      ANB_TEMPORAL_TLS_CERT: '/run/anb/temporal.crt',
      ANB_TEMPORAL_TLS_KEY: '/run/anb/temporal.key',
      ANB_TASK_QUEUE: workflowQueue,
      ANB_S3_ENDPOINT: `https://s3.${this.region}.amazonaws.com`,
      ANB_S3_REGION: this.region,
      ANB_S3_BUCKET: bucket.bucketName,
      ANB_KAFKA_SASL: 'aws-msk-iam',
      ANB_KAFKA_TOPIC: topics[0],
      ANB_KAFKA_DLQ_TOPIC: topics[1],
      ANB_LOG_LEVEL: 'info',
    };
    const release = {
      region: this.region,
      releaseBucket: releaseBucket.valueAsString,
      releaseKey: releaseKey.valueAsString,
      releaseSha256: releaseSha256.valueAsString,
      parameterPath: s.parameterPath,
      dbSecretArn: dbSecret.secretArn,
      jwtSecretArn: jwtSecret.secretArn,
      temporalSecretArn: temporalSecret.secretArn,
      mskClusterArn: clusterArn,
      metricsNamespace: s.metricsNamespace,
    };
    const machineImage = ec2.MachineImage.fromSsmParameter(debianAmi, { os: ec2.OperatingSystemType.LINUX });

    const instanceRole = (name: string, role: Role): iam.Role => {
      const r = new iam.Role(this, name, {
        assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
        managedPolicies: [
          iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore'),
          iam.ManagedPolicy.fromAwsManagedPolicyName('CloudWatchAgentServerPolicy'),
        ],
      });
      dbSecret.grantRead(r);
      jwtSecret.grantRead(r);
      temporalSecret.grantRead(r);
      r.addToPolicy(new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [`arn:${this.partition}:s3:::${releaseBucket.valueAsString}/${releaseKey.valueAsString}`],
      }));
      r.addToPolicy(new iam.PolicyStatement({
        actions: ['ssm:GetParametersByPath'],
        resources: [`arn:${this.partition}:ssm:${this.region}:${this.account}:parameter${s.parameterPath.replace(/\/$/, '')}`],
      }));
      r.addToPolicy(new iam.PolicyStatement({ actions: ['kafka:GetBootstrapBrokers'], resources: [clusterArn] }));
      const kafkaArn = (kind: string, name: string): string =>
        `arn:${this.partition}:kafka:${this.region}:${this.account}:${kind}/anb/*/${name}`;
      const kafkaActions = ['kafka-cluster:Connect', 'kafka-cluster:DescribeCluster', 'kafka-cluster:DescribeTopic',
        'kafka-cluster:WriteData', 'kafka-cluster:ReadData', 'kafka-cluster:AlterGroup', 'kafka-cluster:DescribeGroup'];
      if (role === 'worker') {
        // The one-off CreateKafkaTopics step runs on a worker.
        kafkaActions.push('kafka-cluster:CreateTopic');
      }
      r.addToPolicy(new iam.PolicyStatement({
        actions: kafkaActions,
        resources: [clusterArn, kafkaArn('topic', '*'), kafkaArn('group', '*')],
      }));
      // Uploads, deletes and presigned links (api); originals in, renders out (worker).
      bucket.grantReadWrite(r, 'videos/*');
      bucket.grantDelete(r, 'videos/*');
      return r;
    };

    const launchTemplate = (name: string, role: Role, instanceType: string, sg: ec2.ISecurityGroup, r: iam.IRole,
      settings: Record<string, string>): ec2.LaunchTemplate =>
      new ec2.LaunchTemplate(this, name, {
        machineImage,
        instanceType: new ec2.InstanceType(instanceType),
        securityGroup: sg,
        role: r,
        requireImdsv2: true,
        instanceMetadataTags: true,
        blockDevices: [{ deviceName: '/dev/xvda', volume: ec2.BlockDeviceVolume.ebs(role === 'worker' ? 30 : 16, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3 }) }],
        userData: instanceUserData({ ...release, role, settings, drainHookName: role === 'worker' ? drainHookName : undefined }),
      });

    // ---- API tier: ALB (HTTPS, HTTP redirected) in front of an ASG.
    const apiRole = instanceRole('ApiRole', 'api');
    const apiTemplate = launchTemplate('ApiTemplate', 'api', s.apiInstanceType, apiSg, apiRole, {
      ...common,
      ANB_HTTP_ADDR: `0.0.0.0:${s.appPort}`,
      ANB_METRICS_ADDR: '127.0.0.1:9100',
      ANB_TRUSTED_PROXIES: vpc.vpcCidrBlock,
      ANB_TEMP_DIR: '/var/lib/anb/tmp',
    });
    const apiAsg = new autoscaling.AutoScalingGroup(this, 'ApiAsg', {
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      launchTemplate: apiTemplate,
      minCapacity: s.apiMin,
      maxCapacity: s.apiMax,
      healthChecks: autoscaling.HealthChecks.withAdditionalChecks({
        additionalTypes: [autoscaling.AdditionalHealthCheckType.ELB],
        gracePeriod: Duration.minutes(5),
      }),
      updatePolicy: autoscaling.UpdatePolicy.rollingUpdate({ maxBatchSize: 1, minInstancesInService: s.apiMin, pauseTime: Duration.minutes(10) }),
    });

    const alb = new elbv2.ApplicationLoadBalancer(this, 'Alb', {
      vpc, internetFacing: true, securityGroup: albSg, vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      idleTimeout: Duration.seconds(120), dropInvalidHeaderFields: true,
    });
    alb.addRedirect({ sourcePort: 80, sourceProtocol: elbv2.ApplicationProtocol.HTTP, targetPort: 443, targetProtocol: elbv2.ApplicationProtocol.HTTPS });
    const https = alb.addListener('Https', {
      port: 443,
      protocol: elbv2.ApplicationProtocol.HTTPS,
      certificates: [elbv2.ListenerCertificate.fromArn(certificateArn.valueAsString)],
      sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
      open: false,
    });
    const targetGroup = https.addTargets('Api', {
      port: s.appPort,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targets: [apiAsg],
      deregistrationDelay: Duration.seconds(60),
      healthCheck: {
        path: '/readyz', healthyHttpCodes: '200', interval: Duration.seconds(15), timeout: Duration.seconds(5),
        healthyThresholdCount: 2, unhealthyThresholdCount: 3,
      },
    });
    // Requests per instance is the API's load; CPU covers bcrypt-heavy bursts of logins.
    apiAsg.scaleOnRequestCount('RequestsPerTarget', { targetRequestsPerMinute: s.requestsPerTargetPerMinute });
    apiAsg.scaleOnCpuUtilization('Cpu', { targetUtilizationPercent: 60 });

    new AuthRateLimit(this, 'Waf', { albArn: alb.loadBalancerArn, limit: s.authRateLimit });

    // ---- Worker tier: anb worker + anb bridge, scaled on the transcode backlog.
    const workerRole = instanceRole('WorkerRole', 'worker');
    workerRole.addToPolicy(new iam.PolicyStatement({
      actions: ['cloudwatch:PutMetricData'], resources: ['*'],
      conditions: { StringEquals: { 'cloudwatch:namespace': s.metricsNamespace } },
    }));
    workerRole.addToPolicy(new iam.PolicyStatement({
      actions: ['autoscaling:CompleteLifecycleAction', 'autoscaling:RecordLifecycleActionHeartbeat'],
      resources: [`arn:${this.partition}:autoscaling:${this.region}:${this.account}:autoScalingGroup:*:autoScalingGroupName/${this.stackName}-*`],
    }));
    const workerTemplate = launchTemplate('WorkerTemplate', 'worker', s.workerInstanceType, workerSg, workerRole, {
      ...common,
      ANB_METRICS_ADDR: '127.0.0.1:9102',
      ANB_CLOUDWATCH_NAMESPACE: s.metricsNamespace,
      ANB_BACKLOG_EVERY: '30s',
      ANB_WORKER_STOP_TIMEOUT: '15m',
      ANB_WORKER_CONCURRENCY: '1',
      ANB_TEMP_DIR: '/var/lib/anb/tmp',
    });
    const workerAsg = new autoscaling.AutoScalingGroup(this, 'WorkerAsg', {
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      launchTemplate: workerTemplate,
      minCapacity: s.workerMin,
      maxCapacity: s.workerMax,
      updatePolicy: autoscaling.UpdatePolicy.rollingUpdate({ maxBatchSize: 1, minInstancesInService: s.workerMin, pauseTime: Duration.minutes(5) }),
    });
    // Scale-in waits for the drain script to finish the running transcode.
    workerAsg.addLifecycleHook('Drain', {
      lifecycleHookName: drainHookName,
      lifecycleTransition: autoscaling.LifecycleTransition.INSTANCE_TERMINATING,
      heartbeatTimeout: Duration.minutes(5),
      defaultResult: autoscaling.DefaultResult.CONTINUE,
    });
    const backlog = (metricName: string, queue: string, type: string, statistic: string): cw.Metric => new cw.Metric({
      namespace: s.metricsNamespace, metricName, statistic, period: Duration.minutes(1),
      dimensionsMap: { TaskQueue: queue, TaskQueueType: type },
    });
    const transcodeBacklog = backlog('TaskQueueBacklogCount', transcodeQueue, 'activity', 'Maximum');
    workerAsg.scaleOnMetric('TranscodeBacklog', {
      metric: transcodeBacklog,
      adjustmentType: autoscaling.AdjustmentType.CHANGE_IN_CAPACITY,
      evaluationPeriods: 3,
      scalingSteps: [
        { upper: 0, change: -1 },
        { lower: 2, change: +1 },
        { lower: 8, change: +2 },
      ],
      estimatedInstanceWarmup: Duration.minutes(5),
    });

    // ---- Deploy step: migrations, once per release, on one API instance.
    const migrate = new ssm.CfnDocument(this, 'Migrate', {
      documentType: 'Command',
      documentFormat: 'YAML',
      content: {
        schemaVersion: '2.2',
        description: 'Apply the ANB database migrations (anb migrate) with the instance settings.',
        mainSteps: [{
          action: 'aws:runShellScript',
          name: 'migrate',
          inputs: {
            runCommand: [
              'set -euo pipefail',
              'systemctl start anb-settings.service',
              "runuser -u anb -- /bin/bash -c 'set -a; . /run/anb/anb.env; exec /usr/local/bin/anb migrate'",
            ],
          },
        }],
      },
    });

    new Monitoring(this, 'Monitoring', {
      alb, targetGroup, database, namespace: s.metricsNamespace, alarmEmail: s.alarmEmail,
      transcodeBacklogCount: transcodeBacklog,
      transcodeBacklogAge: backlog('TaskQueueBacklogAgeSeconds', transcodeQueue, 'activity', 'Maximum'),
      workflowBacklogAge: backlog('TaskQueueBacklogAgeSeconds', workflowQueue, 'workflow', 'Maximum'),
    });

    new CfnOutput(this, 'LoadBalancerDns', { value: alb.loadBalancerDnsName });
    new CfnOutput(this, 'VideosBucket', { value: bucket.bucketName });
    new CfnOutput(this, 'ApiAsgName', { value: apiAsg.autoScalingGroupName });
    new CfnOutput(this, 'WorkerAsgName', { value: workerAsg.autoScalingGroupName });
    new CfnOutput(this, 'MigrateDocument', { value: migrate.ref });
    new CfnOutput(this, 'CreateTopicsDocument', { value: messaging.createTopics.ref });
    new CfnOutput(this, 'MskClusterArn', { value: clusterArn });
    new CfnOutput(this, 'DatabaseSecretArn', { value: dbSecret.secretArn });
  }
}
