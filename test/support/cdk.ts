/** Building the app the way `cdk synth` does (cdk.json's feature flags), for template assertions. */
import { readFileSync } from 'node:fs';
import { type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { Construct } from 'constructs';
import type { SafekeepConfig } from '#functions/contracts/config/schema.ts';
import { DeploymentDocument } from '#infra/constructs/deployment-document.ts';
import type { SafekeepFunction } from '#infra/constructs/safekeep-function.ts';
import { createSafekeepApp } from '#infra/safekeep-app.ts';

/** cdk.json's feature flags; Lambda bundling is skipped (templates are what these tests assert on). */
export const CDK_CONTEXT: Record<string, unknown> = {
  ...JSON.parse(readFileSync('cdk.json', 'utf8')).context,
  'aws:cdk:bundling-stacks': [],
};

export function synthApp(configPath = 'safekeep.config.yaml') {
  const { app, stack } = createSafekeepApp({ configPath, context: CDK_CONTEXT });
  return { app, stack, template: Template.fromStack(stack) };
}

/** Every IAM policy document in a template: inline role policies, AWS::IAM::Policy and managed policies. */
export function policyStatements(template: Template): { resource: string; statement: Record<string, unknown> }[] {
  const out: { resource: string; statement: Record<string, unknown> }[] = [];
  const resources = template.toJSON().Resources as Record<string, { Type: string; Properties?: Record<string, unknown> }>;
  for (const [id, resource] of Object.entries(resources)) {
    const props = resource.Properties ?? {};
    const documents: unknown[] = [];
    if (resource.Type === 'AWS::IAM::Policy' || resource.Type === 'AWS::IAM::ManagedPolicy') documents.push(props.PolicyDocument);
    if (resource.Type === 'AWS::IAM::Role') {
      for (const policy of (props.Policies as { PolicyDocument: unknown }[] | undefined) ?? [])
        documents.push(policy.PolicyDocument);
    }
    for (const document of documents) {
      for (const statement of (document as { Statement: Record<string, unknown>[] }).Statement)
        out.push({ resource: id, statement });
    }
  }
  return out;
}

/** A deployment document for constructs built on their own in a test stack (placeholder resources by default). */
export function testDeployment(
  scope: Construct,
  config: SafekeepConfig,
  resources: Parameters<DeploymentDocument['register']>[0] = {},
): DeploymentDocument {
  const document = new DeploymentDocument(scope, 'Deployment', { config, taskFamilyPrefix: Stack.of(scope).stackName });
  document.register({ bucket: 'test-bucket', runsTable: 'test-runs', ...resources });
  return document;
}

/** The deployment document a synthesized function gets: its bundled half and its SAFEKEEP_DEPLOYMENT, as JSON text. */
export function functionDeployment(template: Template, fn: SafekeepFunction) {
  const id = Stack.of(fn).getLogicalId(fn.function.node.defaultChild as CfnElement);
  const variables = template.toJSON().Resources[id].Properties.Environment.Variables as Record<string, unknown>;
  return {
    bundled: JSON.parse(readFileSync(fn.deploymentFile, 'utf8')) as { targets: { name: string }[] },
    environment: JSON.stringify(variables.SAFEKEEP_DEPLOYMENT),
  };
}
