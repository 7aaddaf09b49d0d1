/** MITRE ATT&CK (Enterprise) techniques the rules cite: not a report framework (docs/spec/frameworks.md). */
import { defineFramework } from './framework.js'

export default defineFramework({
  id: 'mitre-attack',
  title: 'MITRE ATT&CK',
  order: 70,
  label: 'MITRE ATT&CK, Enterprise techniques',
  source: {
    title: 'MITRE ATT&CK, Enterprise techniques',
    publisher: 'The MITRE Corporation',
    url: 'https://attack.mitre.org/',
  },
  mapping: { key: 'mitre', label: 'MITRE ATT&CK' },
  ids: {
    T1078: 'Valid Accounts',
    T1528: 'Steal Application Access Token',
    'T1550.001': 'Use Alternate Authentication Material: Application Access Token',
  },
})
