/**
 * A synthesized CloudFormation template, and its intrinsic functions evaluated against a deployed stack:
 * `Ref` to physical ids and pseudo parameters, `Fn::GetAtt` to attributes read back through the AWS APIs,
 * and `Fn::Join`, `Fn::Sub`, `Fn::Select`, `Fn::Split`, `Fn::GetAZs`. This is how the deploy test turns
 * what the template says into what the APIs must answer, with no resource name written into the test.
 */

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly DependsOn?: string | string[];
  readonly DeletionPolicy?: string;
  readonly Condition?: string;
}

export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
  readonly Conditions?: Record<string, unknown>;
}

export interface StackFacts {
  readonly account: string;
  readonly region: string;
  readonly stackName: string;
  readonly stackId: string;
  /** Logical id -> physical id, as the stack reports them. */
  readonly physicalIds: ReadonlyMap<string, string>;
  /** Logical id -> attribute name -> value, as the readers found them. */
  readonly attributes: ReadonlyMap<string, Readonly<Record<string, unknown>>>;
}

export class UnresolvedError extends Error {}

/** Evaluates every intrinsic function in `value`; throws UnresolvedError for an attribute nobody read. */
export function resolve(value: unknown, facts: StackFacts): unknown {
  if (Array.isArray(value)) return value.map((item) => resolve(item, facts));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  const [first] = entries;
  if (entries.length === 1 && first && (first[0] === 'Ref' || first[0].startsWith('Fn::'))) {
    return intrinsic(first[0], first[1], facts);
  }
  return Object.fromEntries(entries.map(([key, item]) => [key, resolve(item, facts)]));
}

function intrinsic(name: string, argument: unknown, facts: StackFacts): unknown {
  switch (name) {
    case 'Ref':
      return ref(String(argument), facts);
    case 'Fn::GetAtt': {
      const [logicalId, attribute] = Array.isArray(argument) ? argument : String(argument).split('.');
      return getAtt(String(logicalId), String(attribute), facts);
    }
    case 'Fn::Join': {
      const [separator, parts] = argument as [string, unknown[]];
      return (resolve(parts, facts) as unknown[]).map(String).join(separator);
    }
    case 'Fn::Select': {
      const [index, list] = argument as [unknown, unknown];
      return (resolve(list, facts) as unknown[])[Number(resolve(index, facts))];
    }
    case 'Fn::Split': {
      const [separator, source] = argument as [string, unknown];
      return String(resolve(source, facts)).split(separator);
    }
    case 'Fn::GetAZs':
      return ['a', 'b', 'c'].map((zone) => `${facts.region}${zone}`);
    case 'Fn::Sub': {
      const [text, variables] = Array.isArray(argument)
        ? (argument as [string, Record<string, unknown>])
        : [String(argument), {}];
      const values = resolve(variables, facts) as Record<string, unknown>;
      return text.replace(/\$\{([^}!]+)\}/g, (_, expression: string) => {
        if (expression in values) return String(values[expression]);
        const [logicalId, attribute] = expression.split('.');
        return String(attribute ? getAtt(String(logicalId), attribute, facts) : ref(String(logicalId), facts));
      });
    }
    case 'Fn::ToJsonString':
      return JSON.stringify(resolve(argument, facts));
    default:
      throw new UnresolvedError(`intrinsic ${name} is not supported by the deploy test's resolver`);
  }
}

function ref(name: string, facts: StackFacts): unknown {
  const pseudo: Record<string, string> = {
    'AWS::AccountId': facts.account,
    'AWS::Region': facts.region,
    'AWS::Partition': 'aws',
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::StackName': facts.stackName,
    'AWS::StackId': facts.stackId,
  };
  if (name in pseudo) return pseudo[name];
  const physical = facts.physicalIds.get(name);
  if (physical === undefined) throw new UnresolvedError(`Ref ${name}: the stack reports no such resource`);
  return physical;
}

function getAtt(logicalId: string, attribute: string, facts: StackFacts): unknown {
  const value = facts.attributes.get(logicalId)?.[attribute];
  if (value === undefined) throw new UnresolvedError(`Fn::GetAtt ${logicalId}.${attribute}: not read back from the APIs`);
  return value;
}
