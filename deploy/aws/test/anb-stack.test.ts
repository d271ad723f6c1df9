import { strict as assert } from 'node:assert';
import { before, describe, it } from 'node:test';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AnbStack } from '../lib/anb-stack';
import { defaultSettings } from '../lib/settings';

type Resources = Record<string, { Properties: Record<string, unknown> }>;

// The user data of a launch template, its Fn::Join flattened to text
// with the tokens as placeholders.
function userData(t: Template, logicalIdPrefix: string): string {
  const lts = t.findResources('AWS::EC2::LaunchTemplate') as Resources;
  const id = Object.keys(lts).find((k) => k.startsWith(logicalIdPrefix));
  assert.ok(id, `no launch template ${logicalIdPrefix}`);
  const data = lts[id].Properties.LaunchTemplateData as { UserData: unknown };
  const flatten = (v: unknown): string => {
    if (typeof v === 'string') return v;
    if (Array.isArray(v)) return v.map(flatten).join('');
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if ('Fn::Join' in o) {
        const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
        return parts.map(flatten).join(sep);
      }
      if ('Fn::Base64' in o) return flatten(o['Fn::Base64']);
      if ('Ref' in o) return `<Ref:${String(o.Ref)}>`;
      if ('Fn::GetAtt' in o) return `<GetAtt:${(o['Fn::GetAtt'] as string[]).join('.')}>`;
      return '<token>';
    }
    return '';
  };
  return flatten(data.UserData);
}

