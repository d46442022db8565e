/**
 * Safekeep as a construct library: everything an app composing Safekeep needs, from one entry point.
 * `infra/app.ts` is the ready-made app (`cdk synth` / `cdk deploy` with safekeep.config.yaml).
 */
export { ConfigError, loadConfigFile, parseConfig } from '#functions/contracts/config/load.ts';
export type { SafekeepConfig, SafekeepConfigInput, Target } from '#functions/contracts/config/schema.ts';
export type { Deployment } from '#functions/contracts/deployment.ts';
export type { DispatchEvent, RunRef } from '#functions/contracts/run-payloads.ts';
export { acknowledgeKnownFindings, addComplianceChecks, nagPacks } from './compliance.ts';
export {
  ArtifactBucket,
  type ArtifactBucketProps,
  type ArtifactObjectLock,
  type ArtifactTransition,
} from './constructs/artifact-bucket.ts';
export { DeploymentDocument, type DeploymentDocumentProps, type DeploymentSlice } from './constructs/deployment-document.ts';
export { Dispatch, type DispatchProps } from './constructs/dispatch.ts';
export { DumpTasks, type DumpTasksProps } from './constructs/dump-tasks.ts';
export { DbClientToolsLayer, LambdaRunner, type LambdaRunnerEvent, type LambdaRunnerProps } from './constructs/lambda-runner.ts';
export { FAILURE_PERIOD, FRESHNESS_PERIOD, Monitoring, type MonitoringProps } from './constructs/monitoring.ts';
export { RunLedger, type RunLedgerProps } from './constructs/run-ledger.ts';
export { SafekeepFunction, type SafekeepFunctionNetwork, type SafekeepFunctionProps } from './constructs/safekeep-function.ts';
export { SnapshotFlow, type SnapshotFlowInput, type SnapshotFlowProps } from './constructs/snapshot-flow.ts';
export { Safekeep, type SafekeepProps } from './safekeep.ts';
export { createSafekeepApp, DEFAULT_CONFIG_PATH, type SafekeepAppOptions } from './safekeep-app.ts';
export type {
  CopyWithKey,
  DumpNetwork,
  DumpTargetProps,
  EbsVolumeTargetProps,
  Ec2InstanceTargetProps,
  RdsClusterTargetProps,
  RdsInstanceTargetProps,
  SafekeepTargetProps,
} from './safekeep-props.ts';
export { SafekeepStack, type SafekeepStackProps } from './safekeep-stack.ts';
