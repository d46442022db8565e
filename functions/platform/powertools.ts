/**
 * Powertools singletons shared by every Safekeep Lambda, created once per execution environment.
 * Metrics go out as CloudWatch embedded-metric-format log lines, so no function needs PutMetricData.
 * Emit metrics through `powertoolsTelemetry().metric`, which gives them exactly the dimensions the alarms
 * expect and publishes each at once: nothing flushes `metrics` itself (see safekeepHandler).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE } from '../contracts/metrics.ts';
import type { Telemetry } from '../contracts/telemetry.ts';

export const logger = new Logger({ serviceName: 'safekeep' });
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'safekeep' });

/** The narrow telemetry port the cores take, over Powertools. Dimensioned metrics get their own EMF blob. */
export function powertoolsTelemetry(): Telemetry {
  return {
    info: (message, fields) => logger.info(message, fields ?? {}),
    warn: (message, fields) => logger.warn(message, fields ?? {}),
    metric: (name, value, unit, dimensions) => {
      const single = metrics.singleMetric();
      // Exactly the given dimensions: alarms match a metric by its full dimension set, and Powertools would
      // otherwise add "service" to every metric.
      single.clearDefaultDimensions();
      for (const [key, dimension] of Object.entries(dimensions ?? {})) single.addDimension(key, dimension);
      single.addMetric(name, unit, value);
    },
  };
}
