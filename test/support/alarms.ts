/**
 * CloudWatch alarms without CloudWatch: moto stores alarms but never evaluates them, so tests capture the
 * metrics a handler publishes (the embedded-metric-format lines Powertools prints on stdout) and evaluate a
 * synthesized AWS::CloudWatch::Alarm against them the way CloudWatch does, missing-data rules included.
 *
 * The rules, from "Configuring how CloudWatch alarms treat missing data" (CloudWatch user guide):
 * - CloudWatch retrieves more periods than EvaluationPeriods (N), the evaluation range; its length is not
 *   documented beyond the guide's example (5 for N = 3), so it defaults to N + 2 here.
 * - With at least N real datapoints in the range, the N most recent real ones decide and TreatMissingData
 *   is not consulted: ALARM when at least DatapointsToAlarm (M) of them breach, else OK.
 * - With fewer, every real datapoint counts and only the shortfall is filled: `breaching` fills it with
 *   breaching points, `notBreaching` with good ones; `missing` leaves it empty (all empty: INSUFFICIENT_DATA),
 *   and `ignore` does the same but keeps the previous state where `missing` would change it for lack of data.
 * - The premature-alarm rule (`missing` and `ignore`): with no good datapoint evaluated, the alarm goes to
 *   ALARM once the oldest breaching point within the last N periods is at least M periods old.
 * Periods slide with the evaluation time, on whole minutes, as the state reasons CloudWatch writes show.
 */
import type { Template } from 'aws-cdk-lib/assertions';

/** One value of one metric, as CloudWatch would store it. */
export interface MetricDatapoint {
  readonly namespace: string;
  readonly name: string;
  readonly value: number;
  readonly unit?: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly timestamp: Date;
}

export type AlarmState = 'ALARM' | 'OK' | 'INSUFFICIENT_DATA';
export type TreatMissingData = 'breaching' | 'notBreaching' | 'ignore' | 'missing';
/** One period of the evaluation range, after the statistic and the threshold: oldest first. */
export type PeriodOutcome = 'breaching' | 'ok' | 'missing';

/** The properties of an AWS::CloudWatch::Alarm on a single metric, as synthesized. */
export interface AlarmProperties {
  readonly MetricName?: string;
  readonly Namespace?: string;
  readonly Dimensions?: readonly { readonly Name: string; readonly Value: unknown }[];
  readonly Statistic?: string;
  readonly ExtendedStatistic?: string;
  readonly Unit?: string;
  readonly Period?: number;
  readonly EvaluationPeriods: number;
  readonly DatapointsToAlarm?: number;
  readonly Threshold?: number;
  readonly ComparisonOperator: string;
  readonly TreatMissingData?: TreatMissingData;
  readonly Metrics?: unknown;
  readonly AlarmActions?: readonly unknown[];
  readonly OKActions?: readonly unknown[];
}

export interface EvaluationOptions {
  /** The state before this evaluation (what `ignore` keeps). @default 'INSUFFICIENT_DATA', a new alarm's state */
  readonly previousState?: AlarmState;
  /** Periods retrieved per evaluation. @default EvaluationPeriods + 2 */
  readonly evaluationRange?: number;
}

// --- capturing what Powertools publishes -------------------------------------------------------------

interface EmfRecord {
  readonly _aws: {
    readonly Timestamp: number;
    readonly CloudWatchMetrics: readonly {
      readonly Namespace: string;
      readonly Dimensions: readonly (readonly string[])[];
      readonly Metrics: readonly { readonly Name: string; readonly Unit?: string }[];
    }[];
  };
  readonly [key: string]: unknown;
}

function isEmf(value: unknown): value is EmfRecord {
  const aws = (value as { _aws?: { CloudWatchMetrics?: unknown } } | null)?._aws;
  return Array.isArray(aws?.CloudWatchMetrics);
}

/** The datapoints in embedded-metric-format lines (other lines are skipped). */
export function datapointsFromEmf(lines: Iterable<string>): MetricDatapoint[] {
  const out: MetricDatapoint[] = [];
  for (const line of lines) {
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      continue;
    }
    if (!isEmf(record)) continue;
    const timestamp = new Date(record._aws.Timestamp);
    for (const directive of record._aws.CloudWatchMetrics) {
      // No dimension set at all means one metric without dimensions.
      const sets = directive.Dimensions.length > 0 ? directive.Dimensions : [[]];
      for (const metric of directive.Metrics) {
        const raw = record[metric.Name];
        const values = (Array.isArray(raw) ? raw : [raw]).filter((v): v is number => typeof v === 'number');
        for (const set of sets) {
          const dimensions = Object.fromEntries(set.map((name) => [name, String(record[name])]));
          for (const value of values) {
            out.push({ namespace: directive.Namespace, name: metric.Name, value, unit: metric.Unit, dimensions, timestamp });
          }
        }
      }
    }
  }
  return out;
}

