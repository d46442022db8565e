/**
 * A small JSON Schema checker for the subset docs/events.schema.json uses (type, const, enum, properties,
 * required, additionalProperties: false, minimum, minLength, pattern, oneOf, local $ref). No validator is a
 * dependency; this one is enough to hold published events to their published schema.
 */
type Schema = Record<string, unknown>;

/** Every way `value` breaks `schema`, as "path: problem"; empty when it conforms. */
export function schemaProblems(value: unknown, schema: Schema, root: Schema = schema, path = '$'): string[] {
  if (typeof schema.$ref === 'string') {
    const target = schema.$ref
      .replace(/^#\//, '')
      .split('/')
      .reduce<unknown>((node, key) => (node as Schema)[key], root);
    return schemaProblems(value, target as Schema, root, path);
  }
  const problems: string[] = [];
  if ('const' in schema && value !== schema.const) problems.push(`${path}: must be ${JSON.stringify(schema.const)}`);
  if (Array.isArray(schema.enum) && !schema.enum.includes(value))
    problems.push(`${path}: must be one of ${JSON.stringify(schema.enum)}`);
  if (typeof schema.type === 'string' && !hasType(value, schema.type)) return [...problems, `${path}: must be ${schema.type}`];
  if (typeof value === 'number' && typeof schema.minimum === 'number' && value < schema.minimum)
    problems.push(`${path}: must be at least ${schema.minimum}`);
  if (typeof value === 'string') {
    if (typeof schema.minLength === 'number' && value.length < schema.minLength) problems.push(`${path}: too short`);
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern).test(value))
      problems.push(`${path}: must match ${schema.pattern}`);
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const object = value as Record<string, unknown>;
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    for (const name of (schema.required ?? []) as string[]) if (!(name in object)) problems.push(`${path}.${name}: is required`);
    for (const [name, child] of Object.entries(object)) {
      if (properties[name]) problems.push(...schemaProblems(child, properties[name], root, `${path}.${name}`));
      else if (schema.additionalProperties === false) problems.push(`${path}.${name}: is not in the schema`);
    }
  }
  if (Array.isArray(schema.oneOf)) {
    const matching = schema.oneOf.filter((option) => schemaProblems(value, option as Schema, root, path).length === 0);
    if (matching.length !== 1) {
      const why = schema.oneOf.map((option) => schemaProblems(value, option as Schema, root, path).join('; '));
      problems.push(
        `${path}: must match exactly one of ${schema.oneOf.length} shapes (matched ${matching.length}): ${why.join(' | ')}`,
      );
    }
  }
  return problems;
}

function hasType(value: unknown, type: string): boolean {
  if (type === 'integer') return Number.isInteger(value);
  if (type === 'object') return value !== null && typeof value === 'object' && !Array.isArray(value);
  if (type === 'array') return Array.isArray(value);
  return typeof value === type;
}
