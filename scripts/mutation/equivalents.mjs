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
export const EQUIVALENTS = [
  {
    file: 'src/detection/rules/dpop-htu-mismatch.ts',
    mutator: 'BlockStatement',
    original: '{\n    return undefined\n  }',
    replacement: '{}',
    reason: '`parts()`: an empty catch block also returns undefined',
  },
  {
    file: 'src/detection/rules/dpop-htu-mismatch.ts',
    mutator: 'ConditionalExpression',
    original: "resource.path !== ''",
    replacement: 'true',
    reason:
      "`elsewhere()`: with an empty resource path the `startsWith('/')` test that follows holds for every non-empty htu path, and an empty one equals the resource's",
  },
  {
    file: 'src/detection/rules/dpop-htu-mismatch.ts',
    mutator: 'StringLiteral',
    original: "''",
    replacement: '"Stryker was here!"',
    reason: '`elsewhere()`: `resource.path !== ...` made always true, as above',
  },
  {
    file: 'src/detection/rules/mcp-tool-header-mismatch.ts',
    mutator: 'ConditionalExpression',
    original: '!isPresentation(row)',
    replacement: 'false',
    reason: 'only a presentation row carries tool fields (event-row.ts): no other row can mismatch',
  },
  {
    file: 'src/detection/rules/mcp-tool-header-mismatch.ts',
    mutator: 'ArrayDeclaration',
    original: '[row.tool_name]',
    replacement: '[]',
    reason:
      'without a batch list, `names.includes(h)` on `[tool_name]` is `h === tool_name`, which the condition also tests',
  },
  {
    file: 'src/detection/rules/proof-key-mismatch.ts',
    mutator: 'ConditionalExpression',
    original: '!isPresentation(row)',
    replacement: 'false',
    reason: 'only a presentation row carries proof facts (event-row.ts): no other row can mismatch',
  },
  {
    file: 'src/detection/rules/scope-not-valid-for-resource.ts',
    mutator: 'ConditionalExpression',
    original: 'minted.scopes.length === 0',
    replacement: 'false',
    reason:
      'a token granted no scope has no invalid scope either: the filter further down returns []',
  },
  {
    file: 'src/detection/rules/overbroad-audience.ts',
    mutator: 'ConditionalExpression',
    original: "row.issuer !== ''",
    replacement: 'true',
    reason:
      "`judge()`: with no issuer, compareResources(aud, '') is 'different' for every aud the schema allows (never empty)",
  },
  {
    file: 'src/detection/rules/overbroad-audience.ts',
    mutator: 'StringLiteral',
    original: "''",
    replacement: '"Stryker was here!"',
    reason: '`judge()`: `row.issuer !== ...` made always true, as above',
  },
]
