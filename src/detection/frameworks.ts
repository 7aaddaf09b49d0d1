/** The framework ids a rule may map to: exactly those docs/spec/frameworks.md catalogs (a test checks). */
import type { Mappings } from './rule.js'

/** OWASP Top 10 Non-Human Identities Risks 2025, cited without `:2025`. */
export const OWASP_NHI = [
  'NHI1',
  'NHI2',
  'NHI3',
  'NHI4',
  'NHI5',
  'NHI6',
  'NHI7',
  'NHI8',
  'NHI9',
  'NHI10',
] as const

/** OWASP Top 10 for Agentic Applications 2026. */
export const OWASP_ASI = [
  'ASI01',
  'ASI02',
  'ASI03',
  'ASI04',
  'ASI05',
  'ASI06',
  'ASI07',
  'ASI08',
  'ASI09',
  'ASI10',
] as const

/** NIST CSF 2.0 (CSWP 29) subcategories. */
export const NIST_CSF = [
  'ID.AM-01',
  'ID.AM-02',
  'ID.AM-03',
  'ID.AM-04',
  'ID.AM-07',
  'ID.AM-08',
  'ID.RA-01',
  'ID.RA-07',
  'PR.AA-01',
  'PR.AA-02',
  'PR.AA-03',
  'PR.AA-04',
  'PR.AA-05',
  'PR.AA-06',
  'PR.PS-01',
  'PR.PS-04',
  'PR.IR-01',
  'DE.CM-01',
  'DE.CM-03',
  'DE.CM-06',
  'DE.CM-09',
  'DE.AE-02',
  'DE.AE-03',
  'DE.AE-04',
  'DE.AE-06',
  'DE.AE-07',
  'DE.AE-08',
  'RS.MA-02',
  'RS.MA-03',
] as const

/** NIST SP 800-53 Rev. 5 controls and enhancements. */
export const NIST_800_53 = [
  'AC-2',
  'AC-3',
  'AC-4',
  'AC-6',
  'AC-6(9)',
  'AC-12',
  'AC-16',
  'AC-24',
  'AU-2',
  'AU-3',
  'AU-3(1)',
  'AU-6',
  'AU-6(3)',
  'AU-10',
  'AU-11',
  'AU-12',
  'CA-7',
  'CM-2',
  'CM-6',
  'CM-8',
  'IA-2',
  'IA-4',
  'IA-5',
  'IA-5(13)',
  'IA-8',
  'IA-9',
  'IA-11',
  'IR-4',
  'IR-5',
  'SA-9',
  'SC-8',
  'SC-23',
  'SI-4',
  'SI-10',
] as const

/** NIST SP 800-207 section 2.1 tenets. */
export const NIST_800_207 = [
  'tenet-1',
  'tenet-2',
  'tenet-3',
  'tenet-4',
  'tenet-5',
  'tenet-6',
  'tenet-7',
] as const

/** MITRE ATT&CK (Enterprise) techniques the rules cite. */
export const MITRE_ATTACK: Readonly<Record<string, string>> = {
  T1078: 'Valid Accounts',
  T1528: 'Steal Application Access Token',
  'T1550.001': 'Use Alternate Authentication Material: Application Access Token',
}

/** Allowed ids per `Mappings` field. */
export const FRAMEWORK_IDS = {
  owasp_nhi: OWASP_NHI,
  owasp_asi: OWASP_ASI,
  nist_csf: NIST_CSF,
  nist_800_53: NIST_800_53,
  nist_800_207: NIST_800_207,
  mitre: Object.keys(MITRE_ATTACK),
} as const satisfies Record<keyof Mappings, readonly string[]>
