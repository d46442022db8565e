/**
 * The alarm evaluator the infra tests rely on, held to the examples AWS publishes in "Configuring how
 * CloudWatch alarms treat missing data" (0 = good, X = breaching, - = missing, newest on the right).
 */
import { describe, expect, it } from 'vitest';
import {
  type AlarmProperties,
  type AlarmState,
  alarmStateFrom,
  datapointsFromEmf,
  evaluateAlarm,
  type MetricDatapoint,
  type PeriodOutcome,
  type TreatMissingData,
} from './alarms.ts';

const outcomes = (row: string): PeriodOutcome[] =>
  row.split(' ').map((slot) => (slot === 'X' ? 'breaching' : slot === '0' ? 'ok' : 'missing'));

const RETAIN = 'retain';
type Expected = AlarmState | typeof RETAIN;
const TREATMENTS: TreatMissingData[] = ['missing', 'ignore', 'breaching', 'notBreaching'];

function check(rows: [string, Expected, Expected, Expected, Expected][], evaluationPeriods: number, datapointsToAlarm: number) {
  for (const [row, ...expected] of rows) {
    TREATMENTS.forEach((treatMissingData, index) => {
      const rule = { evaluationPeriods, datapointsToAlarm, treatMissingData };
      // Retaining shows as the previous state, whichever it was.
      for (const previous of ['OK', 'ALARM'] as const) {
        const want = expected[index] === RETAIN ? previous : expected[index];
        expect(alarmStateFrom(outcomes(row), rule, previous), `${row} with ${treatMissingData}, previously ${previous}`).toBe(
          want,
        );
      }
    });
  }
}

describe('alarmStateFrom: the missing-data rules', () => {
  it('matches AWS table 1 (3 of 3, evaluation range 5): MISSING, IGNORE, BREACHING, NOT BREACHING', () => {
    check(
      [
        ['0 - X - X', 'OK', 'OK', 'OK', 'OK'],
        ['0 - - - -', 'OK', 'OK', 'OK', 'OK'],
        ['- - - - -', 'INSUFFICIENT_DATA', RETAIN, 'ALARM', 'OK'],
        ['0 X X - X', 'ALARM', 'ALARM', 'ALARM', 'ALARM'],
        ['- - X - -', 'ALARM', RETAIN, 'ALARM', 'OK'],
      ],
      3,
      3,
    );
  });

  it('matches AWS table 2 (2 of 3, evaluation range 5)', () => {
    check(
      [
        ['0 - X - X', 'ALARM', 'ALARM', 'ALARM', 'ALARM'],
        ['0 0 X 0 X', 'ALARM', 'ALARM', 'ALARM', 'ALARM'],
        ['0 - X - -', 'OK', 'OK', 'ALARM', 'OK'],
        ['- - - - 0', 'OK', 'OK', 'ALARM', 'OK'],
        ['- - - X -', 'ALARM', RETAIN, 'ALARM', 'OK'],
      ],
      3,
      2,
    );
  });

  it('does not alarm early on a single fresh breach with missing data before it (the guide\'s "- - - - X")', () => {
    expect(
      alarmStateFrom(outcomes('- - - - X'), { evaluationPeriods: 3, datapointsToAlarm: 3, treatMissingData: 'missing' }),
    ).toBe('OK');
  });
});

describe('evaluateAlarm', () => {
  const at = new Date('2026-11-21T12:00:30Z');
  const alarm: AlarmProperties = {
    Namespace: 'Safekeep',
    MetricName: 'BackupFailed',
    Dimensions: [{ Name: 'Target', Value: 'orders' }],
    Statistic: 'Sum',
    Period: 300,
    EvaluationPeriods: 1,
    Threshold: 2,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    TreatMissingData: 'notBreaching',
  };
  const point = (
    secondsBefore: number,
    value = 1,
    dimensions: Record<string, string> = { Target: 'orders' },
  ): MetricDatapoint => ({
    namespace: 'Safekeep',
    name: 'BackupFailed',
    value,
    unit: 'Count',
    dimensions,
    timestamp: new Date(at.getTime() - secondsBefore * 1000),
  });

  it('applies the statistic per period, periods ending on the minute before the evaluation', () => {
    expect(evaluateAlarm(alarm, [point(60), point(200)], at)).toBe('ALARM');
    // 12:00:10 is after 12:00:00, where the newest period ends; 11:54:50 is in the period before.
    expect(evaluateAlarm(alarm, [point(20), point(340)], at)).toBe('OK');
  });

  it('only reads datapoints with exactly its dimensions', () => {
    expect(evaluateAlarm(alarm, [point(60, 5, { Target: 'orders', service: 'safekeep' })], at)).toBe('OK');
    expect(evaluateAlarm(alarm, [point(60, 5, { Target: 'other' })], at)).toBe('OK');
  });

  it('uses the newest real datapoint in the evaluation range, so a breach echoes until it leaves the range', () => {
    // Range 3 periods of 5 minutes: a breach 12 minutes ago still decides; 16 minutes ago it is out of range.
    expect(evaluateAlarm(alarm, [point(12 * 60, 2)], at)).toBe('ALARM');
    expect(evaluateAlarm(alarm, [point(16 * 60, 2)], at)).toBe('OK');
  });

  it('reads synthesized resources as they are, and refuses what it cannot evaluate', () => {
    expect(evaluateAlarm({ Properties: alarm }, [point(60, 2)], at)).toBe('ALARM');
    expect(() => evaluateAlarm({ ...alarm, ExtendedStatistic: 'p99', Statistic: undefined }, [], at)).toThrow(/not supported/);
    expect(() => evaluateAlarm({ ...alarm, Dimensions: [{ Name: 'Target', Value: { Ref: 'X' } }] }, [], at)).toThrow(
      /unresolved dimension/,
    );
  });
});

describe('datapointsFromEmf', () => {
  it('reads every metric, value and dimension set of an embedded-metric-format line', () => {
    const line = JSON.stringify({
      _aws: {
        Timestamp: 1_700_000_000_000,
        CloudWatchMetrics: [
          { Namespace: 'Safekeep', Dimensions: [['service', 'Target']], Metrics: [{ Name: 'BackupBytes', Unit: 'Bytes' }] },
        ],
      },
      service: 'safekeep',
      Target: 'orders',
      BackupBytes: [10, 20],
    });
    expect(datapointsFromEmf(['not json', '{"level":"INFO"}', line])).toEqual(
      [10, 20].map((value) => ({
        namespace: 'Safekeep',
        name: 'BackupBytes',
        value,
        unit: 'Bytes',
        dimensions: { service: 'safekeep', Target: 'orders' },
        timestamp: new Date(1_700_000_000_000),
      })),
    );
  });
});
