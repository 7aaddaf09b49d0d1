/**
 * What Grafana and its ClickHouse datasource plugin do to a panel's `rawSql` before ClickHouse sees
 * it, for exactly the variables and macros the audtrail dashboards use: the frontend interpolates
 * dashboard variables (`${name}`, `${name:percentencode}`), then the plugin's backend expands its
 * macros (grafana/clickhouse-datasource pkg/macros/macros.go). Anything else left over is an error,
 * so a dashboard that starts using another macro fails its test until this helper learns it.
 */

export interface GrafanaQueryContext {
  from: Date
  to: Date
  /** The panel interval Grafana computes from the range and the panel width. */
  intervalMs: number
  /**
   * Values of the dashboard variables: a string, or the values selected in a multi-value variable
   * (Grafana formats those as a list; "All" with a custom all value is that value, a string).
   */
  variables: Readonly<Record<string, string | readonly string[]>>
}

/** The macros this helper expands (and so the only ones the dashboards may use). */
export const SUPPORTED_MACROS = [
  'timeFilter',
  'dateFilter',
  'timeInterval',
  'interval_s',
  'fromTime',
  'toTime',
] as const

/** Grafana's `percentencode` format: RFC 3986 strict, `!'()*` encoded as well. */
function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  )
}

function interpolateVariables(sql: string, variables: GrafanaQueryContext['variables']): string {
  return sql.replace(/\$\{([A-Za-z0-9_]+)(?::([A-Za-z]+))?\}/g, (_, name: string, format) => {
    const value = variables[name]
    if (value === undefined) throw new Error(`dashboard variable \${${name}} has no value`)
    // Grafana's percentencode of several values: `{a,b}`, percent-encoded as a whole.
    if (format === 'percentencode')
      return percentEncode(typeof value === 'string' ? value : `{${value.join(',')}}`)
    if (typeof value !== 'string')
      throw new Error(
        `\${${name}}: several values need a format (grafana-macros.ts: percentencode)`,
      )
    if (format === undefined) return value
    throw new Error(`variable format :${format} is not implemented by grafana-macros.ts`)
  })
}

const seconds = (d: Date) => Math.floor(d.getTime() / 1000)
const dateTime = (d: Date) => `toDateTime(${seconds(d)})`
const date = (d: Date) => `toDate('${d.toISOString().slice(0, 10)}')`

function oneArgument(name: string, args: string[]): string {
  if (args.length !== 1 || args[0] === '')
    throw new Error(`$__${name} expects 1 argument, received ${args.length}`)
  return args[0]!
}

function expandMacro(name: string, args: string[], ctx: GrafanaQueryContext): string {
  const intervalS = Math.max(Math.floor(ctx.intervalMs / 1000), 1)
  switch (name) {
    case 'timeFilter': {
      const column = oneArgument(name, args)
      return `${column} >= ${dateTime(ctx.from)} AND ${column} <= ${dateTime(ctx.to)}`
    }
    case 'dateFilter': {
      const column = oneArgument(name, args)
      return `${column} >= ${date(ctx.from)} AND ${column} <= ${date(ctx.to)}`
    }
    case 'timeInterval':
      return `toStartOfInterval(toDateTime(${oneArgument(name, args)}), INTERVAL ${intervalS} second)`
    case 'interval_s':
      return String(intervalS)
    case 'fromTime':
      return dateTime(ctx.from)
    case 'toTime':
      return dateTime(ctx.to)
    default:
      throw new Error(`macro $__${name} is not implemented by grafana-macros.ts`)
  }
}

/** The SQL that ClickHouse receives for a panel target, as Grafana and the plugin produce it. */
export function renderGrafanaSql(rawSql: string, ctx: GrafanaQueryContext): string {
  const interpolated = interpolateVariables(rawSql, ctx.variables)
  const expanded = interpolated.replace(
    /\$__([A-Za-z_]+)(?:\(([^()]*)\))?/g,
    (_, name: string, args: string | undefined) =>
      expandMacro(name, args === undefined ? [] : args.split(',').map((a) => a.trim()), ctx),
  )
  const leftover = /\$\{?[A-Za-z_]/.exec(expanded)
  if (leftover)
    throw new Error(`unexpanded variable or macro at: ${expanded.slice(leftover.index)}`)
  return expanded
}
