/**
 * SQL files under `sql/`, loaded by name. Templates substitute only identifiers and fragments that
 * audtrail itself builds from validated configuration (`{{db}}`, `{{on_cluster}}`, ...); values
 * always travel as ClickHouse `{name:Type}` query parameters, never by concatenation.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { STORED_EVENT_COLUMNS } from '../events/event-row.js'

/** `sql/` at the package root, from both `src/storage` and `dist/storage`. */
export const SQL_DIR = fileURLToPath(new URL('../../sql/', import.meta.url))

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/

export function quoteIdentifier(name: string): string {
  if (!IDENTIFIER.test(name)) throw new TypeError(`not a plain identifier: ${JSON.stringify(name)}`)
  return name
}

/** Replace every `{{name}}` with its value; an unknown placeholder is a programming error. */
export function renderTemplate(template: string, vars: Readonly<Record<string, string>>): string {
  return template.replace(/\{\{([A-Za-z0-9_.]+)\}\}/g, (_, name: string) => {
    const value = vars[name]
    if (value === undefined)
      throw new TypeError(`SQL template placeholder {{${name}}} has no value`)
    return value
  })
}

/** Split a file into statements at semicolons that end a line (our SQL never has one in a string). */
export function splitStatements(sql: string): string[] {
  return sql
    .split(/;[ \t]*(?:\r?\n|$)/)
    .map((s) =>
      s
        .split('\n')
        .filter((line) => !/^\s*--/.test(line))
        .join('\n')
        .trim(),
    )
    .filter((s) => s !== '')
}

const cache = new Map<string, string>()

const STORED_EVENT_LIST = STORED_EVENT_COLUMNS.join(', ')

/**
 * `sql/<folder>/<name>.sql` with `{{db}}` bound to the configured database,
 * `{{stored_event_columns}}` to the columns the API shows of an event (STORED_EVENT_COLUMNS), and
 * any other placeholder to one of `fragments`: fixed SQL chosen by the caller's code (a keyword
 * such as FINAL), never a value.
 */
export function loadSql(
  folder: 'queries' | 'rules',
  name: string,
  database: string,
  fragments: Readonly<Record<string, string>> = {},
): string {
  if (!/^[a-z0-9-]+$/.test(name))
    throw new TypeError(`not a SQL file name: ${JSON.stringify(name)}`)
  const path = `${SQL_DIR}${folder}/${name}.sql`
  let template = cache.get(path)
  if (template === undefined) {
    template = readFileSync(path, 'utf8')
    cache.set(path, template)
  }
  return renderTemplate(template, {
    ...fragments,
    db: quoteIdentifier(database),
    stored_event_columns: STORED_EVENT_LIST,
  })
    .trim()
    .replace(/;$/, '')
}

/** A named query from `sql/queries/`. */
export function loadQuery(
  name: string,
  database: string,
  fragments?: Readonly<Record<string, string>>,
): string {
  return loadSql('queries', name, database, fragments)
}
