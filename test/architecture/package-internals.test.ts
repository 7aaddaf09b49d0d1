/**
 * Code reaches another package only through the entry points its package.json exports: a path
 * inside an installed package (`tsx/dist/esm/api/index.mjs`, `node_modules/...`) breaks when that
 * package is rebuilt, moved or absent (a development dependency is absent where audtrail is
 * installed). Comments may name such paths; string literals of src/ may not.
 */
import { readFileSync } from 'node:fs'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import { rel, SRC, sourceFiles } from './imports.js'

const INTERNAL = /(^|\/)(node_modules|dist)\//

function internalPaths(file: string, text = readFileSync(file, 'utf8')): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true)
  const found: string[] = []
  const visit = (node: ts.Node): void => {
    if (
      (ts.isStringLiteralLike(node) || ts.isTemplateHead(node) || ts.isTemplateMiddle(node)) &&
      INTERNAL.test(node.text)
    )
      found.push(node.text)
    if (ts.isTemplateTail(node) && INTERNAL.test(node.text)) found.push(node.text)
    ts.forEachChild(node, visit)
  }
  visit(source)
  return found
}

describe('no source file reaches inside another package', () => {
  it.each(sourceFiles(SRC).map((f) => [rel(f), f] as const))('%s', (_name, file) => {
    expect(internalPaths(file)).toEqual([])
  })

  it('the check finds such a path in a string, and not in a comment', () => {
    const code = [
      '// tsx/dist/esm/api/index.mjs is where it lives today',
      "const api = join(dirname(require.resolve('tsx/package.json')), 'dist/esm/api/index.mjs')",
      'const other = `${root}/node_modules/kafkajs/index.js`',
      "const ok = import.meta.resolve('tsx/esm/api')",
    ].join('\n')
    expect(internalPaths('x.ts', code)).toEqual([
      'dist/esm/api/index.mjs',
      '/node_modules/kafkajs/index.js',
    ])
  })
})