/**
 * Runs `work` (say, a handler invoked in-process) and returns what it returned with every metric it
 * published on stdout meanwhile. Other output passes through. POWERTOOLS_METRICS_DISABLED must be unset.
 */
export async function captureMetrics<T>(work: () => T | Promise<T>): Promise<{ result: T; datapoints: MetricDatapoint[] }> {
  const stdout = process.stdout;
  const originalWrite = stdout.write;
  const emfLines: string[] = [];
  let pending = '';
  const forward = (text: string) => (originalWrite as (chunk: string) => boolean).call(stdout, text);
  stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    pending += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (line.includes('"CloudWatchMetrics"')) emfLines.push(line);
      else forward(`${line}\n`);
    }
    const callback = rest.find((arg): arg is () => void => typeof arg === 'function');
    callback?.();
    return true;
  }) as typeof stdout.write;
  try {
    const result = await work();
    return { result, datapoints: datapointsFromEmf(emfLines) };
  } finally {
    stdout.write = originalWrite;
    if (pending.includes('"CloudWatchMetrics"')) emfLines.push(pending);
    else if (pending) forward(pending);
  }
}

// --- evaluating alarms ---------------------------------------------------------------------------------

/** Every AWS::CloudWatch::Alarm in a template, by logical id. */
export function alarmsIn(template: Template): Map<string, AlarmProperties> {
  const resources = template.findResources('AWS::CloudWatch::Alarm') as Record<string, { Properties: AlarmProperties }>;
  return new Map(Object.entries(resources).map(([id, resource]) => [id, resource.Properties]));
}

/** The one alarm on `metricName` whose dimensions include `dimensions`. */
export function findAlarm(template: Template, metricName: string, dimensions: Record<string, string> = {}): AlarmProperties {
  const matches = [...alarmsIn(template).values()].filter(
    (alarm) =>
      alarm.MetricName === metricName &&
      Object.entries(dimensions).every(([name, value]) => alarm.Dimensions?.some((d) => d.Name === name && d.Value === value)),
  );
  if (matches.length !== 1) {
    throw new Error(`expected one alarm on ${metricName} ${JSON.stringify(dimensions)}, found ${matches.length}`);
  }
  return matches[0] as AlarmProperties;
}

/**
 * The state CloudWatch would put `alarm` in at `at`, given every datapoint ever published (those of other
 * metrics, dimensions or units are ignored, as CloudWatch matches all three exactly).
 */
export function evaluateAlarm(
  alarm: AlarmProperties | { readonly Properties: AlarmProperties },
  datapoints: readonly MetricDatapoint[],
  at: Date,
  options: EvaluationOptions = {},
): AlarmState {
  const properties = 'Properties' in alarm ? alarm.Properties : alarm;
  const rule = alarmRule(properties);
  const watched = datapoints.filter(
    (d) =>
      d.namespace === rule.namespace &&
      d.name === rule.metricName &&
      sameDimensions(d.dimensions, rule.dimensions) &&
      (rule.unit === undefined || d.unit === rule.unit),
  );
  const range = options.evaluationRange ?? rule.evaluationPeriods + 2;
  const periodMs = rule.period * 1000;
  const end = Math.floor(at.getTime() / 60_000) * 60_000;
  const outcomes: PeriodOutcome[] = [];
  for (let index = range; index >= 1; index--) {
    const start = end - index * periodMs;
    const values = watched
      .filter((d) => d.timestamp.getTime() >= start && d.timestamp.getTime() < start + periodMs)
      .map((d) => d.value);
    const statistic = values.length > 0 ? aggregate(rule.statistic, values) : undefined;
    outcomes.push(
      statistic === undefined ? 'missing' : compare(statistic, rule.comparisonOperator, rule.threshold) ? 'breaching' : 'ok',
    );
  }
  return alarmStateFrom(outcomes, rule, options.previousState ?? 'INSUFFICIENT_DATA');
}

