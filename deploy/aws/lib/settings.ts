import { Node } from 'constructs';

// Settings of the shape of a deployment, from CDK context (cdk.json or
// `-c key=value`). What changes per release (the artifact, its checksum)
// and per environment secret stays a CloudFormation parameter instead.
export interface AnbSettings {
  readonly apiInstanceType: string;
  readonly workerInstanceType: string;
  readonly apiMin: number;
  readonly apiMax: number;
  readonly workerMin: number;
  readonly workerMax: number;
  /** Port `anb api` listens on behind the ALB. */
  readonly appPort: number;
  /** CloudWatch namespace of the worker's backlog metrics. */
  readonly metricsNamespace: string;
  /** SSM Parameter Store path holding extra ANB_* settings; default /<stack name>/. */
  readonly parameterPath?: string;
  /**
   * NAT gateways: one per zone (3) keeps a zone's loss from cutting the
   * others off Temporal Cloud; a cost-conscious dev stack may take 1.
   */
  readonly natGateways: number;
  /** Days every log group keeps its events. */
  readonly logRetentionDays: number;
  /** Transcodes one worker runs at once (ANB_WORKER_CONCURRENCY); the scaling target per instance. */
  readonly workerConcurrency: number;
  /** Requests per minute per API instance the target tracking aims at. */
  readonly requestsPerTargetPerMinute: number;
  /** Login + signup requests per 5 minutes per client IP the WAF allows. */
  readonly authRateLimit: number;
  /** Optional e-mail address subscribed to the alarm topic. */
  readonly alarmEmail?: string;
}

export const defaultSettings: AnbSettings = {
  apiInstanceType: 't3.small',
  workerInstanceType: 'c6i.large',
  apiMin: 2,
  apiMax: 6,
  workerMin: 1,
  workerMax: 4,
  appPort: 8080,
  metricsNamespace: 'ANB',
  natGateways: 3,
  logRetentionDays: 30,
  workerConcurrency: 1,
  requestsPerTargetPerMinute: 1000,
  authRateLimit: 100,
};

function num(node: Node, key: string, fallback: number): number {
  const v: unknown = node.tryGetContext(key);
  if (v === undefined) {
    return fallback;
  }
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n)) {
    throw new Error(`context ${key}=${String(v)} is not a number`);
  }
  return n;
}

function str(node: Node, key: string, fallback: string): string {
  const v: unknown = node.tryGetContext(key);
  return v === undefined ? fallback : String(v);
}

export function settingsFromContext(node: Node): AnbSettings {
  const d = defaultSettings;
  const email: unknown = node.tryGetContext('anb:alarmEmail');
  return {
    apiInstanceType: str(node, 'anb:apiInstanceType', d.apiInstanceType),
    workerInstanceType: str(node, 'anb:workerInstanceType', d.workerInstanceType),
    apiMin: num(node, 'anb:apiMin', d.apiMin),
    apiMax: num(node, 'anb:apiMax', d.apiMax),
    workerMin: num(node, 'anb:workerMin', d.workerMin),
    workerMax: num(node, 'anb:workerMax', d.workerMax),
    appPort: num(node, 'anb:appPort', d.appPort),
    metricsNamespace: str(node, 'anb:metricsNamespace', d.metricsNamespace),
    parameterPath: node.tryGetContext('anb:parameterPath') === undefined ? undefined : str(node, 'anb:parameterPath', ''),
    natGateways: num(node, 'anb:natGateways', d.natGateways),
    logRetentionDays: num(node, 'anb:logRetentionDays', d.logRetentionDays),
    workerConcurrency: num(node, 'anb:workerConcurrency', d.workerConcurrency),
    requestsPerTargetPerMinute: num(node, 'anb:requestsPerTargetPerMinute', d.requestsPerTargetPerMinute),
    authRateLimit: num(node, 'anb:authRateLimit', d.authRateLimit),
    alarmEmail: email === undefined ? undefined : String(email),
  };
}
