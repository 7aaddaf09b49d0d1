/** A small Prometheus registry: counters, gauges and histograms rendered in the text format. */

type Labels = Readonly<Record<string, string>>

interface Series {
  labels: Labels
  value: number
  /** histogram only */
  buckets?: number[]
  sum?: number
}

interface Family {
  name: string
  help: string
  type: 'counter' | 'gauge' | 'histogram'
  bounds?: readonly number[]
  series: Map<string, Series>
}

const labelKey = (labels: Labels) =>
  Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',')

const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')

function renderLabels(labels: Labels, extra?: [string, string]): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escape(v)}"`)
  if (extra) pairs.push(`${extra[0]}="${extra[1]}"`)
  return pairs.length > 0 ? `{${pairs.join(',')}}` : ''
}

export class Metrics {
  readonly #families = new Map<string, Family>()

  #family(name: string, help: string, type: Family['type'], bounds?: readonly number[]): Family {
    let family = this.#families.get(name)
    if (!family) {
      family = { name, help, type, bounds, series: new Map() }
      this.#families.set(name, family)
    }
    return family
  }

  #series(family: Family, labels: Labels): Series {
    const k = labelKey(labels)
    let s = family.series.get(k)
    if (!s) {
      s = { labels, value: 0 }
      if (family.bounds) {
        s.buckets = family.bounds.map(() => 0)
        s.sum = 0
      }
      family.series.set(k, s)
    }
    return s
  }

  counter(name: string, help: string) {
    const family = this.#family(name, help, 'counter')
    return {
      inc: (by = 1, labels: Labels = {}) => {
        this.#series(family, labels).value += by
      },
      get: (labels: Labels = {}) => family.series.get(labelKey(labels))?.value ?? 0,
    }
  }

  gauge(name: string, help: string) {
    const family = this.#family(name, help, 'gauge')
    return {
      set: (value: number, labels: Labels = {}) => {
        this.#series(family, labels).value = value
      },
      get: (labels: Labels = {}) => family.series.get(labelKey(labels))?.value ?? 0,
    }
  }

  histogram(name: string, help: string, bounds: readonly number[]) {
    const family = this.#family(name, help, 'histogram', bounds)
    return {
      observe: (value: number, labels: Labels = {}) => {
        const s = this.#series(family, labels)
        s.value += 1
        s.sum! += value
        bounds.forEach((b, i) => {
          if (value <= b) s.buckets![i]! += 1
        })
      },
    }
  }

  render(): string {
    const lines: string[] = []
    for (const f of this.#families.values()) {
      lines.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`)
      for (const s of f.series.values()) {
        if (f.type !== 'histogram') {
          lines.push(`${f.name}${renderLabels(s.labels)} ${s.value}`)
          continue
        }
        f.bounds!.forEach((b, i) =>
          lines.push(
            `${f.name}_bucket${renderLabels(s.labels, ['le', String(b)])} ${s.buckets![i]}`,
          ),
        )
        lines.push(`${f.name}_bucket${renderLabels(s.labels, ['le', '+Inf'])} ${s.value}`)
        lines.push(`${f.name}_sum${renderLabels(s.labels)} ${s.sum}`)
        lines.push(`${f.name}_count${renderLabels(s.labels)} ${s.value}`)
      }
    }
    return lines.join('\n') + '\n'
  }
}

/** The pipeline's metrics, shared by the consumer, HTTP ingest and the emitter-side spool. */
export function pipelineMetrics(metrics: Metrics) {
  return {
    consumed: metrics.counter('audtrail_events_consumed_total', 'Payloads read from Kafka or HTTP'),
    inserted: metrics.counter('audtrail_events_inserted_total', 'Events written to ClickHouse'),
    duplicates: metrics.counter(
      'audtrail_events_duplicate_total',
      'Events skipped because they were already stored',
    ),
    rejected: metrics.counter('audtrail_events_rejected_total', 'Payloads sent to the DLQ'),
    retries: metrics.counter('audtrail_sink_retries_total', 'Failed sink writes that were retried'),
    batchSeconds: metrics.histogram(
      'audtrail_batch_seconds',
      'Time to process and store one batch',
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    ),
    lag: metrics.gauge('audtrail_consumer_lag', 'Messages behind the partition end, per partition'),
  }
}

export type PipelineMetrics = ReturnType<typeof pipelineMetrics>
