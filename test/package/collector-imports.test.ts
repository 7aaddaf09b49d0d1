/**
 * A collector does not drag the server along: the engine (chdb), the ClickHouse client, Kafka,
 * Fastify, Express, oidc-provider and the MCP SDK are not dependencies of the package (optional
 * peers or development packages, docs/install.md), so no entry point a collector user imports
 * may load one unless that transport or framework is used.
 *
 * The import graph of each entry point of package.json `exports` (except `.`, the server's
 * library) is followed from its source, as Node would load the built module: every `import` and
 * `export ... from` that survives compilation (`import type` and `export type` do not; with
 * `verbatimModuleSyntax`, `import { type X }` does, as an `import {}`), and `import()` or
 * `require()` run at module load. An `import()` or `require()` inside a function is lazy: loaded
 * only when called (the Kafka transport loads kafkajs when one is created). The same walk runs on
 * the built `dist/` when it is newer than the sources (as in `npm test`, which builds first).
 */
import { builtinModules } from 'node:module'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

interface PackageJson {
  license: string
  engines: { node: string }
  exports: Record<string, string | { types: string; default: string }>
  files: string[]
  scripts: Record<string, string>
  repository?: { url: string }
  homepage?: string
  bugs?: { url: string }
  dependencies: Record<string, string>
  devDependencies: Record<string, string>
  peerDependencies?: Record<string, string>
  peerDependenciesMeta?: Record<string, { optional?: boolean }>
}
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson

/** Packages only `audtrail serve` and the other commands (or the demo) need. */
const SERVER_PEERS = [
  'chdb',
  '@clickhouse/client',
  '@clickhouse/client-common',
  'kafkajs',
  'fastify',
]
/**
 * Packages the analyst console of `serve` and `api` loads when it uses them (its assets, its
 * sign-in): optional peers too, so a host that installs them gets a matching version.
 */
const CONSOLE_PEERS = ['htmx.org', 'swagger-ui-dist', 'openid-client']
/** Packages only the demo (`audtrail demo`, `npm run demo`) needs: its AS, MCP servers and agent. */
const DEMO_ONLY = ['express', 'oidc-provider', '@modelcontextprotocol/sdk']
const SERVER_ONLY = [...SERVER_PEERS, ...CONSOLE_PEERS, ...DEMO_ONLY]

const BUILTINS = new Set(builtinModules)

/** `@scope/name/sub` -> `@scope/name`, `name/sub` -> `name`. */
function packageName(specifier: string): string {
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!
}

/** The specifiers a module loads when it is itself loaded (see the header). */
function eagerSpecifiers(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true)
  const found: string[] = []
  const literal = (node: ts.Node | undefined) =>
    node && ts.isStringLiteralLike(node) ? node.text : undefined
  const visit = (node: ts.Node, inFunction: boolean): void => {
    if (ts.isImportDeclaration(node)) {
      if (!node.importClause?.isTypeOnly) found.push(literal(node.moduleSpecifier)!)
      return
    }
    if (ts.isExportDeclaration(node)) {
      if (node.moduleSpecifier && !node.isTypeOnly) found.push(literal(node.moduleSpecifier)!)
      return
    }
    if (ts.isImportEqualsDeclaration(node)) {
      const ref = node.moduleReference
      if (!node.isTypeOnly && ts.isExternalModuleReference(ref))
        found.push(literal(ref.expression)!)
      return
    }
    if (ts.isCallExpression(node) && !inFunction) {
      const callee = node.expression
      const eager =
        callee.kind === ts.SyntaxKind.ImportKeyword ||
        (ts.isIdentifier(callee) && callee.text === 'require')
      const spec = literal(node.arguments[0])
      if (eager && spec !== undefined) found.push(spec)
    }
    const nested = inFunction || ts.isFunctionLike(node) || ts.isClassStaticBlockDeclaration(node)
    ts.forEachChild(node, (child) => visit(child, nested))
  }
  visit(source, false)
  return found
}

interface Graph {
  /** package name -> the chain of files that reaches it, entry first */
  packages: Map<string, string[]>
  files: string[]
}

