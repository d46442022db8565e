/**
 * The CDK app entry (`cdk.json` runs it with tsx, no build step). Reads the config, builds the stack,
 * and turns a bad config into one line per problem on stderr instead of a stack trace.
 */
import { ConfigError } from '#functions/contracts/config/load.ts';
import { createSafekeepApp } from './safekeep-app.ts';

try {
  createSafekeepApp().app.synth();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exitCode = 1;
}
