/** Tags as EC2 and RDS spell them, `{ Key, Value }` pairs, to and from the plain record the core uses. */
interface AwsTag {
  readonly Key?: string | undefined;
  readonly Value?: string | undefined;
}

export function toTags(tags: Readonly<Record<string, string>>): { Key: string; Value: string }[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

export function fromTags(tags: readonly AwsTag[] | undefined): Record<string, string> {
  return Object.fromEntries((tags ?? []).flatMap((t) => (t.Key ? [[t.Key, t.Value ?? '']] : [])));
}
