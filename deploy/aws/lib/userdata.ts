import { aws_ec2 as ec2 } from 'aws-cdk-lib';
import { brokerCount } from './messaging';

export type Role = 'api' | 'worker';
export type Service = 'anb-api' | 'anb-worker' | 'anb-bridge';

/**
 * The internal /metrics port of each process (ANB_METRICS_ADDR). Worker
 * and bridge share an instance, so each has its own; the CloudWatch agent
 * scrapes exactly these.
 */
export const metricsPorts: Record<Service, number> = {
  'anb-api': 9100,
  'anb-bridge': 9101,
  'anb-worker': 9102,
};

export interface UserDataProps {
  readonly role: Role;
  readonly region: string;
  readonly stackName: string;
  /** Logical id of the Auto Scaling group whose launch this boot signals. */
  readonly signalResource: string;
  readonly releaseBucket: string;
  readonly releaseKey: string;
  readonly releaseSha256: string;
  /** Static ANB_* settings written into the role's environment. */
  readonly settings: Record<string, string>;
  readonly parameterPath: string;
  readonly dbSecretArn: string;
  readonly jwtSecretArn: string;
  readonly temporalSecretArn: string;
  /** API only: the SES SMTP credentials, {"username", "password"}. */
  readonly smtpSecretArn?: string;
  readonly mskClusterArn: string;
  readonly metricsNamespace: string;
  /** CloudWatch Logs group of each service's output, by service. */
  readonly logGroups: Partial<Record<Service, string>>;
  /** Log group the agent writes the scraped Prometheus metrics (EMF) to. */
  readonly prometheusLogGroup: string;
  /** The API's port (readiness and liveness probes). */
  readonly appPort: number;
  /** Worker only: the termination lifecycle hook the drain completes. */
  readonly drainHookName?: string;
  /** Worker only: the transcode task queue whose running tasks are a scaling input. */
  readonly transcodeQueue?: string;
  /** Kafka topics the first boot creates (worker). */
  readonly topics?: string[];
  /** Temporal search attributes (name to type) the first boot registers (worker). */
  readonly searchAttributes?: Record<string, string>;
}

const commands: Record<Service, string> = {
  'anb-api': 'anb api',
  'anb-worker': 'anb worker',
  'anb-bridge': 'anb bridge',
};

/** The services each role runs under systemd. */
export function servicesOf(role: Role): Service[] {
  return role === 'api' ? ['anb-api'] : ['anb-worker', 'anb-bridge'];
}

