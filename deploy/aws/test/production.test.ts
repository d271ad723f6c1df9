import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { App, CfnResource, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AnbStack } from '../lib/anb-stack';
import { defaultSettings } from '../lib/settings';

// Everything here reads the synthesized template only, so each check
// also runs against an older stack.

type Resource = { Type: string; Properties: Record<string, unknown>; CreationPolicy?: any; UpdatePolicy?: any };
type Resources = Record<string, Resource>;

// dist/test -> deploy/aws
const awsDir = join(__dirname, '..', '..');

function synth(context: Record<string, unknown> = {}, id = 'Test'): Template {
  const app = new App({ context });
  return Template.fromStack(new AnbStack(app, id, { settings: { ...defaultSettings, ...settingsFrom(context) } }));
}

// Context keys as bin/app.ts maps them, for the few tests that vary one.
function settingsFrom(context: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(context)) {
    out[k.replace(/^anb:/, '')] = v;
  }
  return out;
}

function flatten(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
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
}

function resources(t: Template, type: string): Resources {
  return t.findResources(type) as Resources;
}

function one(t: Template, type: string, idPrefix: string): [string, Resource] {
  const found = Object.entries(resources(t, type)).filter(([k]) => k.startsWith(idPrefix));
  assert.equal(found.length, 1, `one ${type} named ${idPrefix}*`);
  return found[0];
}

function userData(t: Template, idPrefix: string): string {
  const [, lt] = one(t, 'AWS::EC2::LaunchTemplate', idPrefix);
  return flatten((lt.Properties.LaunchTemplateData as { UserData: unknown }).UserData);
}

/** The files a boot script writes with here-documents, by path. */
function heredocs(ud: string): Map<string, string> {
  const files = new Map<string, string>();
  const re = /cat > (\S+) <<'ANB_EOF'\n([\s\S]*?)\nANB_EOF/g;
  for (const m of ud.matchAll(re)) {
    files.set(m[1], m[2]);
  }
  return files;
}

function envFile(body: string): Map<string, string> {
  const env = new Map<string, string>();
  for (const line of body.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0 && !line.startsWith('#')) env.set(line.slice(0, i), line.slice(i + 1));
  }
  return env;
}

/**
 * The ANB_METRICS_ADDR each anb process starts with: its unit's
 * EnvironmentFile= lines in order (later files override earlier ones),
 * then Environment= lines (which systemd lets files override).
 */
function metricsAddrs(ud: string): Map<string, string | undefined> {
  const files = heredocs(ud);
  const out = new Map<string, string | undefined>();
  for (const [path, body] of files) {
    const m = /^\/etc\/systemd\/system\/(anb-[a-z]+)\.service$/.exec(path);
    if (!m || !/ExecStart=\/usr\/local\/bin\/anb (api|worker|bridge)$/m.test(body)) continue;
    let addr: string | undefined;
    for (const line of body.split('\n')) {
      const e = /^Environment=ANB_METRICS_ADDR=(.*)$/.exec(line);
      if (e && addr === undefined) addr = e[1];
    }
    for (const line of body.split('\n')) {
      const f = /^EnvironmentFile=-?(.*)$/.exec(line);
      if (!f) continue;
      // /run/anb/anb.env is /etc/anb/anb.env plus secrets at boot.
      const source = f[1] === '/run/anb/anb.env' ? '/etc/anb/anb.env' : f[1];
      const v = envFile(files.get(source) ?? '').get('ANB_METRICS_ADDR');
      if (v !== undefined) addr = v;
    }
    out.set(m[1], addr);
  }
  return out;
}

/** The scrape targets of the CloudWatch agent's Prometheus configuration. */
function scrapeTargets(ud: string): Set<string> {
  const prom = [...heredocs(ud)].find(([p]) => p.endsWith('prometheus.yaml'));
  assert.ok(prom, 'the CloudWatch agent has a Prometheus scrape configuration');
  return new Set([...prom[1].matchAll(/'([0-9.]+:[0-9]+)'/g)].map((m) => m[1]));
}

