// Equivalent mutants in files this branch may not change (src/ is owned by other branches, so no
// `// Stryker disable` comment can go next to them): each entry names one mutant by its file, its
// mutator, the source text it replaces and the replacement, with a one-line reason. A survived
// mutant matching an entry counts as "equivalent" in `npm run test:mutation` (scripts/mutation.mjs):
// outside the score, like an ignored one, and listed with its reason. An entry that no longer
// matches anything is reported, so that a stale reason does not linger.
//
// Each was checked by hand: made in a copy of the source and the behaviour argued (and, where a
// test could tell, none can; see docs/design/mutation.md).

/** @type {{ file: string, mutator: string, original: string, replacement: string, reason: string }[]} */
export const EQUIVALENTS = []