/** Every module and package `entry` loads, following relative imports within the tree. */
function importGraph(entry: string): Graph {
  const packages = new Map<string, string[]>()
  const parent = new Map<string, string | undefined>([[entry, undefined]])
  const queue = [entry]
  const chain = (file: string): string[] => {
    const out: string[] = []
    for (let f: string | undefined = file; f; f = parent.get(f)) out.unshift(relative(ROOT, f))
    return out
  }
  while (queue.length > 0) {
    const file = queue.shift()!
    for (const spec of eagerSpecifiers(file)) {
      if (spec.startsWith('.')) {
        const target = resolveRelative(file, spec)
        if (!parent.has(target)) {
          parent.set(target, file)
          queue.push(target)
        }
      } else if (!spec.startsWith('node:') && !BUILTINS.has(spec)) {
        const name = packageName(spec)
        if (!packages.has(name)) packages.set(name, chain(file))
      }
    }
  }
  return { packages, files: [...parent.keys()] }
}

/** `./x.js` from a source file is `./x.ts` (NodeNext); from a built file, `./x.js`. */
function resolveRelative(from: string, spec: string): string {
  const base = resolve(dirname(from), spec)
  const candidates = from.endsWith('.ts')
    ? [base.replace(/\.js$/, '.ts'), base.replace(/\.js$/, '.tsx'), base, `${base}.ts`]
    : [base, `${base}.js`]
  const found = candidates.find((c) => existsSync(c) && statSync(c).isFile())
  if (!found) throw new Error(`${relative(ROOT, from)}: cannot resolve '${spec}'`)
  return found
}

/** The entry points of `exports` a collector user may import: all but the server library. */
const ENTRIES = Object.entries(pkg.exports)
  .filter(([subpath]) => subpath !== '.' && subpath !== './package.json')
  .map(([subpath, target]) => {
    const built = typeof target === 'string' ? target : target.default
    return {
      subpath,
      dist: join(ROOT, built),
      src: join(ROOT, built.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts')),
    }
  })

/** `package -> chain` for the packages of `graph` that a collector user does not have. */
function offending(graph: Graph): Record<string, string> {
  const allowed = new Set(Object.keys(pkg.dependencies))
  return Object.fromEntries(
    [...graph.packages]
      .filter(([name]) => !allowed.has(name) || SERVER_ONLY.includes(name))
      .map(([name, chain]) => [name, chain.join(' -> ')]),
  )
}

describe('package.json: the server and the demo are not dependencies of the collectors', () => {
  it.each(SERVER_ONLY)('%s is not a dependency, but a development dependency', (name) => {
    expect(pkg.dependencies[name]).toBeUndefined()
    // A fresh clone's `npm install` (run by `npm test` and `npm run demo`) installs it.
    expect(pkg.devDependencies[name]).toBeDefined()
  })

  it.each(SERVER_PEERS)('%s is an optional peer dependency (the CLI needs it)', (name) => {
    expect(pkg.peerDependencies?.[name]).toBeDefined()
    expect(pkg.peerDependenciesMeta?.[name]?.optional).toBe(true)
  })

  it.each(CONSOLE_PEERS)('%s is an optional peer dependency (the console loads it)', (name) => {
    expect(pkg.peerDependencies?.[name]).toBeDefined()
    expect(pkg.peerDependenciesMeta?.[name]?.optional).toBe(true)
  })

  it('the lock file lists the same optional peers as package.json', () => {
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, Pick<PackageJson, 'peerDependencies' | 'peerDependenciesMeta'>>
    }
    expect(lock.packages['']!.peerDependencies).toEqual(pkg.peerDependencies)
    expect(lock.packages['']!.peerDependenciesMeta).toEqual(pkg.peerDependenciesMeta)
  })

  it('every optional peer is also a development dependency', () => {
    for (const name of Object.keys(pkg.peerDependencies ?? {})) {
      expect(pkg.peerDependenciesMeta?.[name]?.optional, name).toBe(true)
      expect(pkg.devDependencies[name], name).toBeDefined()
    }
  })
})

