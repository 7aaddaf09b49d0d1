/** The committed Grafana dashboards and provisioning files, read once for the tests. */
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const PLUGIN = 'grafana-clickhouse-datasource'

export interface Target {
  refId: string
  datasource?: { type?: string; uid?: string }
  editorType?: string
  format?: number
  queryType?: string
  rawSql?: string
}

export interface Panel {
  id: number
  type: string
  title: string
  gridPos?: { h: number; w: number; x: number; y: number }
  datasource?: { type?: string; uid?: string }
  targets?: Target[]
  panels?: Panel[]
  fieldConfig?: {
    defaults?: {
      thresholds?: { mode: string; steps: { color: string; value: number | null }[] }
    }
    overrides?: {
      matcher: { id: string; options: string }
      properties: { id: string; value: unknown }[]
    }[]
  }
}

export interface Variable {
  name: string
  type: string
  datasource?: { type?: string; uid?: string }
  query?: { rawSql?: string } | string
  multi?: boolean
  includeAll?: boolean
  allValue?: string
}

export interface Dashboard {
  uid: string
  title: string
  tags: string[]
  schemaVersion: number
  time?: { from: string; to: string }
  panels: Panel[]
  templating: { list: Variable[] }
}

export function loadDashboards(): [string, Dashboard][] {
  const dir = `${ROOT}dashboards/json/`
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => [f, JSON.parse(readFileSync(`${dir}${f}`, 'utf8')) as Dashboard])
}

/** Every panel, rows' collapsed children included. */
export function allPanels(d: Dashboard): Panel[] {
  return d.panels.flatMap((p) => [p, ...(p.panels ?? [])])
}

/** Panels that query data (everything but rows). */
export function queryPanels(d: Dashboard): Panel[] {
  return allPanels(d).filter((p) => p.type !== 'row')
}

export function loadYaml<T>(path: string): T {
  return parse(readFileSync(`${ROOT}${path}`, 'utf8'), { merge: true }) as T
}

export interface DatasourceProvisioning {
  datasources: { uid: string; type: string; jsonData: { defaultDatabase?: string } }[]
}
export interface DashboardProvisioning {
  providers: { type: string; options: { path: string } }[]
}
