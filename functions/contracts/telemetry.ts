/**
 * The narrow telemetry port every core takes: log lines and metrics. Lambda handlers pass Powertools
 * (platform/powertools.ts), the CLI its own terminal logger; cores never import either.
 */

/** Log lines only: most cores never emit metrics. */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

export type MetricUnit = 'Count' | 'Percent' | 'Seconds' | 'Bytes';

/** Logs and metrics; a metric goes out with exactly the dimensions given (alarms match them exactly). */
export interface Telemetry extends Logger {
  metric(name: string, value: number, unit: MetricUnit, dimensions?: Record<string, string>): void;
}