/** The missing-data rules over an evaluation range already reduced to one outcome per period. */
export function alarmStateFrom(
  outcomes: readonly PeriodOutcome[],
  rule: { readonly evaluationPeriods: number; readonly datapointsToAlarm: number; readonly treatMissingData: TreatMissingData },
  previousState: AlarmState = 'INSUFFICIENT_DATA',
): AlarmState {
  const { evaluationPeriods, datapointsToAlarm, treatMissingData } = rule;
  const real = outcomes.filter((outcome) => outcome !== 'missing');
  const breachingIn = (list: readonly PeriodOutcome[]) => list.filter((outcome) => outcome === 'breaching').length;
  if (real.length >= evaluationPeriods) {
    return breachingIn(real.slice(-evaluationPeriods)) >= datapointsToAlarm ? 'ALARM' : 'OK';
  }
  const breaching = breachingIn(real);
  const shortfall = evaluationPeriods - real.length;
  if (treatMissingData === 'breaching') return breaching + shortfall >= datapointsToAlarm ? 'ALARM' : 'OK';
  if (breaching >= datapointsToAlarm) return 'ALARM';
  if (treatMissingData === 'notBreaching') return 'OK';
  const keepOr = (state: AlarmState) => (treatMissingData === 'ignore' ? previousState : state);
  if (real.length === 0) return keepOr('INSUFFICIENT_DATA');
  if (prematureAlarm(outcomes, real, evaluationPeriods, datapointsToAlarm)) return keepOr('ALARM');
  return 'OK';
}

/**
 * CloudWatch's guard against waiting forever on intermittent data: no good datapoint evaluated, and the
 * oldest breaching point within the last N periods is at least M periods old (the newest period is 1 old).
 */
function prematureAlarm(
  outcomes: readonly PeriodOutcome[],
  evaluated: readonly PeriodOutcome[],
  evaluationPeriods: number,
  datapointsToAlarm: number,
): boolean {
  if (evaluated.includes('ok')) return false;
  const lastPeriods = outcomes.slice(-evaluationPeriods);
  const oldestBreaching = lastPeriods.indexOf('breaching');
  return oldestBreaching >= 0 && lastPeriods.length - oldestBreaching >= datapointsToAlarm;
}

interface AlarmRule {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Record<string, string>;
  readonly statistic: string;
  readonly unit?: string;
  readonly period: number;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly threshold: number;
  readonly comparisonOperator: string;
  readonly treatMissingData: TreatMissingData;
}

function alarmRule(properties: AlarmProperties): AlarmRule {
  const unsupported = (what: string) => new Error(`evaluateAlarm: ${what} is not supported; alarm ${JSON.stringify(properties)}`);
  if (properties.Metrics !== undefined) throw unsupported('a metric math alarm (Metrics)');
  if (properties.ExtendedStatistic !== undefined) throw unsupported('ExtendedStatistic (percentiles)');
  const { MetricName, Namespace, Statistic, Period, Threshold } = properties;
  if (
    MetricName === undefined ||
    Namespace === undefined ||
    Statistic === undefined ||
    Period === undefined ||
    Threshold === undefined
  ) {
    throw unsupported('an alarm without MetricName, Namespace, Statistic, Period and Threshold');
  }
  const dimensions: Record<string, string> = {};
  for (const { Name, Value } of properties.Dimensions ?? []) {
    if (typeof Value !== 'string') throw unsupported(`an unresolved dimension value (${Name}: ${JSON.stringify(Value)})`);
    dimensions[Name] = Value;
  }
  return {
    namespace: Namespace,
    metricName: MetricName,
    dimensions,
    statistic: Statistic,
    unit: properties.Unit,
    period: Period,
    evaluationPeriods: properties.EvaluationPeriods,
    datapointsToAlarm: properties.DatapointsToAlarm ?? properties.EvaluationPeriods,
    threshold: Threshold,
    comparisonOperator: properties.ComparisonOperator,
    treatMissingData: properties.TreatMissingData ?? 'missing',
  };
}

function sameDimensions(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}

function aggregate(statistic: string, values: readonly number[]): number {
  const sum = values.reduce((total, value) => total + value, 0);
  switch (statistic) {
    case 'Sum':
      return sum;
    case 'Average':
      return sum / values.length;
    case 'Minimum':
      return Math.min(...values);
    case 'Maximum':
      return Math.max(...values);
    case 'SampleCount':
      return values.length;
    default:
      throw new Error(`evaluateAlarm: unknown statistic ${statistic}`);
  }
}

function compare(value: number, operator: string, threshold: number): boolean {
  switch (operator) {
    case 'GreaterThanThreshold':
      return value > threshold;
    case 'GreaterThanOrEqualToThreshold':
      return value >= threshold;
    case 'LessThanThreshold':
      return value < threshold;
    case 'LessThanOrEqualToThreshold':
      return value <= threshold;
    default:
      throw new Error(`evaluateAlarm: comparison ${operator} is not supported (anomaly-detection bands need a model)`);
  }
}
