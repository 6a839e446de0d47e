/**
 * The model runtime's Prometheus metrics. Several runtimes (one per target) may share a registry:
 * a metric already registered there under the same name is reused, not registered twice.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

function reuse<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

export function createForecastMetrics(registry: Registry) {
  const registers = [registry];
  const roleLabels = ['target', 'role'] as const;
  const gauge = (name: string, help: string): Gauge<'target' | 'role'> =>
    reuse(registry, name, () => new Gauge({ name, help, labelNames: roleLabels, registers }));
  return {
    forecasts: reuse(registry, 'gridos_edge_forecasts_total', () => new Counter({ name: 'gridos_edge_forecasts_total', help: 'Forecasts answered, by who answered (the model, or the seasonal-naive fallback)', labelNames: ['target', 'role', 'answer'] as const, registers })),
    fallbacks: reuse(registry, 'gridos_edge_forecast_fallbacks_total', () => new Counter({ name: 'gridos_edge_forecast_fallbacks_total', help: 'Forecasts the seasonal naive answered, by why the model did not', labelNames: ['target', 'role', 'code'] as const, registers })),
    inferenceSeconds: reuse(registry, 'gridos_edge_model_inference_seconds', () => new Histogram({ name: 'gridos_edge_model_inference_seconds', help: 'Time onnxruntime took for one forecast (batch 1)', labelNames: roleLabels, buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers })),
    rollingMape: gauge('gridos_edge_model_rolling_mape', 'Rolling MAPE (percent) of the model\'s own forecasts over the drift window'),
    rollingMae: gauge('gridos_edge_model_rolling_mae', 'Rolling mean absolute error of the model\'s own forecasts over the drift window, in load units'),
    rollingBias: gauge('gridos_edge_model_rolling_bias', 'Rolling mean of forecast - actual over the drift window (positive: forecasts too high)'),
    alarm: reuse(registry, 'gridos_edge_model_alarm', () => new Gauge({ name: 'gridos_edge_model_alarm', help: '1 while a model alarm is raised, by code (0 once cleared)', labelNames: ['target', 'role', 'code'] as const, registers })),
  };
}

export type ForecastMetrics = ReturnType<typeof createForecastMetrics>;
