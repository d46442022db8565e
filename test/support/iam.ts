/** Walking the policy statements of a synthesized template (IAM analysis, SECURITY.md's role table). */
import type { Template } from 'aws-cdk-lib/assertions';

/** The configs whose templates the scanners and the IAM analysis check: the example and one with everything on. */
export const SCANNED_CONFIGS = ['safekeep.config.yaml', 'test/fixtures/maximal.config.yaml'] as const;

type Statement = Record<string, unknown>;
/** Where a statement lives: an identity policy of roles, a trust policy, or a resource policy. */
export interface Located {
  readonly kind: 'identity' | 'trust' | 'key' | 'resource';
  /** Logical id of the policy's resource (for identity policies: the AWS::IAM::Policy or the role). */
  readonly resource: string;
  /** Roles (logical ids) an identity policy is attached to. */
  readonly roles: readonly string[];
  readonly statement: Statement;
}

export const asList = <T = string>(value: unknown): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value as T];
const refOf = (value: unknown): string | undefined => (value as { Ref?: string } | undefined)?.Ref;

/** Every policy statement of the template, with where it lives. */
export function allStatements(template: Template): Located[] {
  const out: Located[] = [];
  const resources = template.toJSON().Resources as Record<string, { Type: string; Properties?: Record<string, any> }>;
  const push = (kind: Located['kind'], resource: string, roles: string[], document: any) => {
    for (const statement of asList<Statement>(document?.Statement)) out.push({ kind, resource, roles, statement });
  };
  // A managed policy of the template is attached by the role naming it (ManagedPolicyArns: [{Ref}]).
  const attachedBy = new Map<string, string[]>();
  for (const [id, { Type, Properties: props = {} }] of Object.entries(resources)) {
    if (Type !== 'AWS::IAM::Role') continue;
    for (const policy of asList(props.ManagedPolicyArns).flatMap((arn) => asList(refOf(arn))))
      attachedBy.set(policy, [...(attachedBy.get(policy) ?? []), id]);
  }
  for (const [id, { Type, Properties: props = {} }] of Object.entries(resources)) {
    if (Type === 'AWS::IAM::Policy' || Type === 'AWS::IAM::ManagedPolicy')
      push(
        'identity',
        id,
        [...asList(props.Roles).flatMap((r) => asList(refOf(r))), ...(attachedBy.get(id) ?? [])],
        props.PolicyDocument,
      );
    if (Type === 'AWS::IAM::Role') {
      for (const policy of asList<any>(props.Policies)) push('identity', id, [id], policy.PolicyDocument);
      push('trust', id, [id], props.AssumeRolePolicyDocument);
    }
    if (Type === 'AWS::KMS::Key') push('key', id, [], props.KeyPolicy);
    if (['AWS::S3::BucketPolicy', 'AWS::SNS::TopicPolicy', 'AWS::SQS::QueuePolicy'].includes(Type))
      push('resource', id, [], props.PolicyDocument);
  }
  return out;
}

/** IAM action patterns are case-insensitive globs. */
export function allows(pattern: string, action: string): boolean {
  const glob = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${glob}$`, 'i').test(action);
}

/** Resolves Ref, Fn::GetAtt and Fn::Join with the given values (`<logicalId>` or `<logicalId>.<attribute>`). */
export function resolveCfn(value: unknown, values: Record<string, string>): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveCfn(v, values));
  if (value && typeof value === 'object') {
    const o = value as Record<string, any>;
    if ('Ref' in o) return values[o.Ref] ?? `<${o.Ref}>`;
    if ('Fn::GetAtt' in o) return values[o['Fn::GetAtt'].join('.')] ?? `<${o['Fn::GetAtt'].join('.')}>`;
    if ('Fn::Join' in o) return (resolveCfn(o['Fn::Join'][1], values) as string[]).join(o['Fn::Join'][0]);
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, resolveCfn(v, values)]));
  }
  return value;
}

/** A request, as IAM sees it: the action, the resource ARN, the principal and the condition keys it carries. */
export interface IamRequest {
  readonly action: string;
  readonly resource: string;
  readonly principalArn: string;
  readonly context: Record<string, string>;
}

const glob = (pattern: string, value: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  ).test(value);

/** IAM's condition operators that Safekeep's policies use, with IAM's semantics for absent keys. */
function conditionHolds(operator: string, key: string, expected: unknown, request: IamRequest): boolean {
  const actual = key === 'aws:PrincipalArn' ? request.principalArn : request.context[key];
  const values = asList(expected).map(String);
  const ifExists = operator.endsWith('IfExists');
  const op = operator.replace(/IfExists$/, '');
  if (op === 'Null') return (actual === undefined) === (values[0] === 'true');
  if (actual === undefined) return ifExists || op.includes('Not');
  const match = op.includes('Like') ? values.some((v) => glob(v, actual)) : values.includes(actual);
  if (op === 'Bool') return values.includes(actual);
  return op.includes('Not') ? !match : match;
}

/** Whether any Deny statement of `statements` (resolved) denies `request`. */
export function denies(statements: readonly Record<string, unknown>[], request: IamRequest): boolean {
  return statements.some((statement) => {
    if (statement.Effect !== 'Deny') return false;
    if (!asList(statement.Action).some((pattern) => allows(pattern, request.action))) return false;
    if (!asList(statement.Resource).some((pattern) => glob(pattern, request.resource))) return false;
    const conditions = (statement.Condition ?? {}) as Record<string, Record<string, unknown>>;
    return Object.entries(conditions).every(([operator, keys]) =>
      Object.entries(keys).every(([key, expected]) => conditionHolds(operator, key, expected, request)),
    );
  });
}
