import {
  Aws,
  CfnCondition,
  CfnMapping,
  CfnOutput,
  CfnResource,
  CfnParameter,
  Duration,
  Fn,
  Lazy,
  RemovalPolicy,
  Stack,
  StackProps,
  aws_autoscaling as autoscaling,
  aws_cloudwatch as cw,
  aws_ec2 as ec2,
  aws_elasticloadbalancingv2 as elbv2,
  aws_iam as iam,
  aws_logs as logs,
  aws_rds as rds,
  aws_s3 as s3,
  aws_secretsmanager as secretsmanager,
  aws_ses as ses,
} from 'aws-cdk-lib';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import { Construct } from 'constructs';
import { Messaging, brokerCount, topics } from './messaging';
import { Monitoring } from './monitoring';
import { acknowledgeFindings } from './nag';
import { AnbSettings } from './settings';
import { Role, Service, instanceUserData, servicesOf } from './userdata';
import { AuthRateLimit } from './waf';

export interface AnbStackProps extends StackProps {
  readonly settings: AnbSettings;
}

export const drainHookName = 'anb-drain';
export const transcodeQueue = 'video-processing-transcode';
const workflowQueue = 'video-processing';
/** Release tarballs live under this prefix; instances may read any of them (rollback). */
export const releasePrefix = 'releases/';
/** The processing contract's search attributes (processing.SearchAttributeTypes). */
export const searchAttributes: Record<string, string> = { VideoId: 'Keyword', OwnerId: 'Keyword', VideoStatus: 'Keyword' };
const zones = 3;

/**
 * ALB access logs into bucket under prefix. CDK's logAccessLogs needs a
 * known region; this stack has none until deploy, so the log-delivery
 * account is looked up per region in the template (regions opened since
 * 2022 deliver through the service principal instead).
 */
function albAccessLogs(stack: Stack, alb: elbv2.ApplicationLoadBalancer, bucket: s3.Bucket, prefix: string): void {
  const none = 'none';
  const accounts = new CfnMapping(stack, 'ElbLogDeliveryAccounts', {
    mapping: Object.fromEntries(RegionInfo.regions.map((r) => [r.name, { account: r.elbv2Account ?? none }])),
  });
  const serviceOnly = new CfnCondition(stack, 'ElbLogsByServicePrincipal', {
    expression: Fn.conditionEquals(accounts.findInMap(Aws.REGION, 'account'), none),
  });
  const account = Fn.conditionIf(serviceOnly.logicalId, Aws.ACCOUNT_ID, accounts.findInMap(Aws.REGION, 'account')).toString();
  const objects = bucket.arnForObjects(`${prefix}/AWSLogs/${Aws.ACCOUNT_ID}/*`);
  bucket.addToResourcePolicy(new iam.PolicyStatement({ actions: ['s3:PutObject'], principals: [new iam.AccountPrincipal(account)], resources: [objects] }));
  bucket.addToResourcePolicy(new iam.PolicyStatement({
    actions: ['s3:PutObject'], principals: [new iam.ServicePrincipal('logdelivery.elasticloadbalancing.amazonaws.com')], resources: [objects],
  }));
  alb.setAttribute('access_logs.s3.enabled', 'true');
  alb.setAttribute('access_logs.s3.bucket', bucket.bucketName);
  alb.setAttribute('access_logs.s3.prefix', prefix);
  const policy = bucket.policy?.node.defaultChild as CfnResource | undefined;
  if (policy) {
    alb.node.addDependency(policy);
  }
}

/** The image the fleet boots: a parameter, baked once (deploy/aws/image/bake.sh). */
class ParameterImage implements ec2.IMachineImage {
  constructor(private readonly imageId: string) {}
  getImage(): ec2.MachineImageConfig {
    return { imageId: this.imageId, osType: ec2.OperatingSystemType.LINUX, userData: ec2.UserData.forLinux() };
  }
}

