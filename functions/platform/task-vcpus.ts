/**
 * The vCPUs of the ECS task this process runs in, from the task metadata endpoint (v4 `Limits.CPU`, in vCPUs
 * on Fargate). Undefined outside ECS, or when the endpoint does not answer in time: the caller then assumes 1.
 */
export async function taskVcpus(
  env: Readonly<Record<string, string | undefined>>,
  fetchTask: typeof fetch = fetch,
): Promise<number | undefined> {
  const base = env.ECS_CONTAINER_METADATA_URI_V4;
  if (!base) return undefined;
  try {
    const response = await fetchTask(`${base}/task`, { signal: AbortSignal.timeout(2_000) });
    if (!response.ok) return undefined;
    const cpu = ((await response.json()) as { Limits?: { CPU?: unknown } }).Limits?.CPU;
    return typeof cpu === 'number' && cpu > 0 ? cpu : undefined;
  } catch {
    return undefined;
  }
}
