/**
 * The imports of the source tree, read with the TypeScript parser: every `import` and
 * `export ... from` (type-only ones too: they are dependencies of the code, if not of the built
 * JavaScript), `import()`, `require()` and `new URL('./x.js', import.meta.url)` with a literal
 * specifier. Shared by the architecture tests.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const SRC = join(ROOT, 'src')

export interface Import {
  /** The importing file (absolute). */
  from: string
  specifier: string
  /** The file it names, when relative and a file of the tree (absolute). */
  target?: string
  /** `import type`, `export type`: erased from the built JavaScript. */
  typeOnly: boolean
}

/** Every .ts file under `dir` (absolute paths, sorted). */
export function sourceFiles(dir: string): string[] {
  const out: string[] = []
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (/\.(ts|mts|cts)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(path)
    }
  }
  walk(dir)
  return out.sort()
}

/** `./x.js` from a source file is `./x.ts` (NodeNext), or a folder's index.ts. */
export function resolveSpecifier(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined
  const base = resolve(dirname(from), specifier)
  const candidates = [
    base.replace(/\.js$/, '.ts'),
    base.replace(/\.mjs$/, '.mts'),
    base,
    `${base}.ts`,
    join(base, 'index.ts'),
  ]
  return candidates.find((c) => existsSync(c) && statSync(c).isFile())
}

export function importsOf(file: string): Import[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true)
  const found: Import[] = []
  const add = (specifier: string, typeOnly: boolean) =>
    found.push({ from: file, specifier, target: resolveSpecifier(file, specifier), typeOnly })
  const literal = (node: ts.Node | undefined) =>
    node && ts.isStringLiteralLike(node) ? node.text : undefined
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause
      const typeOnly =
        !!clause?.isTypeOnly ||
        (!!clause &&
          !clause.name &&
          !!clause.namedBindings &&
          ts.isNamedImports(clause.namedBindings) &&
          clause.namedBindings.elements.length > 0 &&
          clause.namedBindings.elements.every((e) => e.isTypeOnly))
      add(literal(node.moduleSpecifier)!, typeOnly)
      return
    }
    if (ts.isExportDeclaration(node) && node.moduleSpecifier) {
      add(literal(node.moduleSpecifier)!, node.isTypeOnly)
      return
    }
    if (ts.isImportTypeNode(node)) {
      const arg = node.argument
      if (ts.isLiteralTypeNode(arg)) {
        const spec = literal(arg.literal)
        if (spec !== undefined) add(spec, true)
      }
    }
    if (ts.isCallExpression(node)) {
      const callee = node.expression
      const spec = literal(node.arguments[0])
      if (
        spec !== undefined &&
        (callee.kind === ts.SyntaxKind.ImportKeyword ||
          (ts.isIdentifier(callee) && callee.text === 'require'))
      )
        add(spec, false)
    }
    if (
      ts.isNewExpression(node) &&
      ts.isIdentifier(node.expression) &&
      node.expression.text === 'URL'
    ) {
      const [first, second] = node.arguments ?? []
      const spec = literal(first)
      if (spec?.startsWith('.') && second && second.getText(source) === 'import.meta.url')
        add(spec, false)
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return found
}

/** `src/a/b.ts` -> `a`; a file directly in src/ is its own node (`config.ts`). */
export function topLevel(file: string): string {
  const parts = relative(SRC, file).split(sep)
  return parts[0]!
}

export const rel = (file: string) => relative(ROOT, file).split(sep).join('/')
