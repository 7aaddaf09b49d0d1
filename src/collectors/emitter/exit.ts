/** Close emitters when the process is about to exit on its own (its event loop ran empty). */

const closers = new Set<() => Promise<void>>()
let listening = false

// `beforeExit` fires only when nothing else keeps the process alive: the emitter's timers are
// unref'd, so without this a short script would exit with its last events still in memory.
// It does not fire on signals or process.exit(): hosts call `close()` there (it is idempotent).
function onBeforeExit(): void {
  for (const close of [...closers]) void close()
}

/** Registers `close`; returns the function that unregisters it. */
export function onProcessExit(close: () => Promise<void>): () => void {
  if (!listening) {
    process.on('beforeExit', onBeforeExit)
    listening = true
  }
  closers.add(close)
  return () => {
    closers.delete(close)
  }
}
