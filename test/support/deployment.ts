/**
 * Deployment documents for tests, shaped exactly as infra/constructs/deployment-document.ts writes them, and
 * the environment that hands one to a handler or a task the way AWS does.
 */
import type { SafekeepConfig } from '#functions/contracts/config/schema.ts';
import {
  DEPLOYMENT_VARIABLE,
  type Deployment,
  type DeploymentResources,
  parseDeployment,
} from '#functions/contracts/deployment.ts';

export function deploymentOf(
  config: SafekeepConfig,
  resources: Partial<DeploymentResources> & Pick<DeploymentResources, 'bucket'>,
  stack = 'Test',
): Deployment {
  return parseDeployment(
    {
      version: 1,
      stack,
      taskFamilyPrefix: stack,
      targets: config.targets,
      resources: { region: 'us-east-1', runsTable: 'runs', workers: {}, ...resources },
    },
    'test deployment',
  );
}

/** The whole document in SAFEKEEP_DEPLOYMENT (as a task gets it), and no bundled file to mix in. */
export function deploymentEnvironment(document: Deployment): Record<string, string> {
  return { [DEPLOYMENT_VARIABLE]: JSON.stringify(document), SAFEKEEP_DEPLOYMENT_FILE: '/nonexistent/deployment.json' };
}
