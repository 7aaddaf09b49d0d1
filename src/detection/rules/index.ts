/** The rule registry: every rule of the catalog, explicitly listed. */
import type { Rule } from '../rule.js'

export const RULES: readonly Rule[] = []
