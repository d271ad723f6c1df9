import { aws_ec2 as ec2 } from 'aws-cdk-lib';

export type Role = 'api' | 'worker';

export interface UserDataProps {
  readonly role: Role;
  readonly region: string;
  readonly releaseBucket: string;
  readonly releaseKey: string;
  readonly releaseSha256: string;
  /** Static ANB_* settings written into the service environment. */
  readonly settings: Record<string, string>;
  readonly parameterPath: string;
  readonly dbSecretArn: string;
  readonly jwtSecretArn: string;
  readonly temporalSecretArn: string;
  readonly mskClusterArn: string;
  readonly metricsNamespace: string;
  /** Worker only: the termination lifecycle hook the drain completes. */
  readonly drainHookName?: string;
}

const units: Record<string, string> = {
  'anb-api': 'anb api',
  'anb-worker': 'anb worker',
  'anb-bridge': 'anb bridge',
};

/** The services each role runs under systemd. */
export function servicesOf(role: Role): string[] {
  return role === 'api' ? ['anb-api'] : ['anb-worker', 'anb-bridge'];
}

function unit(name: string, role: Role): string {
  // A stopping worker lets its transcode finish (ANB_WORKER_STOP_TIMEOUT).
  const stop = name === 'anb-worker' ? '17min' : '90s';
  return [
    '[Unit]',
    `Description=ANB ${units[name]}`,
    'Requires=anb-settings.service',
    'After=network-online.target anb-settings.service',
    'Wants=network-online.target',
    '',
    '[Service]',
    'User=anb',
    'Group=anb',
    'EnvironmentFile=/run/anb/anb.env',
    `ExecStart=/usr/local/bin/${units[name]}`,
    'Restart=always',
    'RestartSec=2',
    'LimitNOFILE=65536',
    `TimeoutStopSec=${stop}`,
    role === 'worker' ? 'Environment=TMPDIR=/var/lib/anb/tmp' : 'PrivateTmp=yes',
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    'ReadWritePaths=/var/lib/anb',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
  ].join('\n');
}

const settingsScript = `#!/bin/bash
# Writes /run/anb/anb.env (tmpfs) from the stack's settings, Parameter Store
# and Secrets Manager; every anb service reads it at start.
set -euo pipefail
. /etc/anb/instance.env
mkdir -p /run/anb
umask 077
tmp=$(mktemp /run/anb/env.XXXXXX)
cat /etc/anb/anb.env > "$tmp"
# Extra or overriding settings: parameter <path>ANB_NAME holds ANB_NAME.
aws ssm get-parameters-by-path --region "$AWS_REGION" --path "$PARAMETER_PATH" --recursive --with-decryption --output json \\
  | jq -r '.Parameters[] | "\\(.Name | split("/") | last)=\\(.Value)"' | { grep -E '^ANB_[A-Z0-9_]+=' || true; } >> "$tmp"
secret() { aws secretsmanager get-secret-value --region "$AWS_REGION" --secret-id "$1" --query SecretString --output text; }
secret "$DB_SECRET_ARN" | jq -r '"ANB_DATABASE_URL=postgres://\\(.username|@uri):\\(.password|@uri)@\\(.host):\\(.port)/\\(.dbname)?sslmode=require"' >> "$tmp"
echo "ANB_JWT_SECRET=$(secret "$JWT_SECRET_ARN")" >> "$tmp"
temporal=$(secret "$TEMPORAL_SECRET_ARN")
jq -r .cert <<<"$temporal" > /run/anb/temporal.crt
jq -r .key <<<"$temporal" > /run/anb/temporal.key
echo "ANB_KAFKA_BROKERS=$(aws kafka get-bootstrap-brokers --region "$AWS_REGION" --cluster-arn "$MSK_CLUSTER_ARN" --query BootstrapBrokerStringSaslIam --output text)" >> "$tmp"
chown anb:anb "$tmp" /run/anb/temporal.crt /run/anb/temporal.key
mv "$tmp" /run/anb/anb.env
`;

const drainScript = `#!/bin/bash
# Scale-in drain: when the Auto Scaling group decides to terminate this
# instance (termination lifecycle hook, instance state Terminating:Wait),
# stop the bridge and the worker, whose stop lets the running transcode
# finish, heartbeat the hook meanwhile, then let the termination go on.
set -uo pipefail
. /etc/anb/instance.env
imds() {
  local t
  t=$(curl -fsS -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' http://169.254.169.254/latest/api/token) &&
    curl -fsS -H "X-aws-ec2-metadata-token: $t" "http://169.254.169.254/latest/meta-data/$1"
}
until [ "$(imds autoscaling/target-lifecycle-state 2>/dev/null)" = Terminated ]; do sleep 5; done
id=$(imds instance-id)
asg=$(imds tags/instance/aws:autoscaling:groupName)
hook=(--region "$AWS_REGION" --auto-scaling-group-name "$asg" --lifecycle-hook-name "$DRAIN_HOOK" --instance-id "$id")
systemctl stop anb-bridge.service anb-worker.service &
stopping=$!
n=0
while kill -0 "$stopping" 2>/dev/null; do
  if [ $((n % 12)) -eq 0 ]; then aws autoscaling record-lifecycle-action-heartbeat "\${hook[@]}" || true; fi
  n=$((n + 1))
  sleep 5
done
aws autoscaling complete-lifecycle-action "\${hook[@]}" --lifecycle-action-result CONTINUE
`;

const drainUnit = [
  '[Unit]',
  'Description=ANB scale-in drain',
  'After=anb-worker.service',
  '',
  '[Service]',
  'ExecStart=/usr/local/bin/anb-drain',
  'Restart=on-failure',
  'RestartSec=5',
  '',
  '[Install]',
  'WantedBy=multi-user.target',
].join('\n');