describe('AnbStack', () => {
  let t: Template;
  before(() => {
    const app = new App({ outdir: undefined });
    t = Template.fromStack(new AnbStack(app, 'Test', { settings: defaultSettings }));
  });

  it('spans three AZs with public and private subnets', () => {
    t.resourceCountIs('AWS::EC2::VPC', 1);
    t.resourceCountIs('AWS::EC2::Subnet', 6);
    t.hasResourceProperties('AWS::EC2::Subnet', { MapPublicIpOnLaunch: true });
    t.hasResourceProperties('AWS::EC2::Subnet', { MapPublicIpOnLaunch: false });
  });

  it('runs PostgreSQL Multi-AZ, encrypted, with a generated secret', () => {
    t.resourceCountIs('AWS::RDS::DBInstance', 1);
    t.hasResourceProperties('AWS::RDS::DBInstance', {
      Engine: 'postgres', MultiAZ: true, StorageEncrypted: true, DBInstanceClass: 'db.t4g.medium',
    });
    t.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectLike({ SecretStringTemplate: '{"username":"anb"}' }),
    });
  });

  it('lets only the site\'s pages send upload parts to the bucket, reading back the ETag', () => {
    t.hasParameter('SiteOrigin', { Type: 'String', AllowedPattern: Match.stringLikeRegexp('https') });
    t.hasResourceProperties('AWS::S3::Bucket', {
      CorsConfiguration: {
        CorsRules: [Match.objectLike({
          AllowedOrigins: [{ Ref: 'SiteOrigin' }],
          AllowedMethods: ['PUT'],
          AllowedHeaders: Match.arrayWith(['x-amz-checksum-sha256']),
          ExposedHeaders: ['ETag'],
        })],
      },
      LifecycleConfiguration: {
        Rules: Match.arrayWith([Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 3 } })]),
      },
    });
    // Creating uploads and signing parts: the API's role writes originals
    // and lists their parts.
    const policies = JSON.stringify(t.findResources('AWS::IAM::Policy'));
    for (const action of ['s3:PutObject', 's3:ListMultipartUploadParts', 's3:AbortMultipartUpload']) {
      assert.ok(policies.includes(action), action);
    }
  });

  it('keeps the bucket private, encrypted, TLS only, and aborts stale multipart uploads', () => {
    // The videos and the access logs.
    t.resourceCountIs('AWS::S3::Bucket', 2);
    t.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true,
      },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      LifecycleConfiguration: {
        Rules: Match.arrayWith([Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 3 }, Status: 'Enabled' })]),
      },
    });
    t.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({
          Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        })]),
      },
    });
  });

  it('redirects HTTP to HTTPS and serves HTTPS with the given certificate', () => {
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 80, Protocol: 'HTTP',
      DefaultActions: [{ Type: 'redirect', RedirectConfig: Match.objectLike({ Protocol: 'HTTPS', Port: '443', StatusCode: 'HTTP_301' }) }],
    });
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 443, Protocol: 'HTTPS', Certificates: [{ CertificateArn: { Ref: 'CertificateArn' } }],
    });
  });

  it('health-checks the API on /readyz at the app port', () => {
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      HealthCheckPath: '/readyz', Port: 8080, Protocol: 'HTTP',
    });
  });

  it('scales the API on ALBRequestCountPerTarget', () => {
    t.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', {
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingConfiguration: Match.objectLike({
        PredefinedMetricSpecification: Match.objectLike({ PredefinedMetricType: 'ALBRequestCountPerTarget' }),
        TargetValue: 1000,
      }),
    });
  });

  it('scales workers on the transcode backlog metric and drains on scale-in', () => {
    t.resourceCountIs('AWS::AutoScaling::AutoScalingGroup', 2);
    t.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', {
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingConfiguration: Match.objectLike({
        CustomizedMetricSpecification: {
          Metrics: Match.arrayWith([Match.objectLike({
            MetricStat: Match.objectLike({
              Metric: Match.objectLike({
                Namespace: 'ANB', MetricName: 'TaskQueueBacklogCount',
                Dimensions: Match.arrayWith([{ Name: 'TaskQueue', Value: 'video-processing-transcode' }]),
              }),
            }),
          })]),
        },
      }),
    });
    t.hasResourceProperties('AWS::AutoScaling::LifecycleHook', {
      LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING', LifecycleHookName: 'anb-drain', DefaultResult: 'CONTINUE',
    });
  });

  it('alarms on backlog age, dead letters, 5xx, p95, RDS CPU and free storage', () => {
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'TaskQueueBacklogAgeSeconds', Threshold: 600 });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'anb_bridge_messages_total', Dimensions: [{ Name: 'result', Value: 'dead_lettered' }],
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'TargetResponseTime', ExtendedStatistic: 'p95' });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([Match.objectLike({ Expression: 'FILL(elb, 0) + FILL(target, 0)' })]),
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'CPUUtilization', Namespace: 'AWS/RDS' });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'FreeStorageSpace', Namespace: 'AWS/RDS' });
    t.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });

  it('rate-limits login and signup with WAF on the ALB', () => {
    t.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'REGIONAL',
      Rules: Match.arrayWith([Match.objectLike({
        Name: 'auth-rate-limit',
        Action: { Block: Match.anyValue() },
        Statement: {
          RateBasedStatement: Match.objectLike({
            AggregateKeyType: 'IP',
            ScopeDownStatement: {
              OrStatement: {
                Statements: ['/api/auth/login', '/api/auth/signup'].map((path) => Match.objectLike({
                  ByteMatchStatement: Match.objectLike({
                    SearchString: path,
                    // Percent-encoded paths (/api/auth/%6cogin) are decoded
                    // before they are compared, then lower-cased.
                    TextTransformations: [
                      { Priority: 0, Type: 'URL_DECODE' },
                      { Priority: 1, Type: 'LOWERCASE' },
                    ],
                  }),
                })),
              },
            },
          }),
        },
      })]),
    });
    t.resourceCountIs('AWS::WAFv2::WebACLAssociation', 1);
  });

  it('runs MSK with IAM client authentication and TLS in transit', () => {
    t.hasResourceProperties('AWS::MSK::Cluster', {
      NumberOfBrokerNodes: 3,
      BrokerNodeGroupInfo: Match.objectLike({ InstanceType: 'kafka.t3.small' }),
      ClientAuthentication: { Sasl: { Iam: { Enabled: true } }, Unauthenticated: { Enabled: false } },
      EncryptionInfo: { EncryptionInTransit: { ClientBroker: 'TLS', InCluster: true } },
    });
    // The first deploy creates the topics and applies the migrations by itself.
    const worker = userData(t, 'WorkerTemplate');
    assert.match(worker, /--topic video_tasks --/);
    assert.match(worker, /--topic video_tasks\.dlq --/);
    assert.match(userData(t, 'ApiTemplate'), /ExecStart=\/usr\/local\/bin\/anb migrate/);
  });

  it('opens the API port to the ALB only, and 5432/9098 to the instances only', () => {
    t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: 8080, ToPort: 8080, SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AlbSg'), 'GroupId'] },
    });
    for (const port of [5432, 9098]) {
      for (const from of ['^ApiSg', '^WorkerSg']) {
        t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
          FromPort: port, ToPort: port, SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp(from), 'GroupId'] },
        });
      }
    }
    const ingress = t.findResources('AWS::EC2::SecurityGroupIngress') as Resources;
    for (const r of Object.values(ingress)) {
      assert.notEqual(r.Properties.CidrIp, '0.0.0.0/0', 'only the ALB is open to the internet');
    }
  });

  it('boots API instances into `anb api` under systemd, after a checksum check', () => {
    const ud = userData(t, 'ApiTemplate');
    assert.match(ud, /ExecStart=\/usr\/local\/bin\/anb api/);
    assert.match(ud, /systemctl enable --now anb-settings\.service anb-api\.service/);
    assert.match(ud, /sha256sum -c -/);
    assert.ok(ud.indexOf('sha256sum -c -') < ud.indexOf('install -m 0755 /opt/anb/anb'), 'verified before installed');
    assert.match(ud, /ANB_HTTP_ADDR=0\.0\.0\.0:8080/);
    // Migrations run once per boot before the API, under bun's migration lock.
    assert.match(ud, /Requires=anb-settings\.service anb-migrate\.service/);
  });

  it('sends the confirmation mail through SES, with SMTP credentials from Secrets Manager given as a parameter', () => {
    const params = t.toJSON().Parameters as Record<string, { Type: string }>;
    for (const p of ['PublicUrl', 'MailDomain', 'SmtpSecretArn']) {
      assert.equal(params[p]?.Type, 'String', `parameter ${p}`);
    }
    t.resourceCountIs('AWS::SES::EmailIdentity', 1);
    t.hasResourceProperties('AWS::SES::EmailIdentity', {
      EmailIdentity: { Ref: 'MailDomain' },
      DkimAttributes: Match.absent(), // Easy DKIM, on by default
    });

    // Only the API role may read the SMTP secret.
    const readers = (role: string): boolean => {
      const policies = t.findResources('AWS::IAM::Policy') as Resources;
      return Object.values(policies).some((pol) => {
        const roles = JSON.stringify(pol.Properties.Roles);
        const doc = JSON.stringify(pol.Properties.PolicyDocument);
        return roles.includes(`"${role}`) && doc.includes('secretsmanager:GetSecretValue') && doc.includes('{"Ref":"SmtpSecretArn"}');
      });
    };
    assert.ok(readers('ApiRole'), 'the API reads the SMTP credentials');
    assert.ok(!readers('WorkerRole'), 'the worker sends no mail');

    const api = userData(t, 'ApiTemplate');
    assert.match(api, /ANB_SMTP_ADDR=email-smtp\.<Ref:AWS::Region>\.amazonaws\.com:587/);
    assert.match(api, /ANB_MAIL_FROM=no-reply@<Ref:MailIdentity[0-9A-F]+>/);
    assert.match(api, /ANB_PUBLIC_URL=<Ref:PublicUrl>/);
    assert.match(api, /SMTP_SECRET_ARN=<Ref:SmtpSecretArn>/);
    assert.match(api, /ANB_SMTP_USERNAME=\$\(jq -r \.username/, 'the boot writes the SMTP credentials from the secret');
    assert.match(api, /ANB_VOTES_NEED_VERIFIED_EMAIL=true/, 'votes of unconfirmed accounts wait on AWS');
    const worker = userData(t, 'WorkerTemplate');
    assert.match(worker, /SMTP_SECRET_ARN=\n/);
    assert.doesNotMatch(worker, /ANB_SMTP_ADDR|ANB_VOTES_NEED_VERIFIED_EMAIL/);
  });

  it('boots workers into `anb worker` and `anb bridge` with ffmpeg and the backlog signal', () => {
    const ud = userData(t, 'WorkerTemplate');
    assert.match(ud, /ExecStart=\/usr\/local\/bin\/anb worker/);
    assert.match(ud, /ExecStart=\/usr\/local\/bin\/anb bridge/);
    assert.doesNotMatch(ud, /apt-get/, 'ffmpeg comes baked into the image');
    assert.match(ud, /ANB_CLOUDWATCH_NAMESPACE=ANB/);
    assert.match(ud, /complete-lifecycle-action/);
  });
});
