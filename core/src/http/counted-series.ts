import { Counter, type Metric, type Registry } from 'prom-client'

/*
 * Per-request metrics counted in plain records and handed to prom-client when `/metrics` is
 * read. prom-client's `inc` and `observe` build a string key from the labels and look it up on
 * every call; with three calls per data-plane request (requests, latency, upstream attempts)
 * that was 1.7-4.3% of Parley's CPU at JSON c=64 (bench/NOTES.md, "Later: what each request
 * still paid for"). Here a series is found through one Map per label, keyed by values the
 * caller already holds (a route template, a method, a status code, a channel name), whose
 * hashes V8 keeps on the strings. What `/metrics` shows is what prom-client showed before.
 */

interface CountRecord {
  readonly labels: Record<string, string>
  count: number
  /** What prom-client was given so far. */
  reported: number
}

/** Adds what each record counted since the last scrape to `counter` (prom-client's `collect` hook). */
function report(counter: Counter, records: Iterable<CountRecord>): void {
  for (const record of records) {
    if (record.count === record.reported) continue
    counter.inc(record.labels, record.count - record.reported)
    record.reported = record.count
  }
}

/** One counter per registry and name, shared by whoever counts into it. */
const pairCounters = new WeakMap<Registry, Map<string, PairCounter>>()

/** A counter by two labels (e.g. a channel and an outcome): `inc` costs two Map lookups. */
export class PairCounter {
  readonly #series = new Map<string, Map<string, CountRecord>>()
  /** In the order they were made, as prom-client lists its series. */
  readonly #all: CountRecord[] = []

  static in(registry: Registry, name: string, help: string, labelNames: readonly [string, string]): PairCounter {
    let counters = pairCounters.get(registry)
    if (!counters) pairCounters.set(registry, (counters = new Map()))
    let counter = counters.get(name)
    if (!counter) counters.set(name, (counter = new PairCounter(registry, name, help, labelNames)))
    return counter
  }

  private constructor(
    registry: Registry,
    name: string,
    help: string,
    private readonly labelNames: readonly [string, string],
  ) {
    const all = this.#all
    new Counter({
      name,
      help,
      labelNames: [...labelNames],
      registers: [registry],
      collect(this: Counter) {
        report(this, all)
      },
    })
  }

  inc(first: string, second: string): void {
    let inner = this.#series.get(first)
    if (!inner) this.#series.set(first, (inner = new Map()))
    let record = inner.get(second)
    if (!record) {
      const [a, b] = this.labelNames
      inner.set(second, (record = { labels: { [a]: first, [b]: second }, count: 0, reported: 0 }))
      this.#all.push(record)
    }
    record.count++
  }
}

interface RequestRecord extends CountRecord {
  /** Answers with a known duration: the histogram's count. */
  timed: number
  sum: number
  /** Observations per bucket (not cumulative); the last one is past every bound. */
  readonly buckets: Float64Array
}

export interface RequestMetricNames {
  readonly requests: { readonly name: string; readonly help: string }
  readonly duration: { readonly name: string; readonly help: string; readonly buckets: readonly number[] }
}

/**
 * A request counter and a latency histogram by method, route and status code, exposed as
 * prom-client's `Counter` and `Histogram` expose them.
 */
export class RequestMetrics {
  /** route → method → status. */
  readonly #series = new Map<string, Map<string, Map<number, RequestRecord>>>()
  /** In the order they were made, as prom-client lists its series. */
  readonly #all: RequestRecord[] = []
  readonly #bounds: readonly number[]

  constructor(registry: Registry, names: RequestMetricNames) {
    this.#bounds = names.duration.buckets
    const all = this.#all
    new Counter({
      name: names.requests.name,
      help: names.requests.help,
      labelNames: ['method', 'route', 'status_code'],
      registers: [registry],
      collect(this: Counter) {
        report(this, all)
      },
    })
    registry.registerMetric(histogram(names.duration, all) as unknown as Metric)
  }

  /** One answer; `seconds` undefined when its start is unknown (counted, not timed). */
  record(method: string, route: string, status: number, seconds: number | undefined): void {
    let methods = this.#series.get(route)
    if (!methods) this.#series.set(route, (methods = new Map()))
    let statuses = methods.get(method)
    if (!statuses) methods.set(method, (statuses = new Map()))
    let record = statuses.get(status)
    if (!record) {
      record = {
        labels: { method, route, status_code: String(status) },
        count: 0,
        reported: 0,
        timed: 0,
        sum: 0,
        buckets: new Float64Array(this.#bounds.length + 1),
      }
      statuses.set(status, record)
      this.#all.push(record)
    }
    record.count++
    if (seconds === undefined) return
    record.timed++
    record.sum += seconds
    // Prometheus buckets are upper bounds, inclusive.
    const bounds = this.#bounds
    let index = 0
    while (index < bounds.length && seconds > (bounds[index] as number)) index++
    record.buckets[index] = (record.buckets[index] as number) + 1
  }
}

/** What prom-client's registry reads from a histogram: its name, help, type and `get()`. */
function histogram({ name, help, buckets }: RequestMetricNames['duration'], records: readonly RequestRecord[]): object {
  return {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    reset(): void {
      for (const record of records) {
        record.timed = 0
        record.sum = 0
        record.buckets.fill(0)
      }
    },
    async get() {
      const values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> = []
      for (const record of records) {
        if (record.timed === 0) continue
        let cumulative = 0
        buckets.forEach((bound, index) => {
          cumulative += record.buckets[index] as number
          values.push({ labels: { le: bound, ...record.labels }, value: cumulative, metricName: `${name}_bucket` })
        })
        values.push({ labels: { le: '+Inf', ...record.labels }, value: record.timed, metricName: `${name}_bucket` })
        values.push({ labels: { ...record.labels }, value: record.sum, metricName: `${name}_sum` })
        values.push({ labels: { ...record.labels }, value: record.timed, metricName: `${name}_count` })
      }
      return { name, help, type: 'histogram', values, aggregator: 'sum' }
    },
  }
}
