/** Stopping a command cleanly on SIGTERM (ECS StopTask, a deployment, Spot) or SIGINT (Ctrl-C). */

/**
 * ECS stops a task with SIGTERM (StopTask, a deployment, a Spot interruption), then SIGKILL after the
 * container's stop timeout (infra/constructs/dump-tasks.ts). Caught, a signal stops the dump cleanly: every
 * upload aborted, no manifest, exit code 6 (EXIT.stopped) for the recorder to name. SIGINT (Ctrl-C) too.
 */
export function stopOnSignal(): { signal: AbortSignal; release: () => void } {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => controller.abort(signal);
  const signals = ['SIGTERM', 'SIGINT'] as const;
  for (const signal of signals) process.once(signal, onSignal);
  return {
    signal: controller.signal,
    release: () => {
      for (const signal of signals) process.off(signal, onSignal);
    },
  };
}
