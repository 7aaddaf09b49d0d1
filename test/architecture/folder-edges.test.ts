/**
 * The folders of src/ depend on each other one way. Each top-level folder is a node, and so is
 * each file directly in src/ (`config.ts`, `errors.ts`, ...); an edge is any import between two
 * nodes (type-only ones too). The edges must be exactly ALLOWED: a new one fails this test until
 * it is added here on purpose, and one that disappears must be struck off. The graph must have no
 * cycle. docs/design/architecture.md describes the layers; a failure names each new edge with
 * the imports that make it.
 */
import { describe, expect, it } from 'vitest'
import { importsOf, rel, SRC, sourceFiles, topLevel } from './imports.js'

/**
 * From the top: cli wires everything; demo runs collectors against the API; api serves the
 * console (which reaches the API only through requests, and names the frameworks), reports,
 * exports, detection, the pipeline and storage; exports format findings (with the reports' CSV
 * cell); transport (the Kafka consumer) drives the
 * pipeline; alerting and reports read detection; the pipeline validates, runs the event rules,
 * and writes to storage; detection reads storage; storage, collectors and the root modules stand
 * on events, the contract, which stands on errors.ts alone.
 */
const ALLOWED = [
  'alerting -> detection',
  'alerting -> events',
  'alerting -> logger.ts',
  'alerting -> storage',
  'api -> config.ts',
  'api -> console',
  'api -> detection',
  'api -> errors.ts',
  'api -> events',
  'api -> exports',
  'api -> frameworks',
  'api -> integrity',
  'api -> jwt-algorithms.ts',
  'api -> logger.ts',
  'api -> metrics.ts',
  'api -> otlp',
  'api -> pipeline',
  'api -> reports',
  'api -> storage',
  'cli -> alerting',
  'cli -> api',
  'cli -> config.ts',
  'cli -> console',
  'cli -> demo',
  'cli -> detection',
  'cli -> errors.ts',
  'cli -> exports',
  'cli -> integrity',
  'cli -> logger.ts',
  'cli -> metrics.ts',
  'cli -> pipeline',
  'cli -> reports',
  'cli -> resource-registry.ts',
  'cli -> storage',
  'cli -> transport',
  'collectors -> errors.ts',
  'console -> frameworks',
  'collectors -> events',
  'collectors -> jwt-algorithms.ts',
  'config.ts -> errors.ts',
  'demo -> collectors',
  'demo -> events',
  'demo -> reports',
  'detection -> events',
  'detection -> frameworks',
  'detection -> logger.ts',
  'detection -> resource-registry.ts',
  'detection -> storage',
  'docs -> config.ts',
  'docs -> detection',
  'docs -> frameworks',
  'events -> errors.ts',
  'exports -> integrity',
  'exports -> reports',
  'exports -> storage',
  'integrity -> config.ts',
  'integrity -> errors.ts',
  'integrity -> logger.ts',
  'integrity -> reports',
  'integrity -> storage',
  'index.ts -> config.ts',
  'index.ts -> errors.ts',
  'index.ts -> events',
  'index.ts -> storage',
  'logger.ts -> events',
  'otlp -> events',
  'otlp -> pipeline',
  'pipeline -> detection',
  'pipeline -> errors.ts',
  'pipeline -> events',
  'pipeline -> integrity',
  'pipeline -> logger.ts',
  'pipeline -> resource-registry.ts',
  'pipeline -> storage',
  'reports -> detection',
  'reports -> events',
  'reports -> frameworks',
  'reports -> storage',
  'resource-registry.ts -> errors.ts',
  'resource-registry.ts -> events',
  'storage -> errors.ts',
  'storage -> events',
  'transport -> detection',
  'transport -> errors.ts',
  'transport -> events',
  'transport -> logger.ts',
  'transport -> metrics.ts',
  'transport -> pipeline',
  'transport -> resource-registry.ts',
]

/** Edge `a -> b` with, for each, the imports that make it (file and specifier). */
function folderEdges(): Map<string, string[]> {
  const edges = new Map<string, string[]>()
  for (const file of sourceFiles(SRC))
    for (const i of importsOf(file)) {
      if (!i.target?.startsWith(SRC)) continue
      const [from, to] = [topLevel(file), topLevel(i.target)]
      if (from === to) continue
      const edge = `${from} -> ${to}`
      edges.set(edge, [...(edges.get(edge) ?? []), `${rel(file)}: ${i.specifier}`])
    }
  return edges
}

/** The cycles of a graph: each strongly connected component of more than one node (or a node
 * importing itself), its nodes sorted. */
function cycles(edges: Iterable<string>): string[][] {
  const next = new Map<string, string[]>()
  for (const e of edges) {
    const [a, b] = e.split(' -> ') as [string, string]
    next.set(a, [...(next.get(a) ?? []), b])
    if (!next.has(b)) next.set(b, [])
  }
  // Tarjan's strongly connected components.
  let index = 0
  const order = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const found: string[][] = []
  const visit = (v: string) => {
    order.set(v, index)
    low.set(v, index++)
    stack.push(v)
    onStack.add(v)
    for (const w of next.get(v)!) {
      if (!order.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, order.get(w)!))
    }
    if (low.get(v) === order.get(v)) {
      const component: string[] = []
      let w: string
      do {
        w = stack.pop()!
        onStack.delete(w)
        component.push(w)
      } while (w !== v)
      if (component.length > 1 || next.get(v)!.includes(v)) found.push(component.sort())
    }
  }
  for (const v of next.keys()) if (!order.has(v)) visit(v)
  return found.sort((x, y) => x[0]!.localeCompare(y[0]!))
}

describe('the folders of src/ depend on each other one way', () => {
  const edges = folderEdges()

  it('the edges between top-level folders are exactly the allowed ones', () => {
    const found = [...edges.keys()].sort()
    const unexpected = found.filter((e) => !ALLOWED.includes(e))
    const gone = ALLOWED.filter((e) => !edges.has(e))
    // A new edge is named with the imports that make it.
    expect(Object.fromEntries(unexpected.map((e) => [e, edges.get(e)]))).toEqual({})
    expect(gone).toEqual([])
  })

  it('there is no cycle, among the edges found or the allowed ones', () => {
    expect(cycles(edges.keys())).toEqual([])
    expect(cycles(ALLOWED)).toEqual([])
  })

  it('the cycle check finds a cycle: the pipeline and the transport importing each other', () => {
    expect(cycles([...ALLOWED, 'pipeline -> transport'])).toEqual([['pipeline', 'transport']])
    expect(cycles(['a -> b', 'b -> c', 'c -> a', 'c -> d', 'd -> d'])).toEqual([
      ['a', 'b', 'c'],
      ['d'],
    ])
  })

  it('the walk sees type-only imports and the root files as nodes of their own', () => {
    expect(edges.get('transport -> pipeline')).toEqual(
      expect.arrayContaining(['src/transport/consumer.ts: ../pipeline/sink.js']),
    )
    expect(edges.has('collectors -> errors.ts')).toBe(true)
  })
})