function unit(name: Service, role: Role): string {
  // A stopping worker lets its transcode finish (ANB_WORKER_STOP_TIMEOUT).
  const stop = name === 'anb-worker' ? '17min' : '90s';
  // Before the API serves, the schema is current (bun's migration lock
  // makes concurrent boots wait for each other); before the bridge
  // consumes, its topics and search attributes exist.
  const before: Partial<Record<Service, string>> = { 'anb-api': 'anb-migrate.service', 'anb-bridge': 'anb-bootstrap.service' };
  const deps = ['anb-settings.service', before[name]].filter(Boolean).join(' ');
  return [
    '[Unit]',
    `Description=ANB ${commands[name]}`,
    `Requires=${deps}`,
    `After=network-online.target ${deps}`,
    'Wants=network-online.target',
    '',
    '[Service]',
    'User=anb',
    'Group=anb',
    // The second file overrides the first: the per-process settings.
    'EnvironmentFile=/run/anb/anb.env',
    `EnvironmentFile=/etc/anb/${name}.env`,
    `ExecStart=/usr/local/bin/${commands[name]}`,
    // Output to a file the CloudWatch agent ships (journald is not read by it).
    `StandardOutput=append:/var/log/anb/${name}.log`,
    'StandardError=inherit',
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

/** The RDS certificate authorities, baked into the image (image/bake.sh). */
export const rdsCaBundle = '/etc/anb/rds-ca.pem';

// The database URL verifies the server's certificate and name against the
// RDS bundle: sslmode=require would encrypt to whoever answers.
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
secret "$DB_SECRET_ARN" | jq -r '"ANB_DATABASE_URL=postgres://\\(.username|@uri):\\(.password|@uri)@\\(.host):\\(.port)/\\(.dbname)?sslmode=verify-full&sslrootcert=${rdsCaBundle}"' >> "$tmp"
echo "ANB_JWT_SECRET=$(secret "$JWT_SECRET_ARN")" >> "$tmp"
# Temporal Cloud: {"apiKey": "..."} or {"cert": PEM, "key": PEM} (mTLS).
temporal=$(secret "$TEMPORAL_SECRET_ARN")
if [ -n "$(jq -r '.apiKey // empty' <<<"$temporal")" ]; then
  echo "ANB_TEMPORAL_API_KEY=$(jq -r .apiKey <<<"$temporal")" >> "$tmp"
else
  jq -r .cert <<<"$temporal" > /run/anb/temporal.crt
  jq -r .key <<<"$temporal" > /run/anb/temporal.key
  chown anb:anb /run/anb/temporal.crt /run/anb/temporal.key
  printf 'ANB_TEMPORAL_TLS_CERT=/run/anb/temporal.crt\\nANB_TEMPORAL_TLS_KEY=/run/anb/temporal.key\\n' >> "$tmp"
fi
if [ -n "\${SMTP_SECRET_ARN:-}" ]; then
  smtp=$(secret "$SMTP_SECRET_ARN")
  echo "ANB_SMTP_USERNAME=$(jq -r .username <<<"$smtp")" >> "$tmp"
  echo "ANB_SMTP_PASSWORD=$(jq -r .password <<<"$smtp")" >> "$tmp"
fi
echo "ANB_KAFKA_BROKERS=$(aws kafka get-bootstrap-brokers --region "$AWS_REGION" --cluster-arn "$MSK_CLUSTER_ARN" --query BootstrapBrokerStringSaslIam --output text)" >> "$tmp"
chown anb:anb "$tmp"
mv "$tmp" /run/anb/anb.env
`;

// Runs as the anb user with the services' settings: the same anb binary
// and credentials, no extra tool.
const migrateUnit = [
  '[Unit]',
  'Description=ANB database migrations (anb migrate, under a lock)',
  'Requires=anb-settings.service',
  'After=network-online.target anb-settings.service',
  '',
  '[Service]',
  'Type=oneshot',
  'RemainAfterExit=yes',
  'User=anb',
  'Group=anb',
  'EnvironmentFile=/run/anb/anb.env',
  'ExecStart=/usr/local/bin/anb migrate',
  'StandardOutput=append:/var/log/anb/anb-migrate.log',
  'StandardError=inherit',
  'Restart=on-failure',
  'RestartSec=10',
].join('\n');

/**
 * First-deploy bootstrap on a worker: the Kafka topics (Kafka CLI baked
 * into the image) and the Temporal search attributes the bridge checks at
 * start. Both steps are idempotent, so every worker boot runs them.
 */
function bootstrapScript(topics: string[], attributes: Record<string, string>): string {
  const attrs = Object.entries(attributes).sort(([a], [b]) => a.localeCompare(b));
  return `#!/bin/bash
set -euo pipefail
. /etc/anb/instance.env
set -a; . /run/anb/anb.env; set +a
kafka=/opt/kafka/bin/kafka-topics.sh
props=/opt/kafka/config/msk-iam.properties
${topics.map((t) => `"$kafka" --bootstrap-server "$ANB_KAFKA_BROKERS" --command-config "$props" --create --if-not-exists --topic ${t} --partitions 6 --replication-factor ${brokerCount}`).join('\n')}
# Temporal Cloud: custom search attributes are added with tcld and an
# account API key (secret field "opsApiKey"); a self-hosted server takes
# them from the temporal CLI with the service's own credentials.
temporal=$(aws secretsmanager get-secret-value --region "$AWS_REGION" --secret-id "$TEMPORAL_SECRET_ARN" --query SecretString --output text)
ops=$(jq -r '.opsApiKey // empty' <<<"$temporal")
present=$(temporal operator search-attribute list --address "$ANB_TEMPORAL_ADDRESS" --namespace "$ANB_TEMPORAL_NAMESPACE" \\
  \${ANB_TEMPORAL_API_KEY:+--api-key "$ANB_TEMPORAL_API_KEY"} \\
  \${ANB_TEMPORAL_TLS_CERT:+--tls-cert-path "$ANB_TEMPORAL_TLS_CERT" --tls-key-path "$ANB_TEMPORAL_TLS_KEY"} --output json)
${attrs.map(([name, type]) => `if ! jq -e --arg n ${name} 'any(.[]?; .name == $n) or (.customAttributes // {} | has($n))' <<<"$present" >/dev/null; then
  if [ -n "$ops" ]; then
    tcld --api-key "$ops" namespace search-attributes add --namespace "$ANB_TEMPORAL_NAMESPACE" --search-attribute "${name}=${type}"
  else
    temporal operator search-attribute create --address "$ANB_TEMPORAL_ADDRESS" --namespace "$ANB_TEMPORAL_NAMESPACE" \\
      \${ANB_TEMPORAL_API_KEY:+--api-key "$ANB_TEMPORAL_API_KEY"} \\
      \${ANB_TEMPORAL_TLS_CERT:+--tls-cert-path "$ANB_TEMPORAL_TLS_CERT" --tls-key-path "$ANB_TEMPORAL_TLS_KEY"} \\
      --name ${name} --type ${type} --yes
  fi
fi`).join('\n')}
`;
}

const bootstrapUnit = [
  '[Unit]',
  'Description=ANB first-deploy bootstrap: Kafka topics, Temporal search attributes',
  'Requires=anb-settings.service',
  'After=network-online.target anb-settings.service',
  '',
  '[Service]',
  'Type=oneshot',
  'RemainAfterExit=yes',
  'ExecStart=/usr/local/bin/anb-bootstrap',
  'StandardOutput=append:/var/log/anb/anb-bootstrap.log',
  'StandardError=inherit',
  'Restart=on-failure',
  'RestartSec=15',
].join('\n');

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

/**
 * Liveness, the instance's health for its Auto Scaling group: three
 * failed /healthz probes in a row (the process hangs or is gone) mark the
 * instance unhealthy and it is replaced. /readyz (PostgreSQL, S3, Kafka,
 * Temporal) only steers the load balancer: a Temporal or Kafka blip must
 * not replace the fleet.
 */
function livenessScript(port: number): string {
  return `#!/bin/bash
set -uo pipefail
. /etc/anb/instance.env
state=/run/anb/liveness-failures
if curl -fsS -m 5 -o /dev/null http://127.0.0.1:${port}/healthz; then echo 0 > "$state"; exit 0; fi
n=$(( $(cat "$state" 2>/dev/null || echo 0) + 1 ))
echo "$n" > "$state"
if [ "$n" -ge 3 ]; then
  t=$(curl -fsS -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' http://169.254.169.254/latest/api/token)
  id=$(curl -fsS -H "X-aws-ec2-metadata-token: $t" http://169.254.169.254/latest/meta-data/instance-id)
  aws autoscaling set-instance-health --region "$AWS_REGION" --instance-id "$id" --health-status Unhealthy --should-respect-grace-period
fi
`;
}

const livenessUnits: Record<string, string> = {
  'anb-liveness.service': ['[Unit]', 'Description=ANB liveness probe (/healthz)', '', '[Service]', 'Type=oneshot', 'ExecStart=/usr/local/bin/anb-liveness'].join('\n'),
  'anb-liveness.timer': [
    '[Unit]', 'Description=ANB liveness probe every 20 s', '', '[Timer]', 'OnActiveSec=60', 'OnUnitActiveSec=20', 'AccuracySec=1s',
    '', '[Install]', 'WantedBy=timers.target',
  ].join('\n'),
};

/**
 * Re-reads the settings every few minutes and restarts the services when
 * they changed: the database password after a rotation, a parameter.
 */
function refreshScript(services: Service[]): string {
  return `#!/bin/bash
set -euo pipefail
before=$(sha256sum /run/anb/anb.env | cut -d' ' -f1)
/usr/local/bin/anb-settings
if [ "$(sha256sum /run/anb/anb.env | cut -d' ' -f1)" != "$before" ]; then
  systemctl try-restart ${services.map((s) => `${s}.service`).join(' ')}
fi
`;
}

const refreshUnits: Record<string, string> = {
  'anb-refresh.service': ['[Unit]', 'Description=ANB settings refresh', 'After=anb-settings.service', '', '[Service]', 'Type=oneshot', 'ExecStart=/usr/local/bin/anb-refresh'].join('\n'),
  'anb-refresh.timer': [
    '[Unit]', 'Description=ANB settings refresh every 2 minutes', '', '[Timer]', 'OnActiveSec=2min', 'OnUnitActiveSec=2min', 'RandomizedDelaySec=30',
    '', '[Install]', 'WantedBy=timers.target',
  ].join('\n'),
};

/** The endpoints that answer once the role's processes are ready to serve. */
export function readinessProbes(role: Role, appPort: number): string[] {
  return role === 'api'
    ? [`http://127.0.0.1:${appPort}/readyz`]
    : [`http://127.0.0.1:${metricsPorts['anb-worker']}/metrics`, `http://127.0.0.1:${metricsPorts['anb-bridge']}/metrics`];
}

function cloudWatchAgentConfig(p: UserDataProps): string {
  const services = servicesOf(p.role);
  const prometheus = [
    'global:',
    '  scrape_interval: 1m',
    '  scrape_timeout: 10s',
    'scrape_configs:',
    ...services.flatMap((s) => [
      `  - job_name: ${s}`,
      '    static_configs:',
      `      - targets: ['127.0.0.1:${metricsPorts[s]}']`,
    ]),
  ].join('\n');
  const declarations: object[] = [];
  if (p.role === 'worker') {
    declarations.push(
      {
        source_labels: ['job'],
        label_matcher: '^anb-bridge$',
        dimensions: [['result']],
        metric_selectors: ['^anb_bridge_messages_total$'],
      },
      {
        // Transcodes in progress on this instance: with the backlog, the
        // worker group's scaling input.
        source_labels: ['job', 'worker_type', 'task_queue'],
        label_separator: ';',
        label_matcher: `^anb-worker;ActivityWorker;${p.transcodeQueue ?? ''}$`,
        dimensions: [['task_queue', 'worker_type']],
        metric_selectors: ['^temporal_worker_task_slots_used$'],
      },
    );
  } else {
    declarations.push({
      source_labels: ['job'],
      label_matcher: '^anb-api$',
      dimensions: [['job']],
      metric_selectors: ['^go_goroutines$'],
    });
  }
  // The one-shot units write beside the role's first service.
  const extra = p.role === 'worker' ? 'anb-bootstrap' : 'anb-migrate';
  const collect = [...services, extra].map((s) => ({
    file_path: `/var/log/anb/${s}.log`,
    log_group_name: p.logGroups[s === extra ? services[0] : (s as Service)],
    log_stream_name: `{instance_id}/${s}`,
    timezone: 'UTC',
  }));
  const agent = {
    agent: { run_as_user: 'root' },
    logs: {
      logs_collected: { files: { collect_list: collect } },
      metrics_collected: {
        prometheus: {
          log_group_name: p.prometheusLogGroup,
          prometheus_config_path: '/opt/aws/amazon-cloudwatch-agent/etc/prometheus.yaml',
          emf_processor: { metric_namespace: p.metricsNamespace, metric_declaration: declarations },
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

const logrotate = [
  '/var/log/anb/*.log {',
  '  daily',
  '  rotate 3',
  '  compress',
  '  missingok',
  '  notifempty',
  '  copytruncate',
  '}',
].join('\n');

/**
 * Boot script of an API or worker instance on the baked image (deploy/aws/
 * image/bake.sh: ffmpeg, AWS CLI, pinned SSM and CloudWatch agents, Kafka
 * and Temporal CLIs). It installs nothing from package repositories: it
 * fetches the release, checks its SHA-256, writes the systemd units, starts
 * them and signals CloudFormation once the role is ready, or that it failed,
 * so a broken release stops the rolling update and rolls it back.
 */
export function instanceUserData(p: UserDataProps): ec2.UserData {
  const ud = ec2.UserData.forLinux({ shebang: '#!/bin/bash' });
  const services = servicesOf(p.role);
  const instanceEnv = [
    `AWS_REGION=${p.region}`,
    `PARAMETER_PATH=${p.parameterPath}`,
    `DB_SECRET_ARN=${p.dbSecretArn}`,
    `JWT_SECRET_ARN=${p.jwtSecretArn}`,
    `TEMPORAL_SECRET_ARN=${p.temporalSecretArn}`,
    `SMTP_SECRET_ARN=${p.smtpSecretArn ?? ''}`,
    `MSK_CLUSTER_ARN=${p.mskClusterArn}`,
    `DRAIN_HOOK=${p.drainHookName ?? ''}`,
  ].join('\n');
  const anbEnv = Object.entries(p.settings)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');
  const probes = readinessProbes(p.role, p.appPort);
  ud.addCommands(
    'set -euxo pipefail',
    // Whatever stops this script, CloudFormation hears it now rather than
    // at the end of the signal timeout.
    'imds() { local t; t=$(curl -fsS -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 60" http://169.254.169.254/latest/api/token) && curl -fsS -H "X-aws-ec2-metadata-token: $t" "http://169.254.169.254/latest/meta-data/$1"; }',
    `signal() { aws cloudformation signal-resource --region ${p.region} --stack-name ${p.stackName} --logical-resource-id ${p.signalResource} --unique-id "$(imds instance-id)" --status "$1"; }`,
    "trap 'rc=$?; [ $rc -eq 0 ] || signal FAILURE' EXIT",
    // The release: download, verify, install.
    `aws s3 cp --region ${p.region} s3://${p.releaseBucket}/${p.releaseKey} /tmp/anb.tar.gz`,
    `echo "${p.releaseSha256}  /tmp/anb.tar.gz" | sha256sum -c -`,
    'rm -rf /opt/anb && mkdir -p /opt/anb && tar -xzf /tmp/anb.tar.gz -C /opt/anb',
    'install -m 0755 /opt/anb/anb /usr/local/bin/anb',
    'id anb >/dev/null 2>&1 || useradd --system --home-dir /var/lib/anb --create-home --shell /usr/sbin/nologin anb',
    'install -d -o anb -g anb -m 0750 /var/lib/anb/tmp',
    'install -d -m 0750 /var/log/anb',
    'mkdir -p /etc/anb',
    file('/etc/anb/instance.env', instanceEnv, '0600'),
    file('/etc/anb/anb.env', anbEnv, '0600'),
    ...services.map((s) => file(`/etc/anb/${s}.env`, `ANB_METRICS_ADDR=127.0.0.1:${metricsPorts[s]}`, '0644')),
    file('/etc/logrotate.d/anb', logrotate, '0644'),
    file('/usr/local/bin/anb-settings', settingsScript, '0755'),
    file('/etc/systemd/system/anb-settings.service', settingsUnit, '0644'),
    ...services.map((s) => file(`/etc/systemd/system/${s}.service`, unit(s, p.role), '0644')),
    file('/usr/local/bin/anb-refresh', refreshScript(services), '0755'),
    ...Object.entries(refreshUnits).map(([name, body]) => file(`/etc/systemd/system/${name}`, body, '0644')),
    cloudWatchAgentConfig(p),
  );
  const enable = ['anb-settings.service', ...services.map((s) => `${s}.service`), 'anb-refresh.timer'];
  if (p.role === 'api') {
    ud.addCommands(
      file('/etc/systemd/system/anb-migrate.service', migrateUnit, '0644'),
      file('/usr/local/bin/anb-liveness', livenessScript(p.appPort), '0755'),
      ...Object.entries(livenessUnits).map(([name, body]) => file(`/etc/systemd/system/${name}`, body, '0644')),
    );
  } else {
    ud.addCommands(
      file('/usr/local/bin/anb-bootstrap', bootstrapScript(p.topics ?? [], p.searchAttributes ?? {}), '0755'),
      file('/etc/systemd/system/anb-bootstrap.service', bootstrapUnit, '0644'),
      file('/usr/local/bin/anb-drain', drainScript, '0755'),
      file('/etc/systemd/system/anb-drain.service', drainUnit, '0644'),
    );
    enable.push('anb-drain.service');
  }
  ud.addCommands(
    'systemctl daemon-reload',
    `systemctl enable --now ${enable.join(' ')}`,
    // Ready within 10 minutes or the launch fails.
    `ready() { for u in ${probes.join(' ')}; do curl -fsS -m 5 -o /dev/null "$u" || return 1; done; }`,
    // A service whose start failed on a dependency (a one-shot that met a
    // database still starting) is started again; a running one is left alone.
    `for i in $(seq 1 120); do if ready; then break; fi; systemctl start --no-block ${services.map((s) => `${s}.service`).join(' ')}; sleep 5; done`,
    'ready',
  );
  if (p.role === 'api') {
    // Liveness counts only once the instance was ready.
    ud.addCommands('systemctl enable --now anb-liveness.timer');
  }
  ud.addCommands('signal SUCCESS');
  return ud;
}
