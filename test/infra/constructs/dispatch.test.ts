/**
 * The dispatcher paces Fargate starts (functions/runs/fleet-pacing.ts): it reads the account's Fargate vCPU
 * quota, lists and describes the tasks of Safekeep's own cluster, keeps the launch ledger in its own partition
 * of the runs table, and defers starts with one-time schedules of its own prefix, run as the retry role.
 */
import { Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { LAUNCH_LEDGER_KEY } from '#functions/runs/adapters/fleet-ports.ts';
import { DEFER_SCHEDULE_PREFIX, DISPATCH_ENVIRONMENT, LAUNCH_LEDGER_PARTITION } from '#infra/constructs/dispatch.ts';
import { policyStatements, synthApp } from '#test/support/cdk.ts';

describe('dispatch: fleet pacing', () => {
  const { stack, template } = synthApp();
  const role = stack.safekeep.dispatch.dispatchFunction.function.role;
  const policy = Stack.of(stack).getLogicalId(role?.node.tryFindChild('DefaultPolicy')?.node.defaultChild as never);
  const statements = policyStatements(template)
    .filter(({ resource }) => resource === policy)
    .map(({ statement }) => statement);
  const granting = (action: string) => statements.filter((s) => [s.Action].flat().includes(action));

  it('tells the dispatcher how to defer a start and how large a task is', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('start a run of one target'),
      Timeout: 180,
      Environment: {
        Variables: Match.objectLike({
          [DISPATCH_ENVIRONMENT.deferPrefix]: DEFER_SCHEDULE_PREFIX,
          [DISPATCH_ENVIRONMENT.taskVcpus]: '1',
          [DISPATCH_ENVIRONMENT.eventBus]: Match.anyValue(),
          [DISPATCH_ENVIRONMENT.deferRole]: Match.anyValue(),
        }),
      },
    });
  });

  it('reads the vCPU quota (no resource-level permission) and only its own cluster', () => {
    expect(granting('servicequotas:GetServiceQuota')).toEqual([expect.objectContaining({ Resource: '*' })]);
    for (const action of ['ecs:ListTasks', 'ecs:DescribeTasks']) {
      const [statement, ...others] = granting(action);
      expect(others).toEqual([]);
      expect(statement?.Condition).toEqual({ ArnEquals: { 'ecs:cluster': expect.anything() } });
    }
  });

  it('keeps the launch ledger in its own partition of the runs table, and creates only its own schedules', () => {
    expect(LAUNCH_LEDGER_KEY.target).toBe(LAUNCH_LEDGER_PARTITION);
    const [ledger] = statements.filter((s) => s.Sid === 'FleetLaunchLedger');
    expect(ledger).toMatchObject({
      Action: ['dynamodb:GetItem', 'dynamodb:PutItem'],
      Condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [LAUNCH_LEDGER_PARTITION] } },
    });
    const [schedules] = granting('scheduler:CreateSchedule');
    expect(JSON.stringify(schedules?.Resource)).toContain(`:schedule/default/${DEFER_SCHEDULE_PREFIX}-*`);
    expect(granting('iam:PassRole')).not.toEqual([]);
  });
});
