/** Paths into an event being reduced: spelled as `attributes.reduced` lists them, and followed. */

export type Path = (string | number)[]

export const spell = (path: readonly PropertyKey[]) =>
  path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join('') || '(root)'

export function at(root: unknown, path: Path): unknown {
  let node = root
  for (const p of path) {
    if (node === null || typeof node !== 'object') return undefined
    node = (node as Record<string | number, unknown>)[p]
  }
  return node
}