/** Every ingress rule, inline in a security group or standalone, with its group's logical id. */
function ingressRules(t: Template): { group: string; rule: Record<string, unknown> }[] {
  const rules: { group: string; rule: Record<string, unknown> }[] = [];
  for (const [id, sg] of Object.entries(resources(t, 'AWS::EC2::SecurityGroup'))) {
    for (const rule of (sg.Properties.SecurityGroupIngress as Record<string, unknown>[] | undefined) ?? []) {
      rules.push({ group: id, rule });
    }
  }
  for (const r of Object.values(resources(t, 'AWS::EC2::SecurityGroupIngress'))) {
    const g = r.Properties.GroupId as { 'Fn::GetAtt'?: string[] } | undefined;
    rules.push({ group: g?.['Fn::GetAtt']?.[0] ?? flatten(g), rule: r.Properties });
  }
  return rules;
}

/** Groups other than the load balancer's that are open to the internet. */
function openToInternet(t: Template): string[] {
  return ingressRules(t)
    .filter(({ group, rule }) => !group.startsWith('AlbSg') && (rule.CidrIp === '0.0.0.0/0' || rule.CidrIpv6 === '::/0'))
    .map(({ group, rule }) => `${group} ${String(rule.FromPort)}-${String(rule.ToPort)}`);
}

function statements(t: Template, rolePrefix: string): Record<string, any>[] {
  const out: Record<string, any>[] = [];
  for (const [id, p] of Object.entries(resources(t, 'AWS::IAM::Policy'))) {
    const roles = JSON.stringify(p.Properties.Roles);
    if (roles.includes(`"${rolePrefix}`) || id.startsWith(rolePrefix)) {
      out.push(...((p.Properties.PolicyDocument as { Statement: Record<string, any>[] }).Statement));
    }
  }
  return out;
}

const actionsOf = (s: Record<string, any>): string[] => [s.Action].flat();

