#!/usr/bin/env node
/**
 * Applies the folder moves of issue 22 (item 3) to a checkout, and rewrites every relative import
 * that names what moved, in src/, test/, bench/ and scripts/. Re-runnable and idempotent: on a
 * tree where the moves are done it changes nothing, and on a tree where other branches added or
 * changed importers since, it rewrites those too. Run it after a merge.
 *
 *   node scripts/dev/apply-layout-moves.mjs            apply, then format the files it changed
 *   node scripts/dev/apply-layout-moves.mjs --check    change nothing; exit 1 when something would
 *   node scripts/dev/apply-layout-moves.mjs --no-format  apply without running prettier
 *
 * Two kinds of move:
 * - FILE_MOVES: `git mv` of a whole file; the imports of the moved file itself are rewritten for
 *   its new folder, and every import of it everywhere.
 * - SYMBOL_MOVES: named exports that left one module for another. Their definitions were moved
 *   by hand (in the commit that added this script); this rewrites the importers: `import { a, b }
 *   from './old.js'` with `b` moved becomes two declarations, `export ... from` likewise, and
 *   `const { b } = await import('./old.js')` when every name it takes moved. A namespace import
 *   or a mixed dynamic import is reported for a hand edit, never guessed.
 *
 * Mentions of a moved file's path in docs and comments are listed at the end (not rewritten: a
 * sentence around a path may need more than the path changed).
 */
import { execFileSync } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { createRequire } from 'node:module'

const ROOT = execFileSync('git', ['rev-parse', '--show-toplevel'], { encoding: 'utf8' }).trim()
const require = createRequire(join(ROOT, 'package.json'))
const ts = require('typescript')

/** Whole files: [from, to], paths from the repository root. */
export const FILE_MOVES = [
  // The enriched event (contract event + canonical forms, drift keys, token key, aud class) is
  // read by storage, detection, the pipeline and the API: below all of them, beside the contract.
  ['src/storage/event-row.ts', 'src/events/event-row.ts'],
  // A refused event's stored form: written by the pipeline, typed by storage's repositories.
  ['src/pipeline/rejected-row.ts', 'src/events/rejected-row.ts'],
]

/** Named exports that moved: { from, to, names }. */
export const SYMBOL_MOVES = [
  // Topic names: the contract's, shared by the emitter, the CLI and the pipeline.
  {
    from: 'src/transport/kafka.ts',
    to: 'src/events/topics.ts',
    names: ['EVENTS_TOPIC', 'DLQ_TOPIC', 'FINDINGS_TOPIC'],
  },
  // DLQ formatting: a pipeline step (it strips raw JWTs like rejected_events).
  {
    from: 'src/transport/kafka.ts',
    to: 'src/pipeline/dlq.ts',
    names: ['dlqMessage', 'MAX_DLQ_PAYLOAD_BYTES', 'OutgoingMessage'],
  },
  // HTTP ingest's Kafka hand-off: the transport's (the pipeline no longer imports the transport).
  { from: 'src/pipeline/ingest.ts', to: 'src/transport/ingest-target.ts', names: ['kafkaTarget'] },
]

const FOLDERS = ['src', 'test', 'bench', 'scripts']
const EXTENSIONS = /\.(ts|mts|cts|js|mjs|cjs)$/
const args = new Set(process.argv.slice(2))
const CHECK = args.has('--check')
const FORMAT = !args.has('--no-format') && !CHECK

const abs = (p) => join(ROOT, p)
const repo = (p) => relative(ROOT, p).split(sep).join('/')
const changed = new Set()
const notes = []
let planned = 0

// 1. The file moves.
for (const [from, to] of FILE_MOVES) {
  const [a, b] = [abs(from), abs(to)]
  if (existsSync(a) && existsSync(b)) throw new Error(`${from} and ${to} both exist: move by hand`)
  if (!existsSync(a)) {
    if (!existsSync(b)) throw new Error(`neither ${from} nor ${to} exists`)
    continue
  }
  planned += 1
  console.log(`${CHECK ? 'would move' : 'move'} ${from} -> ${to}`)
  if (CHECK) continue
  mkdirSync(dirname(b), { recursive: true })
  try {
    execFileSync('git', ['mv', from, to], { cwd: ROOT, stdio: 'pipe' })
  } catch {
    renameSync(a, b) // not tracked by git
  }
  changed.add(b)
}
for (const { to, names } of SYMBOL_MOVES) {
  if (!existsSync(abs(to)))
    throw new Error(`${to} is missing: its hand edit (${names}) comes first`)
}

/** Where a file is now, given where it was (the moves applied, or to be applied in --check). */
const moved = new Map(FILE_MOVES.map(([f, t]) => [abs(f), abs(t)]))
const movedBack = new Map(FILE_MOVES.map(([f, t]) => [abs(t), abs(f)]))
const current = (file) => moved.get(file) ?? file

