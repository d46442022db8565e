/**
 * The compliance gate: cdk-nag's AWS Solutions, NIST 800-53 rev 5, HIPAA Security, PCI DSS 3.2.1 and Serverless
 * packs run at synth, and any finding not acknowledged in compliance-acknowledgements.ts fails it.
 */
import { type App, Validations } from 'aws-cdk-lib';
import {
  AwsSolutionsChecks,
  HIPAASecurityChecks,
  type NagPack,
  NIST80053R5Checks,
  PCIDSS321Checks,
  ServerlessChecks,
} from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { ACKNOWLEDGEMENTS } from './compliance-acknowledgements.ts';

/** The rule packs Safekeep is held to. */
export function nagPacks(scope: IConstruct): NagPack[] {
  return [
    new AwsSolutionsChecks(scope),
    new NIST80053R5Checks(scope),
    new HIPAASecurityChecks(scope),
    new PCIDSS321Checks(scope),
    new ServerlessChecks(scope),
  ];
}

/** Records every acknowledgement on its constructs; call after the stacks are built. */
export function acknowledgeKnownFindings(root: IConstruct): void {
  for (const acknowledgement of ACKNOWLEDGEMENTS) {
    for (const { construct, rules } of acknowledgement.on(root)) {
      Validations.of(construct).acknowledge(...rules.map((id) => ({ id, reason: acknowledgement.reason })));
    }
  }
}

/** Registers the packs so `cdk synth` fails on any unacknowledged finding. */
export function addComplianceChecks(app: App): void {
  acknowledgeKnownFindings(app);
  Validations.of(app).addPlugins(...nagPacks(app));
}
