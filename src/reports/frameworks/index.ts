/** The six frameworks a compliance report covers, by id, in report order. */
import type { Framework, FrameworkId } from '../control.js'
import { mcpAuthorization } from './mcp-authorization.js'
import { nist80053 } from './nist-800-53.js'
import { nist800207 } from './nist-800-207.js'
import { nistCsf } from './nist-csf.js'
import { owaspAsi, owaspNhi } from './owasp.js'

export const FRAMEWORKS: Readonly<Record<FrameworkId, Framework>> = {
  'owasp-nhi-2025': owaspNhi,
  'owasp-asi-2026': owaspAsi,
  'nist-csf-2.0': nistCsf,
  'nist-800-53r5': nist80053,
  'nist-800-207': nist800207,
  'mcp-authorization': mcpAuthorization,
}
