/**
 * Contract testing of what no local peer runs: ECS tasks and Lambda-invoked handlers. From the synthesized
 * template we register the exact task definitions and SSM parameters in moto (CloudFormation intrinsics
 * resolved to test values), and this file's ECS agent runs each task moto "started" on this machine, with
 * the command, environment, secrets and overrides moto recorded, then stops it the way ECS reports it.
 */
import { execFile } from 'node:child_process';
import {
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  type ECSClient,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  StopTaskCommand,
} from '@aws-sdk/client-ecs';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import type { Template } from 'aws-cdk-lib/assertions';

type Json = unknown;
export const ACCOUNT = '123456789012';

/** Resolves Ref / Fn::GetAtt / Fn::Join / Fn::Sub / pseudo parameters, with `values` for chosen logical ids. */
export function resolveCfn(value: Json, region: string, values: Record<string, string> = {}): Json {
  const pseudo: Record<string, string> = {
    'AWS::Partition': 'aws',
    'AWS::Region': region,
    'AWS::AccountId': ACCOUNT,
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::StackName': 'Safekeep',
  };
  const recurse = (v: Json): Json => {
    if (Array.isArray(v)) return v.map(recurse);
    if (v === null || typeof v !== 'object') return v;
    const node = v as Record<string, Json>;
    if ('Ref' in node) {
      const ref = String(node.Ref);
      return pseudo[ref] ?? values[ref] ?? `ref-${ref}`;
    }
    if ('Fn::GetAtt' in node) {
      const [id, attribute] = node['Fn::GetAtt'] as [string, string];
      return values[`${id}.${attribute}`] ?? values[id] ?? `arn:aws:test:${region}:${ACCOUNT}:${id}/${attribute}`;
    }
    if ('Fn::Join' in node) {
      const [separator, parts] = node['Fn::Join'] as [string, Json[]];
      return parts.map((part) => String(recurse(part))).join(separator);
    }
    if ('Fn::Sub' in node) {
      const template = Array.isArray(node['Fn::Sub']) ? (node['Fn::Sub'] as [string])[0] : String(node['Fn::Sub']);
      return template.replace(/\$\{([^}]+)\}/g, (_, name: string) => pseudo[name] ?? values[name] ?? `sub-${name}`);
    }
    if ('Fn::Select' in node) {
      const [index, list] = node['Fn::Select'] as [number, Json];
      return (recurse(list) as Json[])[index];
    }
    if ('Fn::Split' in node) {
      const [separator, source] = node['Fn::Split'] as [string, Json];
      return String(recurse(source)).split(separator);
    }
    return Object.fromEntries(Object.entries(node).map(([key, child]) => [key, recurse(child)]));
  };
  return recurse(value);
}

/** CloudFormation's PascalCase property names to the ECS API's camelCase. */
function camel(value: Json): Json {
  if (Array.isArray(value)) return value.map(camel);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, Json>).map(([key, child]) => [
      key.charAt(0).toLowerCase() + key.slice(1),
      camel(child),
    ]),
  );
}

/** Registers every task definition of the template in moto, exactly as synthesized. */
export async function registerTaskDefinitions(
  ecs: ECSClient,
  template: Template,
  region: string,
  values: Record<string, string>,
): Promise<Record<string, string>> {
  const registered: Record<string, string> = {};
  for (const [id, resource] of Object.entries(template.findResources('AWS::ECS::TaskDefinition'))) {
    const properties = camel(resolveCfn((resource as { Properties: Json }).Properties, region, values)) as Record<string, Json>;
    delete properties.tags;
    // moto sums container memory to place tasks and fails on Fargate definitions that set it per task only.
    for (const container of properties.containerDefinitions as Record<string, Json>[])
      container.memory ??= Number(properties.memory);
    const result = await ecs.send(new RegisterTaskDefinitionCommand(properties as never));
    registered[id] = result.taskDefinition?.taskDefinitionArn ?? '';
  }
  return registered;
}

/** Publishes the template's SSM parameters in moto (what `safekeep run` and `status` read). */
export async function publishParameters(
  ssm: SSMClient,
  template: Template,
  region: string,
  values: Record<string, string>,
): Promise<void> {
  for (const resource of Object.values(template.findResources('AWS::SSM::Parameter'))) {
    const { Name, Value, Type } = resolveCfn((resource as { Properties: Json }).Properties, region, values) as {
      Name: string;
      Value: string;
      Type: string;
    };
    await ssm.send(new PutParameterCommand({ Name, Value, Type: Type as 'String', Overwrite: true }));
  }
}

