// A Stryker ignorer: leaves unmutated the prose and the test data that rule files carry next to
// their behaviour. Each ignored mutant is reported as "Ignored" with the reason.
//   - rule documentation (title, description, rationale, falsePositives, runbook, references):
//     text for people, compared byte for byte with the committed docs/rules.md
//     (test/docs/generated.test.ts), which guards drift, not behaviour (issue 31);
//   - a rule's `examples`: the rule's own test data, run by test/detection/rules.test.ts;
//     mutating them mutates the test, not the rule;
//   - a rule's `mappings` (the framework ids its findings count under): data, not behaviour of the
//     rule, and module-level, so each mutant would cost a full run of the part's tests. What they
//     do is held by test/detection/mutation-rules-mappings.test.ts, which also makes every such
//     mutant in memory (each id blanked, each list emptied, the object emptied) and checks which
//     its checks catch (docs/design/mutation.md);
//   - the seed of a rule's example event ids (`exampleEvents('<rule id>')`): test data like the
//     examples it builds;
//   - zod `.describe('...')` texts of rule parameters: documentation of the parameter;
//   - a report metric's title, description and basis (src/reports/metrics.ts): text a report shows
//     next to the figure; the figures, units and thresholds stay mutated.
import { PluginKind, declareValuePlugin } from '@stryker-mutator/api/plugin'

const PROSE_KEYS = new Set([
  'title',
  'description',
  'rationale',
  'falsePositives',
  'runbook',
  'references',
])
const RULE_FILES = /[\\/]src[\\/]detection[\\/]rules[\\/]/
/** Module-level constants of cited references (`REF`, `SENDER_REF`, `RFC9449`): prose. */
const REFERENCE_CONSTANT = /^(REF|[A-Z0-9_]+_REF|RFC\d+)$/
/** The example builders and example key material of lib/sender-constraint.ts: test data. */
const SENDER_FILE = /[\\/]rules[\\/]lib[\\/]sender-constraint\.ts$/
const SENDER_EXAMPLE_DATA = new Set([
  'JKT',
  'OTHER_JKT',
  'CERT',
  'OTHER_CERT',
  'PROOF_JTI',
  'boundToken',
  'validProof',
])
/** The report metrics' title, description and basis: the text a report shows next to a figure. */
const METRIC_FILE = /[\\/]src[\\/]reports[\\/]metrics\.ts$/
const METRIC_PROSE_KEYS = new Set(['title', 'description', 'basis'])

/** Whether `path` lies inside a rule's `examples` property. */
function inExamples(path) {
  return Boolean(
    path.findParent(
      (p) => p.isObjectProperty() && !p.node.computed && keyName(p.node) === 'examples',
    ),
  )
}

/**
 * Whether the module-level constant `declarator` is read only by the examples (directly, or
 * through other such constants): example data. Needs Babel's scope; without it, no.
 */
function exampleOnly(declarator, depth = 0) {
  if (depth > 4 || !declarator.parentPath?.parentPath?.isProgram()) return false
  const name = declarator.node.id?.name
  const binding = name === undefined ? undefined : declarator.scope?.getBinding(name)
  if (binding === undefined || binding.referencePaths.length === 0) return false
  if (declarator.parentPath.parentPath.isExportNamedDeclaration?.()) return false
  return binding.referencePaths.every((ref) => {
    if (inExamples(ref)) return true
    const owner = ref.findParent((p) => p.isVariableDeclarator())
    return owner !== null && owner !== declarator && exampleOnly(owner, depth + 1)
  })
}

function keyName(node) {
  if (node.computed) return undefined
  if (node.key.type === 'Identifier') return node.key.name
  if (node.key.type === 'StringLiteral') return node.key.value
  return undefined
}

export const proseIgnorer = {
  // Stryker calls this top-down; an ignored node's whole subtree is ignored with it.
  shouldIgnore(path) {
    const file = path.node.loc?.filename ?? path.hub?.file?.opts?.filename ?? ''
    if (METRIC_FILE.test(file)) {
      const key = path.isObjectProperty() ? keyName(path.node) : undefined
      return METRIC_PROSE_KEYS.has(key)
        ? `report prose (metric ${key}), shown to readers`
        : undefined
    }
    if (!RULE_FILES.test(file)) return undefined
    const declared =
      path.isVariableDeclarator() || path.isFunctionDeclaration() ? path.node.id?.name : undefined
    if (declared !== undefined && REFERENCE_CONSTANT.test(declared))
      return `cited references (${declared}): prose`
    if (path.isVariableDeclarator() && exampleOnly(path))
      return `example data (${declared}): read only by the rule's examples`
    if (declared !== undefined && SENDER_FILE.test(file) && SENDER_EXAMPLE_DATA.has(declared))
      return `example data (${declared}): builds the rules' examples, like example-events.ts`
    if (path.isObjectProperty()) {
      const key = keyName(path.node)
      if (key === 'examples')
        return 'a rule example is test data, run by test/detection/rules.test.ts'
      if (PROSE_KEYS.has(key)) return `prose (${key}), checked by the generated-docs comparison`
      if (key === 'mappings')
        return 'framework mappings: data, held by test/detection/mutation-rules-mappings.test.ts'
    }
    const parent = path.parentPath
    if (
      parent?.isCallExpression() &&
      parent.node.arguments.includes(path.node) &&
      parent.node.callee.type === 'Identifier' &&
      parent.node.callee.name === 'exampleEvents'
    )
      return "the seed of the examples' event ids is test data, like the examples"
    if (
      parent?.isCallExpression() &&
      parent.node.arguments.includes(path.node) &&
      parent.node.callee.type === 'MemberExpression' &&
      !parent.node.callee.computed &&
      parent.node.callee.property.name === 'describe'
    )
      return 'a parameter description (zod .describe) is documentation'
    return undefined
  },
}

export const strykerPlugins = [declareValuePlugin(PluginKind.Ignore, 'prose', proseIgnorer)]
