import { App, type AppProps } from 'aws-cdk-lib';
import { loadConfigFile } from '#functions/contracts/config/load.ts';
import { addComplianceChecks } from './compliance.ts';
import { SafekeepStack } from './safekeep-stack.ts';

/** The example config shipped with the repo; synth uses it unless told otherwise. */
export const DEFAULT_CONFIG_PATH = 'safekeep.config.yaml';

export interface SafekeepAppOptions extends AppProps {
  /** Path of the config file; default: `-c config=...`, then `SAFEKEEP_CONFIG`, then `safekeep.config.yaml`. */
  readonly configPath?: string;
}

/** Builds the Safekeep app: config -> stack -> compliance gate. Throws `ConfigError` on a bad config. */
export function createSafekeepApp(options: SafekeepAppOptions = {}): { app: App; stack: SafekeepStack } {
  const app = new App(options);
  const configPath = options.configPath ?? app.node.tryGetContext('config') ?? process.env.SAFEKEEP_CONFIG ?? DEFAULT_CONFIG_PATH;
  const stackName = app.node.tryGetContext('stackName') ?? 'Safekeep';
  const stack = new SafekeepStack(app, stackName, {
    config: loadConfigFile(configPath),
    description: 'Safekeep: scheduled, verified database backups',
  });
  addComplianceChecks(app);
  return { app, stack };
}