/** What ECS would put in the container's environment: the definition's, its secrets (resolved), the overrides. */
async function containerEnvironment(ecs: ECSClient, secrets: SecretsManagerClient, taskArn: string, cluster: string) {
  const [task] = (await ecs.send(new DescribeTasksCommand({ cluster, tasks: [taskArn] }))).tasks ?? [];
  if (!task?.taskDefinitionArn) throw new Error(`moto has no task ${taskArn}`);
  const { taskDefinition } = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: task.taskDefinitionArn }));
  const [container] = taskDefinition?.containerDefinitions ?? [];
  if (!container?.name) throw new Error('the task definition has no container');
  const environment: Record<string, string> = Object.fromEntries(
    (container.environment ?? []).map((e) => [e.name ?? '', e.value ?? '']),
  );
  for (const secret of container.secrets ?? []) {
    // valueFrom: arn:aws:secretsmanager:<region>:<account>:secret:<name>:<json-key>::
    const match = /:secret:(.+):([^:]*):[^:]*:[^:]*$/.exec(secret.valueFrom ?? '');
    if (!match?.[1]) throw new Error(`cannot resolve secret ${secret.valueFrom}`);
    const value = (await secrets.send(new GetSecretValueCommand({ SecretId: match[1] }))).SecretString ?? '';
    environment[secret.name ?? ''] = match[2] ? String((JSON.parse(value) as Record<string, unknown>)[match[2]]) : value;
  }
  const overrides = task.overrides?.containerOverrides?.find((o) => o.name === container.name);
  for (const e of overrides?.environment ?? []) environment[e.name ?? ''] = e.value ?? '';
  return { task, container, environment, command: overrides?.command ?? container.command ?? [] };
}

export interface TaskRun {
  readonly taskArn: string;
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The EventBridge event ECS sends when the task stops, as the recorder receives it. */
  readonly stoppedEvent: Json;
  /** Everything that entered the task: for leak checks. */
  readonly recorded: Json;
}

/**
 * The ECS agent: runs every task of the cluster moto lists as RUNNING with the image's entry point on this
 * machine, then stops it in moto and returns the stopped event. `hostEnvironment` carries what the task
 * role would give a real task (AWS credentials and endpoints for the local peers), nothing from the target.
 */
export async function runPendingTasks(
  clients: { ecs: ECSClient; secrets: SecretsManagerClient },
  cluster: string,
  hostEnvironment: Record<string, string>,
  done: Set<string> = new Set(),
): Promise<TaskRun[]> {
  const runs: TaskRun[] = [];
  const arns = (await clients.ecs.send(new ListTasksCommand({ cluster, desiredStatus: 'RUNNING' }))).taskArns ?? [];
  for (const taskArn of arns.filter((arn) => !done.has(arn))) {
    done.add(taskArn);
    const { task, container, environment, command } = await containerEnvironment(clients.ecs, clients.secrets, taskArn, cluster);
    const startedAt = new Date();
    const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--max-semi-space-size=4', 'bin/safekeep.js', ...command],
        { env: { ...hostEnvironment, ...environment }, timeout: 300_000 },
        (error, stdout, stderr) =>
          resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
      );
    });
    await clients.ecs.send(
      new StopTaskCommand({
        cluster,
        task: taskArn,
        reason: result.code === 0 ? 'Essential container in task exited' : `Essential container exited with ${result.code}`,
      }),
    );
    const stoppedEvent = {
      version: '0',
      source: 'aws.ecs',
      'detail-type': 'ECS Task State Change',
      account: ACCOUNT,
      region: taskArn.split(':')[3],
      detail: {
        taskArn,
        clusterArn: cluster,
        group: task.group,
        taskDefinitionArn: task.taskDefinitionArn,
        lastStatus: 'STOPPED',
        stopCode: 'EssentialContainerExited',
        stoppedReason: 'Essential container in task exited',
        createdAt: startedAt.toISOString(),
        startedAt: startedAt.toISOString(),
        stoppedAt: new Date().toISOString(),
        containers: [{ name: container.name, exitCode: result.code, lastStatus: 'STOPPED' }],
        overrides: task.overrides,
      },
    };
    runs.push({
      taskArn,
      exitCode: result.code,
      stdout: result.stdout,
      stderr: result.stderr,
      stoppedEvent,
      recorded: { overrides: task.overrides, container },
    });
  }
  return runs;
}
