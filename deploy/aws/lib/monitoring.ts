import {
  Duration,
  aws_cloudwatch as cw,
  aws_cloudwatch_actions as cwActions,
  aws_elasticloadbalancingv2 as elbv2,
  aws_rds as rds,
  aws_sns as sns,
  aws_sns_subscriptions as subs,
} from 'aws-cdk-lib';
import { Construct } from 'constructs';

export interface MonitoringProps {
  readonly alb: elbv2.ApplicationLoadBalancer;
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  readonly database: rds.DatabaseInstance;
  /** The worker's backlog metrics, by the queue the alarm watches. */
  readonly transcodeBacklogAge: cw.IMetric;
  readonly workflowBacklogAge: cw.IMetric;
  readonly transcodeBacklogCount: cw.IMetric;
  readonly namespace: string;
  readonly alarmEmail?: string;
  /** Healthy API targets below this raise an alarm (the group's minimum). */
  readonly minHealthyHosts: number;
  /** The MSK cluster's name and broker count (disk alarms, one per broker). */
  readonly kafkaClusterName: string;
  readonly kafkaBrokers: number;
  /** Application log groups, by service, shown on the dashboard. */
  readonly logGroups: Record<string, string>;
}

/** CloudWatch dashboard and alarms, every alarm to one SNS topic. */
export class Monitoring extends Construct {
  readonly topic: sns.Topic;
  readonly deadLetters: cw.Metric;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'Alarms', { displayName: 'ANB alarms', enforceSSL: true });
    if (props.alarmEmail) {
      this.topic.addSubscription(new subs.EmailSubscription(props.alarmEmail));
    }
    const action = new cwActions.SnsAction(this.topic);
    const m = props.alb.metrics;
    const fiveMin = { period: Duration.minutes(5) };
    const alb5xx = new cw.MathExpression({
      label: 'ALB + target 5xx',
      expression: 'FILL(elb, 0) + FILL(target, 0)',
      usingMetrics: {
        elb: m.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, { ...fiveMin, statistic: 'Sum' }),
        target: m.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { ...fiveMin, statistic: 'Sum' }),
      },
      period: Duration.minutes(5),
    });
    const p95 = m.targetResponseTime({ ...fiveMin, statistic: 'p95' });
    // The bridge's anb_bridge_messages_total{result="dead_lettered"},
    // shipped by the CloudWatch agent from the bridge's /metrics.
    this.deadLetters = new cw.Metric({
      namespace: props.namespace,
      metricName: 'anb_bridge_messages_total',
      dimensionsMap: { result: 'dead_lettered' },
      statistic: 'Sum',
      period: Duration.minutes(5),
    });
    const dbCpu = props.database.metricCPUUtilization({ ...fiveMin, statistic: 'Average' });
    const dbFree = props.database.metricFreeStorageSpace({ ...fiveMin, statistic: 'Minimum' });
    const dbMemory = props.database.metricFreeableMemory({ ...fiveMin, statistic: 'Minimum' });
    const healthy = props.targetGroup.metrics.healthyHostCount({ period: Duration.minutes(1), statistic: 'Minimum' });
    // 5xx per request: an absolute count means nothing at 10 or 10,000 requests a minute.
    const errorRate = new cw.MathExpression({
      label: '5xx per 100 requests',
      expression: '100 * (FILL(elb, 0) + FILL(target, 0)) / IF(FILL(requests, 0) > 0, requests, 1)',
      usingMetrics: {
        elb: m.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, { ...fiveMin, statistic: 'Sum' }),
        target: m.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { ...fiveMin, statistic: 'Sum' }),
        requests: m.requestCount({ ...fiveMin, statistic: 'Sum' }),
      },
      period: Duration.minutes(5),
    });
    // Per broker: the disk of one full broker stops its partitions.
    const kafkaDisk = Array.from({ length: props.kafkaBrokers }, (_, i) => new cw.Metric({
      namespace: 'AWS/Kafka', metricName: 'KafkaDataLogsDiskUsed', statistic: 'Maximum', period: Duration.minutes(5),
      dimensionsMap: { 'Cluster Name': props.kafkaClusterName, 'Broker ID': String(i + 1) },
      label: `broker ${i + 1} disk used (%)`,
    }));

    const alarms: cw.Alarm[] = [
      new cw.Alarm(this, 'Alb5xx', {
        alarmDescription: 'More than 10 5xx answers in 5 minutes (load balancer or API).',
        metric: alb5xx, threshold: 10, evaluationPeriods: 1,
        comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cw.TreatMissingData.NOT_BREACHING,
      }),
      new cw.Alarm(this, 'AlbP95', {
        alarmDescription: 'p95 target response time above 2 s for 15 minutes.',
        metric: p95, threshold: 2, evaluationPeriods: 3,
        comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cw.TreatMissingData.NOT_BREACHING,
      }),
      new cw.Alarm(this, 'TranscodeBacklogAge', {
        alarmDescription: 'The oldest waiting transcode has waited over 10 minutes: workers at their maximum or down.',
        metric: props.transcodeBacklogAge, threshold: 600, evaluationPeriods: 3,
        comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cw.TreatMissingData.BREACHING,
      }),
      new cw.Alarm(this, 'WorkflowBacklogAge', {
        alarmDescription: 'Workflow tasks wait over 2 minutes: no worker polls the workflow queue.',
        metric: props.workflowBacklogAge, threshold: 120, evaluationPeriods: 3,
        comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cw.TreatMissingData.BREACHING,
      }),
      new cw.Alarm(this, 'DeadLetters', {
        alarmDescription: 'The bridge wrote tasks to video_tasks.dlq (docs/operations.md, dead-letter topic).',
        metric: this.deadLetters, threshold: 0, evaluationPeriods: 1,
        comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cw.TreatMissingData.NOT_BREACHING,
      }),
      new cw.Alarm(this, 'DbCpu', {
        alarmDescription: 'PostgreSQL CPU above 80 % for 15 minutes.',
        metric: dbCpu, threshold: 80, evaluationPeriods: 3,
        comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
      }),
      new cw.Alarm(this, 'DbFreeStorage', {
        alarmDescription: 'PostgreSQL free storage below 5 GiB.',
        metric: dbFree, threshold: 5 * 1024 ** 3, evaluationPeriods: 1,
        comparisonOperator: cw.ComparisonOperator.LESS_THAN_THRESHOLD,
      }),
      new cw.Alarm(this, 'DbFreeableMemory', {
        alarmDescription: 'PostgreSQL freeable memory below 256 MiB for 15 minutes: the instance swaps.',
        metric: dbMemory, threshold: 256 * 1024 ** 2, evaluationPeriods: 3,
        comparisonOperator: cw.ComparisonOperator.LESS_THAN_THRESHOLD,
        treatMissingData: cw.TreatMissingData.BREACHING,
      }),
      new cw.Alarm(this, 'HealthyHosts', {
        alarmDescription: 'Fewer ready API instances behind the load balancer than the group minimum for 3 minutes.',
        metric: healthy, threshold: props.minHealthyHosts, evaluationPeriods: 3,
        comparisonOperator: cw.ComparisonOperator.LESS_THAN_THRESHOLD,
        // No data: no target reports at all, the worst case.
        treatMissingData: cw.TreatMissingData.BREACHING,
      }),
      new cw.Alarm(this, 'Alb5xxRate', {
        alarmDescription: 'Over 5 % of the requests answered 5xx for 10 minutes.',
        metric: errorRate, threshold: 5, evaluationPeriods: 2,
        comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cw.TreatMissingData.NOT_BREACHING,
      }),
      ...kafkaDisk.map((metric, i) => new cw.Alarm(this, `KafkaDisk${i + 1}`, {
        alarmDescription: `MSK broker ${i + 1} data disk over 80 % used.`,
        metric, threshold: 80, evaluationPeriods: 1,
        comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cw.TreatMissingData.BREACHING,
      })),
    ];
    for (const a of alarms) {
      a.addAlarmAction(action);
      a.addOkAction(action);
    }

    // No dashboard name: CloudFormation makes one unique to the stack.
    const dashboard = new cw.Dashboard(this, 'Dashboard');
    dashboard.addWidgets(new cw.AlarmStatusWidget({ title: 'Alarms', alarms, width: 24 }));
    dashboard.addWidgets(
      new cw.GraphWidget({ title: 'Requests and 5xx', left: [m.requestCount({ ...fiveMin, statistic: 'Sum' })], right: [alb5xx, errorRate] }),
      new cw.GraphWidget({ title: 'Target response time p95 (s)', left: [p95] }),
      new cw.GraphWidget({
        title: 'Healthy API instances',
        left: [healthy],
      }),
    );
    dashboard.addWidgets(
      new cw.GraphWidget({ title: 'Transcode backlog (tasks)', left: [props.transcodeBacklogCount] }),
      new cw.GraphWidget({ title: 'Backlog age (s)', left: [props.transcodeBacklogAge, props.workflowBacklogAge] }),
      new cw.GraphWidget({ title: 'Dead-lettered tasks', left: [this.deadLetters] }),
    );
    dashboard.addWidgets(
      new cw.GraphWidget({ title: 'PostgreSQL CPU (%)', left: [dbCpu] }),
      new cw.GraphWidget({ title: 'PostgreSQL free storage and memory (bytes)', left: [dbFree], right: [dbMemory] }),
      new cw.GraphWidget({
        title: 'PostgreSQL connections',
        left: [props.database.metricDatabaseConnections({ ...fiveMin, statistic: 'Maximum' })],
      }),
    );
    dashboard.addWidgets(
      new cw.GraphWidget({ title: 'MSK broker disk used (%)', left: kafkaDisk }),
      new cw.LogQueryWidget({
        title: 'Application errors (last lines)', width: 16,
        logGroupNames: Object.values(props.logGroups),
        queryLines: ['fields @timestamp, @logStream, @message', 'filter @message like /level=(ERROR|WARN)/', 'sort @timestamp desc', 'limit 50'],
      }),
    );
  }
}