export class AnbStack extends Stack {
  constructor(scope: Construct, id: string, props: AnbStackProps) {
    super(scope, id, props);
    // Server access logs delivered through a bucket policy, not the legacy
    // LogDeliveryWrite ACL, so the log bucket keeps ACLs disabled.
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    const s = props.settings;
    const parameterPath = s.parameterPath ?? `/${this.stackName}/`;

    // ---- Parameters: what changes per environment or per release.
    const certificateArn = new CfnParameter(this, 'CertificateArn', {
      type: 'String', description: 'ACM certificate ARN of the public HTTPS listener.',
    });
    const imageId = new CfnParameter(this, 'ImageId', {
      type: 'AWS::EC2::Image::Id',
      description: 'AMI baked by deploy/aws/image/bake.sh (Debian 12, ffmpeg, pinned agents). A new id replaces the fleet, health-gated.',
    });
    const releaseBucket = new CfnParameter(this, 'ReleaseBucket', {
      type: 'String', description: 'S3 bucket holding release tarballs (make release).',
    });
    const releaseKey = new CfnParameter(this, 'ReleaseKey', {
      type: 'String', allowedPattern: `^${releasePrefix}[A-Za-z0-9._/-]+\\.tar\\.gz$`,
      description: `Key of the tarball, e.g. ${releasePrefix}anb-v1.2.0-linux-amd64.tar.gz.`,
    });
    const releaseSha256 = new CfnParameter(this, 'ReleaseSha256', {
      type: 'String', allowedPattern: '^[0-9a-f]{64}$',
      description: 'SHA-256 of the tarball (the .sha256 file next to it).',
    });
    const siteOrigin = new CfnParameter(this, 'SiteOrigin', {
      type: 'String', allowedPattern: '^https://[A-Za-z0-9.-]+(:[0-9]+)?$',
      description: 'The origin players open the site at, e.g. https://anb.example.com: the only one whose pages may send upload parts to the bucket (CORS).',
    });
    const temporalAddress = new CfnParameter(this, 'TemporalAddress', {
      type: 'String', description: 'Temporal Cloud gRPC endpoint, <namespace>.<account>.tmprl.cloud:7233.',
    });
    const temporalNamespace = new CfnParameter(this, 'TemporalNamespace', {
      type: 'String', description: 'Temporal Cloud namespace, <namespace>.<account>.',
    });
    const temporalSecretArn = new CfnParameter(this, 'TemporalSecretArn', {
      type: 'String',
      description: 'Secrets Manager secret for Temporal Cloud: JSON {"apiKey": KEY} or {"cert": PEM, "key": PEM}, optionally "opsApiKey" (adds search attributes).',
    });

    // ---- Email confirmation: mail through Amazon SES (SMTP interface).
    const publicUrl = new CfnParameter(this, 'PublicUrl', {
      type: 'String', allowedPattern: '^https://[A-Za-z0-9.-]+(:[0-9]+)?$',
      description: 'The site\'s public address (https://host), which the confirmation links in the mail point to.',
    });
    const mailDomain = new CfnParameter(this, 'MailDomain', {
      type: 'String', allowedPattern: '^[A-Za-z0-9.-]+\\.[A-Za-z]{2,}$',
      description: 'Domain the confirmation mail is sent from (no-reply@<domain>): an SES identity with Easy DKIM; publish its DKIM CNAMEs.',
    });
    const smtpSecretArn = new CfnParameter(this, 'SmtpSecretArn', {
      type: 'String',
      description: 'Secrets Manager secret with the SES SMTP credentials: JSON {"username": ..., "password": ...} (an IAM user allowed ses:SendRawEmail, its SMTP password).',
    });

    // ---- Logs: every group with a retention, none with a fixed name.
    const retention = s.logRetentionDays as logs.RetentionDays;
    const logGroup = (name: string): logs.LogGroup => new logs.LogGroup(this, name, { retention, removalPolicy: RemovalPolicy.DESTROY });
    const serviceLogs: Record<Service, logs.LogGroup> = {
      'anb-api': logGroup('ApiLogs'),
      'anb-worker': logGroup('WorkerLogs'),
      'anb-bridge': logGroup('BridgeLogs'),
    };
    const prometheusLogs = logGroup('PrometheusLogs');

    // ---- Network: three zones (one MSK broker each), a NAT gateway per
    // zone unless the context asks for fewer, endpoints for the AWS APIs
    // the instances call so they keep working without a NAT.
    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: zones,
      natGateways: s.natGateways,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
      ],
      flowLogs: {
        rejected: { destination: ec2.FlowLogDestination.toCloudWatchLogs(logGroup('FlowLogs')), trafficType: ec2.FlowLogTrafficType.REJECT },
      },
    });
    vpc.addGatewayEndpoint('S3Endpoint', { service: ec2.GatewayVpcEndpointAwsService.S3 });
    const endpoints: Record<string, ec2.InterfaceVpcEndpointAwsService> = {
      SecretsManager: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
      Monitoring: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING,
      Logs: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
      Ssm: ec2.InterfaceVpcEndpointAwsService.SSM,
      SsmMessages: ec2.InterfaceVpcEndpointAwsService.SSM_MESSAGES,
      Ec2Messages: ec2.InterfaceVpcEndpointAwsService.EC2_MESSAGES,
    };
    for (const [name, service] of Object.entries(endpoints)) {
      vpc.addInterfaceEndpoint(name, { service, privateDnsEnabled: true, subnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS } });
    }

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
      sg.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'AWS APIs (endpoints and NAT), S3');
      sg.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(7233), 'Temporal Cloud');
    }

    // ---- Access logs of the load balancer and the video bucket.
    const accessLogs = new s3.Bucket(this, 'AccessLogs', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      // The load balancer writes only to SSE-S3 buckets.
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(90) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // ---- Storage: one private bucket, videos/uploaded/ and videos/processed/.
    const bucket = new s3.Bucket(this, 'Videos', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // Unfinished uploads, resumable ones included, are gone after three
      // days even if no reconcile run aborts them (their sessions live 24 h).
      lifecycleRules: [{ id: 'abort-incomplete-multipart', abortIncompleteMultipartUploadAfter: Duration.days(3) }],
      // The upload page sends the parts of resumable uploads straight here,
      // to URLs the API presigned with each part's SHA-256.
      cors: [{
        id: 'resumable-upload-parts',
        allowedOrigins: [siteOrigin.valueAsString],
        allowedMethods: [s3.HttpMethods.PUT],
        allowedHeaders: ['content-type', 'x-amz-checksum-sha256', 'x-amz-sdk-checksum-algorithm'],
        exposedHeaders: ['ETag'],
        maxAge: 3600,
      }],
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 's3/videos/',
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // ---- PostgreSQL: Multi-AZ, encrypted, credentials in Secrets Manager, rotated.
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
    // Monthly, early on the 1st; instances re-read the secret every two
    // minutes (anb-refresh) and restart their services when it changed.
    database.addRotationSingleUser({ automaticallyAfter: Duration.days(30) });

    const jwtSecret = new secretsmanager.Secret(this, 'JwtSecret', {
      description: 'ANB_JWT_SECRET: signs access tokens',
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
    });
    const temporalSecret = secretsmanager.Secret.fromSecretCompleteArn(this, 'TemporalSecret', temporalSecretArn.valueAsString);
    const smtpSecret = secretsmanager.Secret.fromSecretCompleteArn(this, 'SmtpSecret', smtpSecretArn.valueAsString);
    // The sending domain, signed with Easy DKIM; the API sends through
    // SES's SMTP endpoint of this region with the credentials above.
    const mailIdentity = new ses.EmailIdentity(this, 'MailIdentity', {
      identity: ses.Identity.domain(mailDomain.valueAsString),
    });

    // ---- Kafka.
    const messaging = new Messaging(this, 'Kafka', { vpc, securityGroup: mskSg, logRetention: retention });
    const clusterArn = messaging.cluster.attrArn;

    // ---- Shared instance settings (Temporal credentials come from the secret).
    const common: Record<string, string> = {
      ANB_TEMPORAL_ADDRESS: temporalAddress.valueAsString,
      ANB_TEMPORAL_NAMESPACE: temporalNamespace.valueAsString,
      ANB_TEMPORAL_TLS: 'true',
      ANB_TASK_QUEUE: workflowQueue,
      ANB_S3_ENDPOINT: `https://s3.${this.region}.amazonaws.com`,
      ANB_S3_REGION: this.region,
      ANB_S3_BUCKET: bucket.bucketName,
      ANB_KAFKA_SASL: 'aws-msk-iam',
      ANB_KAFKA_TOPIC: topics[0],
      ANB_KAFKA_DLQ_TOPIC: topics[1],
      ANB_LOG_LEVEL: 'info',
    };
    const machineImage = new ParameterImage(imageId.valueAsString);
    const stackArn = `arn:${this.partition}:cloudformation:${this.region}:${this.account}:stack/${Aws.STACK_NAME}/*`;

    const instanceRole = (name: string, role: Role): iam.Role => {
      const r = new iam.Role(this, name, {
        assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
        // Session Manager and Run Command: no SSH, no bastion.
        managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore')],
      });
      dbSecret.grantRead(r);
      jwtSecret.grantRead(r);
      temporalSecret.grantRead(r);
      if (role === 'api') {
        smtpSecret.grantRead(r); // only the API sends mail
      }
      // Every release, not only the current one: a rollback boots an older key.
      r.addToPolicy(new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [`arn:${this.partition}:s3:::${releaseBucket.valueAsString}/${releasePrefix}*`],
      }));
      r.addToPolicy(new iam.PolicyStatement({
        actions: ['ssm:GetParametersByPath'],
        resources: [`arn:${this.partition}:ssm:${this.region}:${this.account}:parameter${parameterPath.replace(/\/$/, '')}`],
      }));
      r.addToPolicy(new iam.PolicyStatement({ actions: ['cloudformation:SignalResource'], resources: [stackArn] }));
      r.addToPolicy(new iam.PolicyStatement({ actions: ['kafka:GetBootstrapBrokers'], resources: [clusterArn] }));
      const kafkaArn = (kind: string, resource: string): string =>
        `arn:${this.partition}:kafka:${this.region}:${this.account}:${kind}/${messaging.clusterName}/*/${resource}`;
      const kafkaActions = ['kafka-cluster:Connect', 'kafka-cluster:DescribeCluster', 'kafka-cluster:DescribeTopic',
        'kafka-cluster:WriteData', 'kafka-cluster:ReadData', 'kafka-cluster:AlterGroup', 'kafka-cluster:DescribeGroup'];
      if (role === 'worker') {
        // The first boot's bootstrap creates the topics.
        kafkaActions.push('kafka-cluster:CreateTopic');
      }
      r.addToPolicy(new iam.PolicyStatement({
        actions: kafkaActions,
        resources: [clusterArn, ...topics.map((t) => kafkaArn('topic', t)), kafkaArn('group', '*')],
      }));
      // Its own logs only: the agent ships the services' output and the scraped metrics.
      const groups = [...servicesOf(role).map((svc) => serviceLogs[svc]), prometheusLogs];
      r.addToPolicy(new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
        resources: groups.map((g) => `${g.logGroupArn}`),
      }));
      // Objects by prefix and direction: the API writes originals and reads
      // renders (and deletes both with a video); the worker reads originals
      // (and removes orphans) and writes renders.
      const obj = (prefix: string): string => bucket.arnForObjects(`${prefix}*`);
      const up = 'videos/uploaded/';
      const done = 'videos/processed/';
      const objectActions: Record<Role, [string[], string][]> = {
        api: [
          [['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts', 's3:GetObject', 's3:DeleteObject'], up],
          [['s3:GetObject', 's3:DeleteObject'], done],
        ],
        worker: [
          [['s3:GetObject', 's3:DeleteObject', 's3:AbortMultipartUpload'], up],
          [['s3:PutObject', 's3:GetObject', 's3:AbortMultipartUpload'], done],
        ],
      };
      for (const [actions, prefix] of objectActions[role]) {
        r.addToPolicy(new iam.PolicyStatement({ actions, resources: [obj(prefix)] }));
      }
      r.addToPolicy(new iam.PolicyStatement({
        actions: ['s3:ListBucket', 's3:ListBucketMultipartUploads'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': ['', up, `${up}*`, done, `${done}*`] } },
      }));
      return r;
    };

    const launchTemplate = (name: string, role: Role, instanceType: string, sg: ec2.ISecurityGroup, r: iam.IRole,
      signalResource: string, settings: Record<string, string>, smtpSecretArn?: string): ec2.LaunchTemplate =>
      new ec2.LaunchTemplate(this, name, {
        machineImage,
        instanceType: new ec2.InstanceType(instanceType),
        securityGroup: sg,
        role: r,
        requireImdsv2: true,
        instanceMetadataTags: true,
        blockDevices: [{ deviceName: '/dev/xvda', volume: ec2.BlockDeviceVolume.ebs(role === 'worker' ? 30 : 16, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3 }) }],
        userData: instanceUserData({
          role, settings, signalResource, region: this.region, stackName: this.stackName,
          releaseBucket: releaseBucket.valueAsString, releaseKey: releaseKey.valueAsString, releaseSha256: releaseSha256.valueAsString,
          parameterPath, dbSecretArn: dbSecret.secretArn, jwtSecretArn: jwtSecret.secretArn,
          temporalSecretArn: temporalSecret.secretArn, smtpSecretArn, mskClusterArn: clusterArn, metricsNamespace: s.metricsNamespace,
          logGroups: Object.fromEntries(Object.entries(serviceLogs).map(([k, g]) => [k, g.logGroupName])),
          prometheusLogGroup: prometheusLogs.logGroupName, appPort: s.appPort,
          drainHookName: role === 'worker' ? drainHookName : undefined,
          transcodeQueue, topics, searchAttributes,
        }),
      });

    // Every launch, first deploy and release alike, waits for the
    // instance's own signal (sent once /readyz answers, or FAILURE); a
    // release whose instances never get ready fails the update and
    // CloudFormation rolls the group back to the previous template.
    const signals = autoscaling.Signals.waitForMinCapacity({ timeout: Duration.minutes(15), minSuccessPercentage: 100 });
    const rolling = (min: number): autoscaling.UpdatePolicy => autoscaling.UpdatePolicy.rollingUpdate({
      maxBatchSize: 1, minInstancesInService: min, waitOnResourceSignals: true, pauseTime: Duration.minutes(15), minSuccessPercentage: 100,
    });
    // The launch template names the group it signals by its logical id,
    // known once the group exists.
    const signalOf = (asg: () => autoscaling.AutoScalingGroup): string =>
      Lazy.string({ produce: () => this.getLogicalId(asg().node.defaultChild as autoscaling.CfnAutoScalingGroup) });

    // ---- API tier: ALB (HTTPS, HTTP redirected) in front of an ASG.
    const apiRole = instanceRole('ApiRole', 'api');
    const apiTemplate = launchTemplate('ApiTemplate', 'api', s.apiInstanceType, apiSg, apiRole, signalOf(() => apiAsg), {
      ...common,
      ANB_HTTP_ADDR: `0.0.0.0:${s.appPort}`,
      ANB_TRUSTED_PROXIES: vpc.vpcCidrBlock,
      ANB_TEMP_DIR: '/var/lib/anb/tmp',
      // Confirmation mail through SES; votes of unconfirmed accounts wait.
      ANB_PUBLIC_URL: publicUrl.valueAsString,
      ANB_SMTP_ADDR: `email-smtp.${this.region}.amazonaws.com:587`,
      ANB_MAIL_FROM: `no-reply@${mailIdentity.emailIdentityName}`,
      ANB_VOTES_NEED_VERIFIED_EMAIL: 'true',
    }, smtpSecret.secretArn);
    const apiAsg = new autoscaling.AutoScalingGroup(this, 'ApiAsg', {
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      launchTemplate: apiTemplate,
      minCapacity: s.apiMin,
      maxCapacity: s.apiMax,
      // Replace only what is dead: EC2 status checks, plus the instance's
      // own /healthz probe (anb-liveness). /readyz only steers traffic.
      healthChecks: autoscaling.HealthChecks.ec2({ gracePeriod: Duration.minutes(5) }),
      signals,
      updatePolicy: rolling(s.apiMin),
    });
    // By the generated name's prefix: the group's own name would make the
    // role depend on the group that depends on the role.
    const asgArn = (id: string): string =>
      `arn:${this.partition}:autoscaling:${this.region}:${this.account}:autoScalingGroup:*:autoScalingGroupName/${Aws.STACK_NAME}-${id}*`;
    apiRole.addToPolicy(new iam.PolicyStatement({ actions: ['autoscaling:SetInstanceHealth'], resources: [asgArn('ApiAsg')] }));

    const alb = new elbv2.ApplicationLoadBalancer(this, 'Alb', {
      vpc, internetFacing: true, securityGroup: albSg, vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      idleTimeout: Duration.seconds(120), dropInvalidHeaderFields: true,
    });
    albAccessLogs(this, alb, accessLogs, 'alb');
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
    const perTarget = apiAsg.scaleOnRequestCount('RequestsPerTarget', { targetRequestsPerMinute: s.requestsPerTargetPerMinute });
    // CDK adds a DependsOn on the listener and target group that the
    // policy's references already imply; cfn-lint notes it (W3005).
    (perTarget.node.findChild('Resource') as CfnResource).addMetadata('cfn-lint', { config: { ignore_checks: ['W3005'] } });
    apiAsg.scaleOnCpuUtilization('Cpu', { targetUtilizationPercent: 60 });

    new AuthRateLimit(this, 'Waf', { albArn: alb.loadBalancerArn, limit: s.authRateLimit });

    // ---- Worker tier: anb worker + anb bridge.
    const workerRole = instanceRole('WorkerRole', 'worker');
    // Its backlog gauges, in its own namespace only.
    workerRole.addToPolicy(new iam.PolicyStatement({
      actions: ['cloudwatch:PutMetricData'], resources: ['*'],
      conditions: { StringEquals: { 'cloudwatch:namespace': s.metricsNamespace } },
    }));
    const workerTemplate = launchTemplate('WorkerTemplate', 'worker', s.workerInstanceType, workerSg, workerRole, signalOf(() => workerAsg), {
      ...common,
      ANB_CLOUDWATCH_NAMESPACE: s.metricsNamespace,
      ANB_BACKLOG_EVERY: '30s',
      ANB_WORKER_STOP_TIMEOUT: '15m',
      ANB_WORKER_CONCURRENCY: String(s.workerConcurrency),
      ANB_TEMP_DIR: '/var/lib/anb/tmp',
    });
    const workerAsg = new autoscaling.AutoScalingGroup(this, 'WorkerAsg', {
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      launchTemplate: workerTemplate,
      minCapacity: s.workerMin,
      maxCapacity: s.workerMax,
      healthChecks: autoscaling.HealthChecks.ec2({ gracePeriod: Duration.minutes(5) }),
      // GroupInServiceInstances: the denominator of the scaling metric.
      groupMetrics: [new autoscaling.GroupMetrics(autoscaling.GroupMetric.IN_SERVICE_INSTANCES)],
      signals,
      updatePolicy: rolling(s.workerMin),
    });
    workerRole.addToPolicy(new iam.PolicyStatement({
      actions: ['autoscaling:CompleteLifecycleAction', 'autoscaling:RecordLifecycleActionHeartbeat'],
      resources: [asgArn('WorkerAsg')],
    }));
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
    // Target tracking on transcodes per instance, waiting plus running (as
    // AWS scales queue workers on backlog per instance): a worker busy with
    // a transcode counts, so the group does not shrink under running work.
    const metricStat = (namespace: string, metricName: string, dims: Record<string, string>, stat: string): Record<string, unknown> => ({
      metric: { namespace, metricName, dimensions: Object.entries(dims).map(([name, value]) => ({ name, value })) },
      stat,
    });
    new autoscaling.CfnScalingPolicy(this, 'WorkerTranscodesPerInstance', {
      autoScalingGroupName: workerAsg.autoScalingGroupName,
      policyType: 'TargetTrackingScaling',
      estimatedInstanceWarmup: 300,
      targetTrackingConfiguration: {
        targetValue: s.workerConcurrency,
        customizedMetricSpecification: {
          metrics: [
            { id: 'backlog', returnData: false, metricStat: metricStat(s.metricsNamespace, 'TaskQueueBacklogCount', { TaskQueue: transcodeQueue, TaskQueueType: 'activity' }, 'Maximum') },
            { id: 'running', returnData: false, metricStat: metricStat(s.metricsNamespace, 'temporal_worker_task_slots_used', { task_queue: transcodeQueue, worker_type: 'ActivityWorker' }, 'Average') },
            { id: 'instances', returnData: false, metricStat: metricStat('AWS/AutoScaling', 'GroupInServiceInstances', { AutoScalingGroupName: workerAsg.autoScalingGroupName }, 'Average') },
            { id: 'perInstance', label: 'transcodes waiting or running per instance', returnData: true, expression: 'FILL(backlog, 0) / IF(FILL(instances, 0) > 0, instances, 1) + FILL(running, 0)' },
          ],
        },
      } as autoscaling.CfnScalingPolicy.TargetTrackingConfigurationProperty,
    });

    const monitoring = new Monitoring(this, 'Monitoring', {
      alb, targetGroup, database, namespace: s.metricsNamespace, alarmEmail: s.alarmEmail,
      transcodeBacklogCount: transcodeBacklog,
      transcodeBacklogAge: backlog('TaskQueueBacklogAgeSeconds', transcodeQueue, 'activity', 'Maximum'),
      workflowBacklogAge: backlog('TaskQueueBacklogAgeSeconds', workflowQueue, 'workflow', 'Maximum'),
      minHealthyHosts: s.apiMin, kafkaClusterName: messaging.clusterName, kafkaBrokers: brokerCount,
      logGroups: Object.fromEntries(Object.entries(serviceLogs).map(([k, g]) => [k, g.logGroupName])),
    });
    // Launches, terminations and their failures to the alarm topic.
    for (const asg of [apiAsg, workerAsg]) {
      (asg.node.defaultChild as autoscaling.CfnAutoScalingGroup).notificationConfigurations = [{
        topicArn: monitoring.topic.topicArn,
        notificationTypes: ['autoscaling:EC2_INSTANCE_LAUNCH', 'autoscaling:EC2_INSTANCE_LAUNCH_ERROR',
          'autoscaling:EC2_INSTANCE_TERMINATE', 'autoscaling:EC2_INSTANCE_TERMINATE_ERROR'],
      }];
    }

    acknowledgeFindings({ stack: this, vpc, apiRole, workerRole, albSg, accessLogs, jwtSecret, database, bucket });

    new CfnOutput(this, 'LoadBalancerDns', { value: alb.loadBalancerDnsName });
    new CfnOutput(this, 'VideosBucket', { value: bucket.bucketName });
    new CfnOutput(this, 'ApiAsgName', { value: apiAsg.autoScalingGroupName });
    new CfnOutput(this, 'WorkerAsgName', { value: workerAsg.autoScalingGroupName });
    new CfnOutput(this, 'ApiLaunchTemplateId', { value: apiTemplate.launchTemplateId! });
    new CfnOutput(this, 'WorkerLaunchTemplateId', { value: workerTemplate.launchTemplateId! });
    new CfnOutput(this, 'MskClusterArn', { value: clusterArn });
    new CfnOutput(this, 'DatabaseSecretArn', { value: dbSecret.secretArn });
    new CfnOutput(this, 'ParameterPath', { value: parameterPath });
    new CfnOutput(this, 'ApiLogGroup', { value: serviceLogs['anb-api'].logGroupName });
  }

  // Three zones even when synthesized without an account or region (CDK
  // would otherwise settle for two), so three brokers sit in three zones.
  get availabilityZones(): string[] {
    return Array.from({ length: zones }, (_, i) => Fn.select(i, Fn.getAzs(Aws.REGION)));
  }
}
