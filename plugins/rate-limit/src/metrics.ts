import type { PluginContext } from '@parley/core'

type MetricsRegistry = PluginContext['metrics']
type RegistryMetric = Parameters<MetricsRegistry['registerMetric']>[0]

/** A gauge or counter with optional labels, on the gateway's own Prometheus registry. */
export interface Sample {
  set(value: number, labels?: Readonly<Record<string, string>>): void
  inc(labels?: Readonly<Record<string, string>>): void
  value(labels?: Readonly<Record<string, string>>): number
}

/**
 * The public API hands plugins the registry (`ctx.metrics`) but not prom-client's classes, and
 * a second prom-client copy in this package could drift from core's. The registry only asks a
 * metric for `name`, `help`, `type`, `get()` and `reset()`, so this small collector is enough.
 */
export function registerSample(
  registry: MetricsRegistry,
  spec: { name: string; help: string; type: 'gauge' | 'counter' },
): Sample {
  const values = new Map<string, { labels: Record<string, string>; value: number }>()
  const entry = (labels: Readonly<Record<string, string>> = {}) => {
    const id = JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)))
    let found = values.get(id)
    if (!found) {
      found = { labels: { ...labels }, value: 0 }
      values.set(id, found)
    }
    return found
  }
  // A labelless metric shows 0 from the start, as prom-client's own do.
  if (spec.type === 'gauge') entry()
  const collector = {
    name: spec.name,
    help: spec.help,
    type: spec.type,
    get: async () => ({
      name: spec.name,
      help: spec.help,
      type: spec.type,
      aggregator: spec.type === 'gauge' ? 'max' : 'sum',
      values: [...values.values()].map(({ labels, value }) => ({ labels, value })),
    }),
    reset: () => {
      for (const item of values.values()) item.value = 0
    },
  }
  registry.registerMetric(collector as unknown as RegistryMetric)
  return {
    set: (value, labels) => void (entry(labels).value = value),
    inc: labels => void (entry(labels).value += 1),
    value: labels => entry(labels).value,
  }
}
