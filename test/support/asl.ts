/**
 * Runs a synthesized Step Functions definition on this machine: moto stores state machines but never runs
 * them. Covers what Safekeep's definitions use: Task (Lambda, run from source), Choice, Wait (skipped),
 * Pass (with States.Format), Succeed, Fail, Catch. Anything else fails loudly, so a new state type cannot
 * silently pass a contract test.
 */
import type { Template } from 'aws-cdk-lib/assertions';

type Json = unknown;
type State = Record<string, Json> & { Type: string; Next?: string; End?: boolean };
export interface Definition {
  StartAt: string;
  States: Record<string, State>;
}

/** The definition of the template's (only, or named) state machine, with Lambda ARNs as `lambda:<logicalId>`. */
export function stateMachineDefinition(template: Template, logicalId?: string): Definition {
  const machines = template.findResources('AWS::StepFunctions::StateMachine');
  const [, machine] = Object.entries(machines).find(([id]) => !logicalId || id === logicalId) ?? [];
  if (!machine) throw new Error('no state machine in the template');
  const body = (machine as { Properties: { DefinitionString: Json } }).Properties.DefinitionString;
  return JSON.parse(resolve(body)) as Definition;
}

function resolve(value: Json): string {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join'?: [string, Json[]] })['Fn::Join'];
  if (join) return join[1].map(resolve).join(join[0]);
  const getAtt = (value as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt'];
  if (getAtt) return `lambda:${getAtt[0]}`;
  const ref = (value as { Ref?: string }).Ref;
  if (ref) return `ref:${ref}`;
  throw new Error(`cannot resolve ${JSON.stringify(value)} in a state machine definition`);
}

function path(document: Json, expression: string): Json {
  if (expression === '$') return document;
  let node = document;
  for (const part of expression.replace(/^\$\.?/, '').split(/\.|(?=\[)/)) {
    if (node === undefined || node === null) return undefined;
    const index = /^\[(\d+)\]$/.exec(part);
    node = index ? (node as Json[])[Number(index[1])] : (node as Record<string, Json>)[part];
  }
  return node;
}

/** Parameters / Payload templates: keys ending in `.$` are paths (or a States.Format call). */
function render(template: Json, input: Json): Json {
  if (Array.isArray(template)) return template.map((t) => render(t, input));
  if (template === null || typeof template !== 'object') return template;
  return Object.fromEntries(
    Object.entries(template as Record<string, Json>).map(([key, value]) => {
      if (!key.endsWith('.$')) return [key, render(value, input)];
      return [key.slice(0, -2), evaluate(String(value), input)];
    }),
  );
}

function evaluate(expression: string, input: Json): Json {
  const format = /^States\.Format\('((?:[^']|\\')*)'((?:,\s*\$[^,)]*)*)\)$/.exec(expression);
  if (!format) return path(input, expression);
  const args = (format[2] ?? '')
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean)
    .map((a) => path(input, a));
  let index = 0;
  return (format[1] ?? '').replace(/\{\}/g, () => String(args[index++]));
}

function matches(rule: Record<string, Json>, input: Json): boolean {
  if (rule.And) return (rule.And as Record<string, Json>[]).every((r) => matches(r, input));
  if (rule.Or) return (rule.Or as Record<string, Json>[]).some((r) => matches(r, input));
  if (rule.Not) return !matches(rule.Not as Record<string, Json>, input);
  const value = path(input, String(rule.Variable));
  if ('IsPresent' in rule) return (value !== undefined) === rule.IsPresent;
  if ('StringEquals' in rule) return value === rule.StringEquals;
  if ('BooleanEquals' in rule) return value === rule.BooleanEquals;
  throw new Error(`Choice rule not supported by the test interpreter: ${JSON.stringify(rule)}`);
}

export interface Execution {
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly output?: Json;
  readonly error?: string;
  readonly cause?: string;
  /** Every state entered, in order. */
  readonly path: string[];
}

/** Executes the definition; `invoke` runs the Lambda a Task names (`lambda:<logicalId>`). */
export async function execute(
  definition: Definition,
  input: Json,
  invoke: (resource: string, payload: Json) => Promise<Json>,
  maxSteps = 500,
): Promise<Execution> {
  let name = definition.StartAt;
  let document = input;
  const visited: string[] = [];
  for (let step = 0; step < maxSteps; step++) {
    visited.push(name);
    const state = definition.States[name];
    if (!state) throw new Error(`no state ${name}`);
    let next: string | undefined = state.Next;
    switch (state.Type) {
      case 'Task': {
        const payload = state.Parameters
          ? render((state.Parameters as { Payload?: Json }).Payload ?? state.Parameters, document)
          : document;
        const resource =
          state.Resource === 'arn:aws:states:::lambda:invoke'
            ? String((state.Parameters as { FunctionName: Json }).FunctionName)
            : String(state.Resource);
        try {
          const result = await invoke(resource.replace(/^.*lambda:/, 'lambda:'), payload);
          document = result;
        } catch (error) {
          const handler = (state.Catch as { ErrorEquals: string[]; Next: string; ResultPath?: string }[] | undefined)?.find((c) =>
            c.ErrorEquals.some((e) => e === 'States.ALL' || e === (error as Error).name),
          );
          if (!handler) return { status: 'FAILED', error: (error as Error).name, cause: (error as Error).message, path: visited };
          const caught = { Error: (error as Error).name, Cause: (error as Error).message };
          document = handler.ResultPath ? { ...(document as object), [handler.ResultPath.replace(/^\$\./, '')]: caught } : caught;
          next = handler.Next;
        }
        break;
      }
      case 'Choice': {
        const rule = (state.Choices as (Record<string, Json> & { Next: string })[]).find((r) => matches(r, document));
        next = rule?.Next ?? (state.Default as string | undefined);
        if (!next) return { status: 'FAILED', error: 'States.NoChoiceMatched', path: visited };
        break;
      }
      case 'Wait':
        break;
      case 'Pass':
        if (state.Parameters) document = render(state.Parameters, document);
        break;
      case 'Succeed':
        return { status: 'SUCCEEDED', output: document, path: visited };
      case 'Fail': {
        const cause = state.CausePath ? String(path(document, String(state.CausePath))) : (state.Cause as string | undefined);
        return { status: 'FAILED', error: state.Error as string, cause, path: visited };
      }
      default:
        throw new Error(`state type ${state.Type} is not supported by the test interpreter`);
    }
    if (state.End) return { status: 'SUCCEEDED', output: document, path: visited };
    if (!next) throw new Error(`state ${name} has no Next`);
    name = next;
  }
  throw new Error(`the execution did not finish within ${maxSteps} states`);
}