/** The source file a relative specifier names from `dir`, as it was or is (undefined: none). */
function target(dir, specifier) {
  const base = resolve(dir, specifier)
  const candidates = [
    base.replace(/\.js$/, '.ts'),
    base.replace(/\.mjs$/, '.mts'),
    base,
    `${base}.ts`,
    join(base, 'index.ts'),
  ]
  for (const c of candidates) if (moved.has(c)) return c
  return candidates.find((c) => existsSync(current(c)) && statSync(current(c)).isFile())
}

/** The specifier for `file` from `fromDir`, in the style of `was` (its extension kept). */
function specifierFor(fromDir, file, was) {
  let spec = relative(fromDir, file).split(sep).join('/')
  if (!spec.startsWith('.')) spec = `./${spec}`
  if (/\.js$/.test(was)) spec = spec.replace(/\.ts$/, '.js')
  else if (/\.mjs$/.test(was)) spec = spec.replace(/\.mts$/, '.mjs')
  else if (!/\.[cm]?[jt]s$/.test(was)) spec = spec.replace(/\.ts$/, '').replace(/\/index$/, '')
  return spec
}

function filesUnder(dir) {
  const out = []
  if (!existsSync(dir)) return out
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && !entry.name.startsWith('.'))
        out.push(...filesUnder(path))
    } else if (EXTENSIONS.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(path)
  }
  return out
}

/** The string literals of a file that name a module, with the node that holds each. */
function moduleSpecifiers(source) {
  const found = []
  const literal = (n) => (n && ts.isStringLiteralLike(n) ? n : undefined)
  const visit = (node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier)
      found.push({ node: literal(node.moduleSpecifier), decl: node })
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument))
      found.push({ node: literal(node.argument.literal) })
    else if (ts.isCallExpression(node)) {
      const c = node.expression
      const name = ts.isIdentifier(c)
        ? c.text
        : ts.isPropertyAccessExpression(c)
          ? `${c.expression.getText(source)}.${c.name.text}`
          : c.kind === ts.SyntaxKind.ImportKeyword
            ? 'import'
            : ''
      const known = ['import', 'require', 'vi.mock', 'vi.doMock', 'vi.importActual', 'vi.unmock']
      if (known.includes(name) && literal(node.arguments[0]))
        found.push({ node: literal(node.arguments[0]), call: node, callee: name })
    } else if (
      ts.isNewExpression(node) &&
      ts.isIdentifier(node.expression) &&
      node.expression.text === 'URL'
    ) {
      const [first, second] = node.arguments ?? []
      if (literal(first) && second?.getText(source) === 'import.meta.url')
        found.push({ node: literal(first) })
    }
    node.forEachChild(visit)
  }
  visit(source)
  return found.filter((f) => f.node)
}

/** The name a specifier of a named import or export takes from its module. */
const importedName = (el) => (el.propertyName ?? el.name).text