describe('production readiness', () => {
  let t: Template;
  before(() => {
    t = synth();
  });

  it('1. gates every launch on the instance signal after /readyz, so a broken release rolls back', () => {
    for (const [asgPrefix, ltPrefix, probe] of [['ApiAsg', 'ApiTemplate', '/readyz'], ['WorkerAsg', 'WorkerTemplate', '/metrics']]) {
      const [id, asg] = one(t, 'AWS::AutoScaling::AutoScalingGroup', asgPrefix);
      assert.ok(asg.CreationPolicy?.ResourceSignal, `${asgPrefix} has a CreationPolicy with resource signals`);
      assert.equal(Number(asg.CreationPolicy.ResourceSignal.Count), Number(asg.Properties.MinSize), 'every instance of the minimum signals');
      const rolling = asg.UpdatePolicy?.AutoScalingRollingUpdate;
      assert.ok(rolling, 'a rolling update');
      assert.equal(rolling.WaitOnResourceSignals, true, `${asgPrefix}: the rolling update waits for signals, not a sleep`);
      assert.equal(rolling.MinSuccessfulInstancesPercent, 100);
      const ud = userData(t, ltPrefix);
      const success = ud.indexOf('--status "$1"');
      assert.ok(success > 0, 'the boot signals CloudFormation');
      assert.match(ud, new RegExp(`--logical-resource-id ${id} `), 'the boot signals its own group');
      assert.match(ud, /signal FAILURE/, 'a failing boot signals FAILURE');
      assert.ok(ud.indexOf(probe) > 0 && ud.indexOf(probe) < ud.lastIndexOf('signal SUCCESS'), `SUCCESS only after ${probe} answers`);
    }
  });

  it('2. replaces API instances on liveness (/healthz) only; /readyz steers the load balancer', () => {
    const [, asg] = one(t, 'AWS::AutoScaling::AutoScalingGroup', 'ApiAsg');
    assert.notEqual(asg.Properties.HealthCheckType, 'ELB', 'the group must not take the deep /readyz as instance health');
    const [, tg] = one(t, 'AWS::ElasticLoadBalancingV2::TargetGroup', 'AlbHttpsApiGroup');
    assert.equal(tg.Properties.HealthCheckPath, '/readyz');
    const ud = userData(t, 'ApiTemplate');
    assert.match(ud, /127\.0\.0\.1:8080\/healthz/);
    assert.match(ud, /set-instance-health .*--health-status Unhealthy/);
    assert.doesNotMatch(ud.slice(ud.indexOf('/healthz') - 200, ud.indexOf('set-instance-health')), /readyz/);
  });

  it('3. scrapes every process\'s metrics port, and nothing else', () => {
    for (const lt of ['ApiTemplate', 'WorkerTemplate']) {
      const ud = userData(t, lt);
      const addrs = metricsAddrs(ud);
      assert.ok(addrs.size > 0, `${lt} runs anb processes`);
      const ports = [...addrs.values()];
      for (const [svc, addr] of addrs) {
        assert.ok(addr, `${lt}: ${svc} serves /metrics (ANB_METRICS_ADDR)`);
      }
      assert.equal(new Set(ports).size, ports.length, `${lt}: each process has its own metrics port: ${JSON.stringify([...addrs])}`);
      assert.deepEqual(scrapeTargets(ud), new Set(ports), `${lt}: the agent scrapes exactly the processes' ports`);
    }
    // The dead-letter alarm's metric comes from the bridge's job.
    const ud = userData(t, 'WorkerTemplate');
    const agent = [...heredocs(ud)].find(([p]) => p.endsWith('anb.json'));
    assert.ok(agent);
    assert.match(agent[1], /anb_bridge_messages_total/);
  });

  it('4. lets instances read every release, so a rollback to an older key works', () => {
    for (const role of ['ApiRole', 'WorkerRole']) {
      const gets = statements(t, role).filter((s) => actionsOf(s).includes('s3:GetObject')).map((s) => flatten(s.Resource));
      assert.ok(gets.some((r) => r === 'arn:<Ref:AWS::Partition>:s3:::<Ref:ReleaseBucket>/releases/*'), `${role}: ${gets.join(', ')}`);
    }
    const key = (t.toJSON().Parameters as Record<string, { AllowedPattern?: string }>).ReleaseKey;
    assert.match(key.AllowedPattern ?? '', /^\^releases\//, 'release keys live under releases/');
  });

  it('5. has a NAT gateway per zone (fewer by choice) and endpoints for the AWS APIs', () => {
    const publicSubnets = Object.values(resources(t, 'AWS::EC2::Subnet')).filter((s) => s.Properties.MapPublicIpOnLaunch === true);
    t.resourceCountIs('AWS::EC2::NatGateway', publicSubnets.length);
    assert.ok(publicSubnets.length >= 2);
    synth({ 'anb:natGateways': 1 }).resourceCountIs('AWS::EC2::NatGateway', 1);
    const services = Object.values(resources(t, 'AWS::EC2::VPCEndpoint'))
      .map((e): [string, string] => [flatten(e.Properties.ServiceName), String(e.Properties.VpcEndpointType ?? 'Gateway')]);
    for (const [name, type] of [['secretsmanager', 'Interface'], ['monitoring', 'Interface'], ['logs', 'Interface'], ['.ssm', 'Interface'], ['.s3', 'Gateway']]) {
      assert.ok(services.some(([n, ty]) => n.endsWith(name) && ty === type), `${type} endpoint for ${name}: ${JSON.stringify(services)}`);
    }
  });

  it('6. boots a pinned, baked image and installs nothing from package repositories', () => {
    const params = t.toJSON().Parameters as Record<string, { Type: string }>;
    assert.equal(params.ImageId?.Type, 'AWS::EC2::Image::Id', 'the AMI is a parameter');
    for (const [k, p] of Object.entries(params)) {
      if (k === 'BootstrapVersion') continue; // CDK's own, not an image
      assert.ok(!p.Type.startsWith('AWS::SSM::Parameter::Value'), `${k}: no "latest" image re-resolved on every deploy`);
    }
    for (const lt of ['ApiTemplate', 'WorkerTemplate']) {
      const [, res] = one(t, 'AWS::EC2::LaunchTemplate', lt);
      assert.deepEqual((res.Properties.LaunchTemplateData as { ImageId: unknown }).ImageId, { Ref: 'ImageId' });
      const ud = userData(t, lt);
      assert.doesNotMatch(ud, /apt-get|dpkg -i/, `${lt}: no package installs at boot`);
      // (The instance metadata service's own path is /latest/.)
      assert.doesNotMatch(ud, /https?:\/\/(?!169\.254\.169\.254\/)[^\s"']*\/latest\//, `${lt}: no "latest" downloads`);
    }
    const bake = join(awsDir, 'image', 'bake.sh');
    assert.ok(existsSync(bake), 'the image is baked by deploy/aws/image/bake.sh');
    const script = readFileSync(bake, 'utf8');
    assert.match(script, /ffmpeg/);
    assert.match(script, /amazon-ssm-agent/);
    assert.match(script, /amazon-cloudwatch-agent/);
    assert.doesNotMatch(script, /\/latest\//, 'agent versions are pinned');
    assert.match(script, /SSM_AGENT_VERSION=\d/);
    assert.match(script, /CW_AGENT_VERSION=\d/);
  });

  it('7. scales workers on waiting plus running transcodes per instance, never on a bare backlog of 0', () => {
    const [asgId] = one(t, 'AWS::AutoScaling::AutoScalingGroup', 'WorkerAsg');
    const policies = Object.values(resources(t, 'AWS::AutoScaling::ScalingPolicy'))
      .filter((p) => JSON.stringify(p.Properties.AutoScalingGroupName) === JSON.stringify({ Ref: asgId }));
    for (const p of policies) {
      const steps = (p.Properties.StepAdjustments as { ScalingAdjustment: number }[] | undefined) ?? [];
      assert.ok(!steps.some((s) => s.ScalingAdjustment < 0), 'no step scale-in on the backlog alone');
    }
    const tracking = policies.filter((p) => p.Properties.PolicyType === 'TargetTrackingScaling');
    assert.equal(tracking.length, 1, 'one target tracking policy on the worker group');
    const text = JSON.stringify(tracking[0].Properties);
    assert.match(text, /TaskQueueBacklogCount/);
    assert.match(text, /temporal_worker_task_slots_used/, 'running transcodes count');
    assert.match(text, /GroupInServiceInstances/, 'per instance');
    const [, asg] = one(t, 'AWS::AutoScaling::AutoScalingGroup', 'WorkerAsg');
    assert.match(JSON.stringify(asg.Properties.MetricsCollection ?? []), /GroupInServiceInstances/);
    // The running transcodes reach CloudWatch from the worker's scrape.
    assert.match(userData(t, 'WorkerTemplate'), /temporal_worker_task_slots_used/);
    t.hasResourceProperties('AWS::AutoScaling::LifecycleHook', { LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING' });
  });

  it('8. ships each service\'s logs with a retention, and alarms on hosts, 5xx rate, RDS memory/storage and MSK disk', () => {
    const groups = resources(t, 'AWS::Logs::LogGroup');
    for (const [id, g] of Object.entries(groups)) {
      assert.ok(typeof g.Properties.RetentionInDays === 'number', `${id} has a retention`);
    }
    for (const [lt, services] of [['ApiTemplate', ['anb-api']], ['WorkerTemplate', ['anb-worker', 'anb-bridge']]] as const) {
      const ud = userData(t, lt);
      const agent = [...heredocs(ud)].find(([p]) => p.endsWith('anb.json'));
      assert.ok(agent, `${lt}: a CloudWatch agent configuration`);
      const config = JSON.parse(agent[1]) as { logs?: { logs_collected?: { files?: { collect_list: { file_path: string; log_group_name: string }[] } } } };
      const files = config.logs?.logs_collected?.files?.collect_list ?? [];
      for (const svc of services) {
        const f = files.find((x) => x.file_path === `/var/log/anb/${svc}.log`);
        assert.ok(f, `${lt}: ${svc}'s output is shipped`);
        const ref = /^<Ref:(.+)>$/.exec(f.log_group_name);
        assert.ok(ref && groups[ref[1]], `${svc} ships into a log group of the stack`);
        assert.match(ud, new RegExp(`StandardOutput=append:/var/log/anb/${svc}\\.log`));
      }
    }
    const alarms = Object.values(resources(t, 'AWS::CloudWatch::Alarm')).map((a) => JSON.stringify(a.Properties));
    for (const [what, re] of [
      ['healthy host count', /"MetricName":"HealthyHostCount"/],
      ['5xx rate', /requests/],
      ['RDS memory', /"MetricName":"FreeableMemory"/],
      ['RDS storage', /"MetricName":"FreeStorageSpace"/],
      ['MSK disk', /"MetricName":"KafkaDataLogsDiskUsed"/],
    ] as const) {
      assert.ok(alarms.some((a) => re.test(a)), `an alarm on ${what}`);
    }
    const [, dash] = one(t, 'AWS::CloudWatch::Dashboard', 'Monitoring');
    const body = flatten(dash.Properties.DashboardBody);
    for (const m of ['HealthyHostCount', 'FreeableMemory', 'FreeStorageSpace', 'KafkaDataLogsDiskUsed', 'HTTPCode_Target_5XX_Count']) {
      assert.ok(body.includes(m), `the dashboard shows ${m}`);
    }
  });

  it('9. applies the MSK configuration\'s latest revision with durable replication', () => {
    const [cfgId, cfg] = one(t, 'AWS::MSK::Configuration', 'KafkaConfig');
    const [, cluster] = one(t, 'AWS::MSK::Cluster', 'KafkaCluster');
    assert.deepEqual((cluster.Properties.ConfigurationInfo as { Revision: unknown }).Revision, { 'Fn::GetAtt': [cfgId, 'LatestRevision.Revision'] });
    const props = String(cfg.Properties.ServerProperties);
    assert.match(props, /^min\.insync\.replicas=2$/m);
    assert.match(props, /^default\.replication\.factor=3$/m);
    assert.equal(cluster.Properties.NumberOfBrokerNodes, 3);
    const subnets = (cluster.Properties.BrokerNodeGroupInfo as { ClientSubnets: unknown[] }).ClientSubnets;
    assert.equal(subnets.length, 3, 'one broker per zone');
    assert.ok((cluster.Properties.LoggingInfo as any)?.BrokerLogs?.CloudWatchLogs?.Enabled, 'broker logs');
  });

  it('10. grants each role its namespace and its object prefixes only, with no fixed physical names', () => {
    for (const r of Object.values(resources(t, 'AWS::IAM::Role'))) {
      assert.doesNotMatch(JSON.stringify(r.Properties.ManagedPolicyArns ?? []), /CloudWatchAgentServerPolicy/);
    }
    for (const role of ['ApiRole', 'WorkerRole']) {
      for (const s of statements(t, role)) {
        if (actionsOf(s).some((a) => a.startsWith('cloudwatch:PutMetricData'))) {
          assert.deepEqual(s.Condition, { StringEquals: { 'cloudwatch:namespace': 'ANB' } }, `${role}: PutMetricData in ANB only`);
        }
        const resourcesText = [s.Resource].flat().map(flatten);
        assert.ok(!resourcesText.some((r) => /Videos[0-9A-F]+\.Arn>\/videos\/\*$/.test(r) || /Videos[0-9A-F]+\.Arn>\/\*$/.test(r)),
          `${role}: objects by prefix, not the whole bucket: ${resourcesText.join(', ')}`);
      }
      const can = (action: string, prefix: string): boolean => statements(t, role).some((s) =>
        actionsOf(s).includes(action) && [s.Resource].flat().map(flatten).some((r) => r.endsWith(`/${prefix}*`)));
      if (role === 'ApiRole') {
        assert.ok(can('s3:PutObject', 'videos/uploaded/') && can('s3:GetObject', 'videos/processed/'));
        assert.ok(!can('s3:PutObject', 'videos/processed/'), 'the API never writes renders');
      } else {
        assert.ok(can('s3:GetObject', 'videos/uploaded/') && can('s3:PutObject', 'videos/processed/'));
        assert.ok(!can('s3:PutObject', 'videos/uploaded/'), 'the worker never writes originals');
      }
    }
    // Two stacks in one account and region: every name property is
    // generated or carries the stack name.
    const names = ['Name', 'ClusterName', 'DashboardName', 'LogGroupName', 'BucketName', 'RoleName', 'TopicName',
      'AutoScalingGroupName', 'LaunchTemplateName', 'DBInstanceIdentifier', 'ConfigurationName', 'AlarmName', 'PolicyName'];
    const a = synth({}, 'First').toJSON().Resources as Resources;
    const b = synth({}, 'Second').toJSON().Resources as Resources;
    const literal = (rs: Resources): Set<string> => {
      const out = new Set<string>();
      for (const r of Object.values(rs)) {
        if (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::EC2::SecurityGroup') continue;
        for (const n of names) {
          const v = r.Properties?.[n];
          // A reference or the stack name makes the name the stack's own.
          if (v !== undefined && !/<(Ref|GetAtt):|<token>/.test(flatten(v))) out.add(`${r.Type}.${n}=${flatten(v)}`);
        }
      }
      return out;
    };
    const shared = [...literal(a)].filter((x) => literal(b).has(x));
    assert.deepEqual(shared, [], 'no physical name shared by two stacks');
  });

  it('11. opens no security group but the load balancer\'s to the internet, inline or standalone', () => {
    assert.deepEqual(openToInternet(t), []);
    const albOpen = ingressRules(t).filter(({ group, rule }) => group.startsWith('AlbSg') && rule.CidrIp === '0.0.0.0/0');
    assert.ok(albOpen.length >= 1, 'the check sees the load balancer\'s inline rules');
    // The check itself catches an inline SSH rule on the workers.
    const app = new App();
    const stack = new AnbStack(app, 'Ssh', { settings: defaultSettings });
    const sg = stack.node.findChild('WorkerSg').node.defaultChild as CfnResource;
    sg.addPropertyOverride('SecurityGroupIngress', [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, CidrIp: '0.0.0.0/0' }]);
    assert.equal(openToInternet(Template.fromStack(stack)).length, 1);
  });

  it('12. passes cdk-nag\'s AwsSolutions pack, every accepted finding with its reason', () => {
    const out = mkdtempSync(join(tmpdir(), 'anb-nag-'));
    try {
      const app = new App({ outdir: out });
      new AnbStack(app, 'Nag', { settings: defaultSettings });
      Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
      let failure: unknown;
      try {
        app.synth();
      } catch (e) {
        failure = e;
      }
      const reportPath = join(out, 'validation-report.json');
      const report = existsSync(reportPath)
        ? JSON.parse(readFileSync(reportPath, 'utf8')) as { pluginReports: { pluginName: string; violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[] }[] }
        : { pluginReports: [] };
      const findings = report.pluginReports.flatMap((p) => p.violations.flatMap((v) => v.violatingConstructs.map((c) => `${v.ruleName} ${c.constructPath}`)));
      assert.deepEqual(findings, [], 'unacknowledged findings');
      assert.equal(failure, undefined);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('rotates the database secret, and instances pick up the new password', () => {
    const rotations = Object.values(resources(t, 'AWS::SecretsManager::RotationSchedule'));
    assert.equal(rotations.length, 1);
    assert.match(JSON.stringify(rotations[0].Properties.SecretId), /DatabaseSecretAttachment/);
    for (const lt of ['ApiTemplate', 'WorkerTemplate']) {
      const ud = userData(t, lt);
      assert.match(heredocs(ud).get('/usr/local/bin/anb-refresh') ?? '', /systemctl try-restart/);
      assert.match(ud, /systemctl enable --now .*anb-refresh\.timer/);
    }
  });

  it('pins the CDK CLI and every dependency to an exact version', () => {
    const pkg = JSON.parse(readFileSync(join(awsDir, 'package.json'), 'utf8')) as Record<string, Record<string, string>>;
    assert.ok(pkg.devDependencies['aws-cdk'], 'the CDK CLI is a dependency, not npx cdk@latest');
    for (const [name, v] of Object.entries({ ...pkg.dependencies, ...pkg.devDependencies })) {
      assert.match(v, /^\d+\.\d+\.\d+$/, `${name} pinned exactly`);
    }
    assert.match(pkg.dependencies['cdk-nag'] ?? '', /^3\.0\.2$/);
  });

  it('bootstraps a first deploy by itself: migrations before the API, topics and search attributes before the bridge', () => {
    const api = heredocs(userData(t, 'ApiTemplate'));
    assert.match(api.get('/etc/systemd/system/anb-migrate.service') ?? '', /ExecStart=\/usr\/local\/bin\/anb migrate/);
    assert.match(api.get('/etc/systemd/system/anb-api.service') ?? '', /^After=.*anb-migrate\.service/m);
    const worker = heredocs(userData(t, 'WorkerTemplate'));
    const boot = worker.get('/usr/local/bin/anb-bootstrap') ?? '';
    assert.match(boot, /--create --if-not-exists --topic video_tasks /);
    for (const attr of ['VideoId', 'OwnerId', 'VideoStatus']) {
      assert.match(boot, new RegExp(`--name ${attr} --type Keyword`));
    }
    assert.match(worker.get('/etc/systemd/system/anb-bridge.service') ?? '', /^After=.*anb-bootstrap\.service/m);
  });

  it('verifies the database server certificate against the RDS bundle baked into the image', () => {
    for (const lt of ['ApiTemplate', 'WorkerTemplate']) {
      const settings = heredocs(userData(t, lt)).get('/usr/local/bin/anb-settings') ?? '';
      const url = settings.split('\n').find((l) => l.includes('ANB_DATABASE_URL=')) ?? '';
      assert.match(url, /[?&]sslmode=verify-full(&|")/, lt);
      assert.match(url, /[?&]sslrootcert=\/etc\/anb\/rds-ca\.pem(&|")/, lt);
      assert.doesNotMatch(settings, /sslmode=(require|prefer|allow|disable)/, lt);
    }
    const bake = readFileSync(join(__dirname, '..', '..', 'image', 'bake.sh'), 'utf8');
    assert.match(bake, /truststore\.pki\.rds\.amazonaws\.com\/\$\{REGION\}\/\$\{REGION\}-bundle\.pem/);
    assert.match(bake, /install -m 0644 rds-ca\.pem \/etc\/anb\/rds-ca\.pem/);
  });

  it('takes Temporal Cloud credentials as an API key or an mTLS certificate', () => {
    const settings = heredocs(userData(t, 'ApiTemplate')).get('/usr/local/bin/anb-settings') ?? '';
    assert.match(settings, /ANB_TEMPORAL_API_KEY=/);
    assert.match(settings, /ANB_TEMPORAL_TLS_CERT=/);
  });
});