describe('no collector entry point loads a server-only package', () => {
  it('the entry points are the collectors, the emitter and the events contract', () => {
    expect(ENTRIES.map((e) => e.subpath).sort()).toEqual(
      expect.arrayContaining([
        './collectors/as',
        './collectors/express',
        './collectors/fastify',
        './collectors/oidc-provider',
        './emitter',
        './events',
      ]),
    )
  })

  it.each(ENTRIES.map((e) => [e.subpath, e] as const))(
    'audtrail%s (source) loads only packages of `dependencies`',
    (_subpath, entry) => {
      const graph = importGraph(entry.src)
      expect(graph.files.length).toBeGreaterThan(0)
      expect(offending(graph)).toEqual({})
    },
  )

  it.for(ENTRIES.map((e) => [e.subpath, e] as const))(
    'audtrail%s (built, when dist/ is newer than src/) loads only packages of `dependencies`',
    ([, entry], ctx) => {
      if (!existsSync(entry.dist)) return ctx.skip()
      const graph = importGraph(entry.dist)
      const stale = graph.files.some((file) => {
        const source = file.replace(/[\\/]dist[\\/]/, '/src/').replace(/\.js$/, '.ts')
        return existsSync(source) && statSync(source).mtimeMs > statSync(file).mtimeMs
      })
      if (stale) return ctx.skip()
      expect(offending(graph)).toEqual({})
    },
  )

  it('the walk finds the server packages where they are: the CLI loads chdb, kafkajs, fastify', () => {
    const cli = importGraph(join(ROOT, 'src/cli/main.ts')).packages
    for (const name of ['chdb', '@clickhouse/client', 'kafkajs', 'fastify'])
      expect(cli.has(name), name).toBe(true)
  })

  it('the walk counts what loads at module load and skips what is typed or lazy', () => {
    const dir = mkdtempSync(join(tmpdir(), 'audtrail-imports-'))
    try {
      writeFileSync(join(dir, 'entry.ts'), "import { b } from './b.js'\nexport const a = b\n")
      writeFileSync(
        join(dir, 'b.ts'),
        [
          "import type { Kafka } from 'kafkajs'",
          "import { type Provider } from 'oidc-provider'", // kept by verbatimModuleSyntax
          "export type { Express } from 'express'",
          "export { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'",
          "import { readFile } from 'node:fs/promises'",
          "import { createHash } from 'crypto'",
          "const engine = await import('chdb')",
          'export async function lazy() {',
          "  return import('@clickhouse/client')",
          '}',
          'export const b: Kafka | Provider | undefined = undefined ?? (engine, readFile, createHash, undefined)',
        ].join('\n'),
      )
      const { packages } = importGraph(join(dir, 'entry.ts'))
      expect([...packages.keys()].sort()).toEqual([
        '@modelcontextprotocol/sdk',
        'chdb',
        'oidc-provider',
      ])
      expect(packages.get('chdb')?.map((f) => f.split('/').pop())).toEqual(['entry.ts', 'b.ts'])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('the Kafka transport loads kafkajs only when created', () => {
  it('its default topic is the contract topic of src/events/topics.ts', async () => {
    const { DEFAULT_TOPIC } = await import('../../src/collectors/emitter/index.js')
    const { EVENTS_TOPIC } = await import('../../src/events/topics.js')
    expect(DEFAULT_TOPIC).toBe(EVENTS_TOPIC)
  })
})

describe('package hygiene', () => {
  it('LICENSE is the Apache License 2.0 text that package.json names', () => {
    expect(pkg.license).toBe('Apache-2.0')
    const license = readFileSync(join(ROOT, 'LICENSE'), 'utf8')
    expect(license).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004\s/)
    expect(license).toContain('END OF TERMS AND CONDITIONS')
    expect(license).toContain('9. Accepting Warranty or Additional Liability.')
  })

  it('names the project: repository, homepage, bugs', () => {
    expect(pkg.repository?.url).toMatch(/github\.com\/audtrail\/audtrail/)
    expect(pkg.homepage).toMatch(/^https:\/\/github\.com\/audtrail\/audtrail/)
    expect(pkg.bugs?.url).toBe('https://github.com/audtrail/audtrail/issues')
  })

  it('ships the docs the README links to, and builds when packed, not when installed', () => {
    expect(pkg.files).toEqual(expect.arrayContaining(['bin', 'dist', 'sql', 'schemas', 'docs']))
    expect(pkg.scripts.prepare).toBeUndefined()
    expect(pkg.scripts.prepack).toBe('npm run build')
    expect(pkg.scripts.build).toMatch(/tsc -p tsconfig\.build\.json/)
  })

  it('states the Node versions it runs on', () => {
    expect(pkg.engines.node).toBe('>=20.19')
  })
})