function rewrite(file) {
  const text = readFileSync(file, 'utf8')
  const kind = /\.[cm]?js$/.test(file) ? ts.ScriptKind.JS : ts.ScriptKind.TS
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, kind)
  const here = dirname(file)
  const wasHere = dirname(movedBack.get(file) ?? file)
  /** [start, end, replacement], applied from the end. */
  const edits = []

  for (const { node, decl, call, callee } of moduleSpecifiers(source)) {
    const spec = node.text
    if (!spec.startsWith('.')) continue
    // A moved file's own imports were written from its old folder: one that resolves from the new
    // folder is already rewritten (or never needed it).
    const fromHere = target(here, spec)
    const named = fromHere ?? (wasHere !== here ? target(wasHere, spec) : undefined)
    if (!named) continue
    const now = current(named)
    const newSpec = fromHere && now === named ? spec : specifierFor(here, now, spec)

    // Symbol moves out of this module.
    const moves = SYMBOL_MOVES.filter((m) => abs(m.from) === now && abs(m.to) !== file)
    const movedNames = new Set(moves.flatMap((m) => m.names))
    const destination = (name) => abs(moves.find((m) => m.names.includes(name)).to)
    const bindings = decl?.importClause?.namedBindings ?? decl?.exportClause
    const elements =
      bindings && (ts.isNamedImports(bindings) || ts.isNamedExports(bindings))
        ? bindings.elements
        : undefined

    if (decl && movedNames.size > 0) {
      if (bindings && ts.isNamespaceImport(bindings))
        notes.push(
          `${repo(file)}: 'import * as ${bindings.name.text}' from ${spec}: check by hand for ${[...movedNames]}`,
        )
      if (!decl.exportClause && ts.isExportDeclaration(decl))
        notes.push(`${repo(file)}: 'export * from ${spec}' no longer re-exports ${[...movedNames]}`)
    }
    if (elements && elements.some((el) => movedNames.has(importedName(el)))) {
      const isImport = ts.isImportDeclaration(decl)
      const typeOnly = isImport ? decl.importClause.isTypeOnly : decl.isTypeOnly
      const keep = elements.filter((el) => !movedNames.has(importedName(el)))
      const groups = new Map()
      for (const el of elements.filter((el) => movedNames.has(importedName(el)))) {
        const to = destination(importedName(el))
        groups.set(to, [...(groups.get(to) ?? []), el.getText(source)])
      }
      const keyword = isImport ? 'import' : 'export'
      const type = typeOnly ? ' type' : ''
      const quote = text[node.getStart(source)]
      const declText = (names, s) =>
        `${keyword}${type} { ${names.join(', ')} } from ${quote}${s}${quote}`
      const lines = []
      const defaultName =
        isImport && decl.importClause.name ? decl.importClause.name.text : undefined
      if (keep.length > 0 || defaultName) {
        const kept = keep.length > 0 ? `{ ${keep.map((el) => el.getText(source)).join(', ')} }` : ''
        const head = [defaultName, kept].filter(Boolean).join(', ')
        lines.push(`${keyword}${type} ${head} from ${quote}${newSpec}${quote}`)
      }
      for (const [to, names] of groups) lines.push(declText(names, specifierFor(here, to, spec)))
      edits.push([decl.getStart(source), decl.getEnd(), lines.join('\n')])
      continue
    }
    if (call && callee === 'import' && movedNames.size > 0) {
      // const { A, B } = await import('...')
      const binding =
        call.parent && ts.isAwaitExpression(call.parent) ? call.parent.parent : undefined
      const pattern =
        binding && ts.isVariableDeclaration(binding) && ts.isObjectBindingPattern(binding.name)
          ? binding.name
          : undefined
      const names =
        pattern?.elements.map((el) => (el.propertyName ?? el.name).getText(source)) ?? []
      const tos = new Set(names.filter((n) => movedNames.has(n)).map(destination))
      if (names.length > 0 && names.every((n) => movedNames.has(n)) && tos.size === 1) {
        edits.push([
          node.getStart(source) + 1,
          node.getEnd() - 1,
          specifierFor(here, [...tos][0], spec),
        ])
        continue
      }
      if (names.some((n) => movedNames.has(n)) || names.length === 0)
        notes.push(
          `${repo(file)}:${source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1}: import('${spec}') may use ${[...movedNames]}: check by hand`,
        )
    }
    if (call && callee.startsWith('vi.') && movedNames.size > 0)
      notes.push(
        `${repo(file)}: ${callee}('${spec}') mocks a module some of whose exports moved: check by hand`,
      )
    if (newSpec !== spec) edits.push([node.getStart(source) + 1, node.getEnd() - 1, newSpec])
  }
  if (edits.length === 0) return false
  let out = text
  for (const [start, end, replacement] of edits.sort((x, y) => y[0] - x[0]))
    out = out.slice(0, start) + replacement + out.slice(end)
  if (out === text) return false
  planned += 1
  console.log(`${CHECK ? 'would rewrite' : 'rewrite'} ${repo(file)} (${edits.length})`)
  if (!CHECK) {
    writeFileSync(file, out)
    changed.add(file)
  }
  return true
}

// 2. The imports, in every file of the tree (a moved file at its new place; in --check, at its old).
const files = FOLDERS.flatMap((f) => filesUnder(abs(f))).filter(
  (f) => f !== abs('scripts/dev/apply-layout-moves.mjs'),
)
for (const file of files) rewrite(file)

// 3. Formatting of what changed (an import split in two, a longer path).
if (FORMAT && changed.size > 0) {
  const list = [...changed].filter((f) => existsSync(f)).map(repo)
  execFileSync('npx', ['prettier', '--write', '--log-level', 'warn', ...list], {
    cwd: ROOT,
    stdio: 'inherit',
  })
}

// 4. What needs a look: mentions of the old paths, and imports left for a hand edit.
const oldPaths = FILE_MOVES.map(([f]) => f)
try {
  const grep = execFileSync(
    'git',
    [
      'grep',
      '-n',
      '-F',
      ...oldPaths.flatMap((p) => ['-e', p.replace(/^src\//, '')]),
      '--',
      '.',
      ':!scripts/dev/apply-layout-moves.mjs',
    ],
    { cwd: ROOT, encoding: 'utf8' },
  )
  if (grep.trim()) notes.push(`paths mentioned in text (docs, comments):\n${grep.trim()}`)
} catch {
  // git grep exits 1 when nothing matches.
}
for (const n of notes) console.log(`note: ${n}`)
console.log(CHECK ? `${planned} change(s) to make` : `${changed.size} file(s) changed`)
if (CHECK && planned > 0) process.exit(1)
