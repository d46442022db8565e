/**
 * CloudFormation creates resources that do not depend on each other in parallel. A schedule names its group
 * by a plain string (GroupName), not a reference, so without an explicit DependsOn it may be created before
 * the group exists, and fail. Every schedule must therefore depend on the group it names, by Ref or DependsOn.
 */
import { describe, expect, it } from 'vitest';
import { synthApp } from '#test/support/cdk.ts';

type Resource = { Type: string; Properties?: Record<string, unknown>; DependsOn?: string | string[] };

describe.each(['safekeep.config.yaml', 'test/fixtures/maximal.config.yaml'])('the schedules of %s', (configPath) => {
  it('each depend on the schedule group they name', () => {
    // Prepare
    const resources = synthApp(configPath).template.toJSON().Resources as Record<string, Resource>;
    const groups = new Map(
      Object.entries(resources)
        .filter(([, r]) => r.Type === 'AWS::Scheduler::ScheduleGroup')
        .map(([id, r]) => [r.Properties?.Name, id]),
    );
    const schedules = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Scheduler::Schedule');

    // Act
    const unordered = schedules.flatMap(([id, schedule]) => {
      const name = schedule.Properties?.GroupName;
      const byRef = typeof name === 'object' && name !== null && 'Ref' in name ? String(name.Ref) : undefined;
      const group = byRef ?? groups.get(name);
      const dependsOn = [schedule.DependsOn ?? []].flat();
      return group !== undefined && (byRef !== undefined || dependsOn.includes(group)) ? [] : [`${id} (group ${String(name)})`];
    });

    // Assess
    expect(schedules.length).toBeGreaterThan(0);
    expect(unordered).toEqual([]);
  });
});
