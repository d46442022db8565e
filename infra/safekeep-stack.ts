import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { Safekeep, type SafekeepProps } from './safekeep.ts';

export interface SafekeepStackProps extends StackProps {
  /** The Safekeep config (the parsed `safekeep.config.yaml`). */
  readonly config: SafekeepProps;
}

/** The deployable unit: one `Safekeep` construct in its own stack. */
export class SafekeepStack extends Stack {
  readonly safekeep: Safekeep;

  constructor(scope: Construct, id: string, props: SafekeepStackProps) {
    super(scope, id, props);
    this.safekeep = new Safekeep(this, 'Safekeep', props.config);
  }
}
