// Equivalent mutants in files this branch may not change (src/ is owned by other branches, so no
// `// Stryker disable` comment can go next to them): each entry names one mutant by its file, its
// mutator, the source text it replaces and the replacement (and its line, where the same text
// recurs in the file: `[]`, `''`), with a one-line reason. A survived
// mutant matching an entry counts as "equivalent" in `npm run test:mutation` (scripts/mutation.mjs):
// outside the score, like an ignored one, and listed with its reason. An entry that no longer
// matches anything is reported, so that a stale reason does not linger.
//
// Each was checked by hand: made in a copy of the source and the behaviour argued (and, where a
// test could tell, none can; see docs/design/mutation.md).

/** @type {{ file: string, line?: number, mutator: string, original: string, replacement: string, reason: string }[]} */
export const EQUIVALENTS = [
  // --- rules/audited-rules (branch mut-a, run of 2026-12-08) ---
  {
    file: 'src/detection/rules/cross-audience-replay.ts',
    line: 56,
    mutator: 'LogicalOperator',
    original: "!isPresentation(row) || row.token_key === '' || row.resource_canonical === ''",
    replacement: "(!isPresentation(row) || row.token_key === '') && row.resource_canonical === ''",
    reason:
      'only a presentation has a resource (every other row still returns), and one without a token key has no token state: no other resource to compare with',
  },
  {
    file: 'src/detection/rules/cross-audience-replay.ts',
    line: 56,
    mutator: 'ConditionalExpression',
    original: "!isPresentation(row) || row.token_key === ''",
    replacement: 'false',
    reason:
      'every row but a presentation has an empty resource_canonical (the last term returns), and a presentation without a token key has no token state',
  },
  {
    file: 'src/detection/rules/cross-audience-replay.ts',
    line: 56,
    mutator: 'LogicalOperator',
    original: "!isPresentation(row) || row.token_key === ''",
    replacement: "!isPresentation(row) && row.token_key === ''",
    reason:
      'as above: the empty resource_canonical of other rows returns, a tokenless presentation has no state',
  },
  {
    file: 'src/detection/rules/cross-audience-replay.ts',
    line: 56,
    mutator: 'ConditionalExpression',
    original: "row.token_key === ''",
    replacement: 'false',
    reason:
      'a row without a token key is given no token state (engine.ts stateOf), so `others` is empty and nothing is found',
  },
  {
    file: 'src/detection/rules/cross-audience-replay.ts',
    line: 56,
    mutator: 'StringLiteral',
    original: "''",
    replacement: '"Stryker was here!"',
    reason:
      '`row.token_key === ...` or `row.resource_canonical === ...` made always false: see the entries of this line',
  },
  {
    file: 'src/detection/rules/cross-audience-replay.ts',
    line: 56,
    mutator: 'ConditionalExpression',
    original: "row.resource_canonical === ''",
    replacement: 'false',
    reason:
      "a presentation's resource is non-empty (schema) and so is its canonical form (an invalid one keeps its raw text); other rows return on the first term",
  },
  {
    file: 'src/detection/rules/cross-audience-replay.ts',
    line: 90,
    mutator: 'ConditionalExpression',
    original: 'first !== undefined',
    replacement: 'true',
    reason:
      'a presentation in token state always holds its first event id (token-state.ts keeps the first few)',
  },
  // --- end rules/audited-rules ---
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
  {
    file: 'src/detection/rules/delegation-chain-violation.ts',
    line: 53,
    mutator: 'ConditionalExpression',
    original: "typeof recordedDepth === 'number'",
    replacement: 'true',
    reason: '`Number.isInteger` right after it is false for anything but a number',
  },
  {
    file: 'src/detection/rules/delegation-chain-violation.ts',
    line: 66,
    mutator: 'ArrayDeclaration',
    original: '[]',
    replacement: '["Stryker was here"]',
    reason:
      "an unseen subject's facts (`from: 'none'`) are never compared: both checks that read them need another `from`",
  },
  {
    file: 'src/detection/rules/delegation-chain-violation.ts',
    line: 177,
    mutator: 'ConditionalExpression',
    original: "row.token_key === ''",
    replacement: 'false',
    reason:
      'a token.exchanged row always has a token key: the schema requires its token with a jti or fingerprint',
  },
  {
    file: 'src/detection/rules/delegation-chain-violation.ts',
    line: 177,
    mutator: 'StringLiteral',
    original: "''",
    replacement: '"Stryker was here!"',
    reason: '`row.token_key === ...` made always false, as above',
  },
  {
    file: 'src/detection/rules/delegation-chain-violation.ts',
    line: 184,
    mutator: 'ConditionalExpression',
    original: "facts.from !== 'none'",
    replacement: 'true',
    reason:
      "an unseen subject (`from: 'none'`) has no audience, so `facts.audience.length > 0` alone decides",
  },
  {
    file: 'src/detection/rules/delegation-chain-violation.ts',
    line: 184,
    mutator: 'StringLiteral',
    original: "'none'",
    replacement: '""',
    reason: '`facts.from !== ...` made always true, as above',
  },
  {
    file: 'src/detection/rules/delegation-chain-violation.ts',
    line: 189,
    mutator: 'ConditionalExpression',
    original: 'ctx.registry !== undefined',
    replacement: 'true',
    reason:
      'without a registry no entry allows several audiences: `every` is false for any widening (it needs one issued audience at least)',
  },
  {
    file: 'src/detection/rules/delegation-chain-violation.ts',
    line: 197,
    mutator: 'ConditionalExpression',
    original: "facts.from !== 'none'",
    replacement: 'true',
    reason:
      'an unseen subject has no scopes and no audience: nothing added is at its resource or a superset of its scopes',
  },
  {
    file: 'src/detection/rules/delegation-chain-violation.ts',
    line: 197,
    mutator: 'StringLiteral',
    original: "'none'",
    replacement: '""',
    reason: '`facts.from !== ...` made always true, as above',
  },
  {
    file: 'src/detection/rules/delegation-chain-violation.ts',
    line: 204,
    mutator: 'ArrayDeclaration',
    original: '[]',
    replacement: '["Stryker was here"]',
    reason:
      'a scope spelled "Stryker was here" in the registered set changes nothing a token carries',
  },
  {
    file: 'src/detection/rules/delegation-chain-violation.ts',
    line: 205,
    mutator: 'ArrayDeclaration',
    original: '[]',
    replacement: '["Stryker was here"]',
    reason: 'as above',
  },
  {
    file: 'src/detection/rules/delegation-chain-violation.ts',
    line: 236,
    mutator: 'ConditionalExpression',
    original: 'found.length === 0',
    replacement: 'false',
    reason: 'mapping no violation gives [] too; chainOf has no side effect',
  },
  {
    file: 'src/detection/rules/mcp-unvalidated-headers.ts',
    line: 126,
    mutator: 'ArrayDeclaration',
    original: '[row.tool_name]',
    replacement: '[]',
    reason:
      'without a batch list, `names.includes(h)` on `[tool_name]` is `h === tool_name`, which the condition also tests',
  },
  {
    file: 'src/detection/rules/mcp-unvalidated-headers.ts',
    line: 132,
    mutator: 'ConditionalExpression',
    original: "row.tool_header_name === ''",
    replacement: 'true',
    reason:
      'the branch before takes both names non-empty: here a non-empty header name means an empty body name, which the other term refuses',
  },
  {
    file: 'src/detection/rules/mcp-unvalidated-headers.ts',
    line: 166,
    mutator: 'ConditionalExpression',
    original: 'severity === undefined',
    replacement: 'false',
    reason: '`detect()` sets a severity only when it is defined: `{ severity: undefined }` is `{}`',
  },
]