const settingsUnit = [
  '[Unit]',
  'Description=ANB settings from Parameter Store and Secrets Manager',
  'After=network-online.target',
  'Wants=network-online.target',
  '',
  '[Service]',
  'Type=oneshot',
  'RemainAfterExit=yes',
  'ExecStart=/usr/local/bin/anb-settings',
  'Restart=on-failure',
  'RestartSec=10',
  '',
  '[Install]',
  'WantedBy=multi-user.target',
].join('\n');

function cloudWatchAgentConfig(namespace: string): string {
  const prometheus = [
    'global:',
    '  scrape_interval: 1m',
    '  scrape_timeout: 10s',
    'scrape_configs:',
    '  - job_name: anb-bridge',
    '    static_configs:',
    "      - targets: ['127.0.0.1:9101']",
  ].join('\n');
  const agent = {
    logs: {
      metrics_collected: {
        prometheus: {
          log_group_name: '/anb/prometheus',
          prometheus_config_path: '/opt/aws/amazon-cloudwatch-agent/etc/prometheus.yaml',
          emf_processor: {
            metric_namespace: namespace,
            metric_declaration: [
              {
                source_labels: ['job'],
                label_matcher: '^anb-bridge$',
                dimensions: [['result']],
                metric_selectors: ['^anb_bridge_messages_total$'],
              },
            ],
          },
        },
      },
    },
  };
  return [
    "cat > /opt/aws/amazon-cloudwatch-agent/etc/prometheus.yaml <<'ANB_EOF'",
    prometheus,
    'ANB_EOF',
    "cat > /opt/aws/amazon-cloudwatch-agent/etc/anb.json <<'ANB_EOF'",
    JSON.stringify(agent, null, 2),
    'ANB_EOF',
    '/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -c file:/opt/aws/amazon-cloudwatch-agent/etc/anb.json -s',
  ].join('\n');
}

function file(path: string, body: string, mode: string): string {
  return [`cat > ${path} <<'ANB_EOF'`, body, 'ANB_EOF', `chmod ${mode} ${path}`].join('\n');
}

/**
 * Boot script of an API or worker instance (Debian 12): installs the
 * release after checking its SHA-256, writes the systemd units and starts
 * them. Migrations are not run here: a deploy step runs them once.
 */
export function instanceUserData(p: UserDataProps): ec2.UserData {
  const ud = ec2.UserData.forLinux({ shebang: '#!/bin/bash' });
  const packages = ['awscli', 'jq', 'curl', 'ca-certificates'];
  if (p.role === 'worker') {
    packages.push('ffmpeg');
  }
  const services = servicesOf(p.role);
  const instanceEnv = [
    `AWS_REGION=${p.region}`,
    `PARAMETER_PATH=${p.parameterPath}`,
    `DB_SECRET_ARN=${p.dbSecretArn}`,
    `JWT_SECRET_ARN=${p.jwtSecretArn}`,
    `TEMPORAL_SECRET_ARN=${p.temporalSecretArn}`,
    `MSK_CLUSTER_ARN=${p.mskClusterArn}`,
    `DRAIN_HOOK=${p.drainHookName ?? ''}`,
  ].join('\n');
  const anbEnv = Object.entries(p.settings)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');
  ud.addCommands(
    'set -euxo pipefail',
    'export DEBIAN_FRONTEND=noninteractive',
    'apt-get update',
    `apt-get install -y --no-install-recommends ${packages.join(' ')}`,
    // Agents: Systems Manager (Run Command: migrations, topics) and CloudWatch.
    `curl -fsSL -o /tmp/ssm-agent.deb https://s3.${p.region}.amazonaws.com/amazon-ssm-${p.region}/latest/debian_amd64/amazon-ssm-agent.deb`,
    'dpkg -i /tmp/ssm-agent.deb',
    `curl -fsSL -o /tmp/cw-agent.deb https://s3.${p.region}.amazonaws.com/amazoncloudwatch-agent-${p.region}/debian/amd64/latest/amazon-cloudwatch-agent.deb`,
    'dpkg -i -E /tmp/cw-agent.deb',
    // The release: download, verify, install.
    `aws s3 cp --region ${p.region} s3://${p.releaseBucket}/${p.releaseKey} /tmp/anb.tar.gz`,
    `echo "${p.releaseSha256}  /tmp/anb.tar.gz" | sha256sum -c -`,
    'rm -rf /opt/anb && mkdir -p /opt/anb && tar -xzf /tmp/anb.tar.gz -C /opt/anb',
    'install -m 0755 /opt/anb/anb /usr/local/bin/anb',
    'id anb >/dev/null 2>&1 || useradd --system --home-dir /var/lib/anb --create-home --shell /usr/sbin/nologin anb',
    'install -d -o anb -g anb -m 0750 /var/lib/anb/tmp',
    'mkdir -p /etc/anb',
    file('/etc/anb/instance.env', instanceEnv, '0600'),
    file('/etc/anb/anb.env', anbEnv, '0600'),
    file('/usr/local/bin/anb-settings', settingsScript, '0755'),
    file('/etc/systemd/system/anb-settings.service', settingsUnit, '0644'),
    ...services.map((s) => file(`/etc/systemd/system/${s}.service`, unit(s, p.role), '0644')),
  );
  if (p.role === 'worker') {
    ud.addCommands(
      file('/usr/local/bin/anb-drain', drainScript, '0755'),
      file('/etc/systemd/system/anb-drain.service', drainUnit, '0644'),
      cloudWatchAgentConfig(p.metricsNamespace),
    );
    services.push('anb-drain');
  }
  ud.addCommands('systemctl daemon-reload', `systemctl enable --now anb-settings.service ${services.map((s) => `${s}.service`).join(' ')}`);
  return ud;
}
