// A Stryker ignorer: leaves unmutated the prose and the test data that rule files carry next to
// their behaviour. Each ignored mutant is reported as "Ignored" with the reason.
//   - rule documentation (title, description, rationale, falsePositives, runbook, references):
//     text for people, compared byte for byte with the committed docs/rules.md
//     (test/docs/generated.test.ts), which guards drift, not behaviour (issue 31);
//   - a rule's `examples`: the rule's own test data, run by test/detection/rules.test.ts;
//     mutating them mutates the test, not the rule;
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
/** The report metrics' title, description and basis: the text a report shows next to a figure. */
const METRIC_FILE = /[\\/]src[\\/]reports[\\/]metrics\.ts$/
const METRIC_PROSE_KEYS = new Set(['title', 'description', 'basis'])

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
    if (path.isObjectProperty()) {
      const key = keyName(path.node)
      if (key === 'examples')
        return 'a rule example is test data, run by test/detection/rules.test.ts'
      if (PROSE_KEYS.has(key)) return `prose (${key}), checked by the generated-docs comparison`
    }
    const parent = path.parentPath
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
