/**
 * Alert payloads: audtrail's own JSON, a Slack incoming-webhook message, and an OCSF 1.8.0
 * Detection Finding (class 2004). One finding in, one document out; no I/O.
 */
import { findingLinks, findingToken, type FindingLinks } from '../detection/links.js'
import type { RecordedFinding } from '../detection/findings-store.js'
import type { Severity } from '../detection/rule.js'
import { rfc3339, rfc3339Deep } from '../events/time.js'

export interface Alert {
  alert_id: string
  tenant: string
  finding_id: string
  rule_id: string
  severity: Severity
  title: string
  count: number
  first_seen: string
  last_seen: string
  keys: Readonly<Record<string, string>>
  evidence: unknown
  mappings: unknown
  /** With AUDTRAIL_PUBLIC_URL: absolute links to the finding (console page, API, rule, token). */
  links?: FindingLinks
}

/** An alert of a finding; `publicUrl` (AUDTRAIL_PUBLIC_URL) adds absolute links to it. */
export function toAlert(alertId: string, f: RecordedFinding, publicUrl?: string): Alert {
  const evidence = rfc3339Deep(JSON.parse(f.evidence)) as Record<string, unknown>
  return {
    alert_id: alertId,
    tenant: f.tenant,
    finding_id: f.finding_id,
    rule_id: f.rule_id,
    severity: f.severity,
    title: f.title,
    count: f.count,
    first_seen: rfc3339(f.first_seen),
    last_seen: rfc3339(f.last_seen),
    keys: f.keys,
    evidence,
    mappings: JSON.parse(f.mappings),
    ...(publicUrl && {
      links: findingLinks(
        { id: f.finding_id, rule_id: f.rule_id, token: findingToken(f.keys, evidence) },
        publicUrl,
      ),
    }),
  }
}

const SLACK_EMOJI: Record<Severity, string> = {
  low: ':information_source:',
  medium: ':warning:',
  high: ':rotating_light:',
  critical: ':fire:',
}

/** Slack escapes only these three in mrkdwn text; keys come from tokens and requests. */
const slackEscape = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

export function toSlack(alert: Alert): Record<string, unknown> {
  const fields = Object.entries(alert.keys).map(([k, v]) => ({
    type: 'mrkdwn',
    text: `*${slackEscape(k)}*\n\`${slackEscape(v).slice(0, 200)}\``,
  }))
  const headline = `${SLACK_EMOJI[alert.severity]} [${alert.severity.toUpperCase()}] ${slackEscape(alert.title)}`
  return {
    text: `${headline} (${alert.rule_id}, tenant ${slackEscape(alert.tenant)}, seen ${alert.count}x)`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: `${alert.title}`.slice(0, 150) } },
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `${headline}\nrule \`${alert.rule_id}\` · tenant \`${slackEscape(alert.tenant)}\` · ${alert.count} occurrence(s) · last ${alert.last_seen}`,
        },
      },
      ...(fields.length > 0 ? [{ type: 'section', fields: fields.slice(0, 10) }] : []),
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: alert.links
              ? `<${slackEscape(alert.links.console)}|Open finding ${alert.finding_id} in the console> · <${slackEscape(alert.links.self)}|API> · <${slackEscape(alert.links.rule)}|runbook>`
              : `finding \`${alert.finding_id}\``,
          },
        ],
      },
    ],
  }
}

const OCSF_SEVERITY: Record<Severity, number> = { low: 2, medium: 3, high: 4, critical: 5 }

/** OCSF Detection Finding: category 2 Findings, class 2004; Create for a first alert, else Update. */
export function toOcsf(alert: Alert): Record<string, unknown> {
  const activityId = alert.count > 1 ? 2 : 1
  const evidence = alert.evidence as { event_ids?: string[] }
  return {
    category_uid: 2,
    class_uid: 2004,
    activity_id: activityId,
    type_uid: 2004 * 100 + activityId,
    severity_id: OCSF_SEVERITY[alert.severity],
    status_id: 1,
    time: Date.parse(alert.last_seen),
    metadata: {
      version: '1.8.0',
      uid: alert.alert_id,
      product: { name: 'audtrail', vendor_name: 'audtrail' },
      tenant_uid: alert.tenant,
    },
    finding_info: {
      uid: alert.finding_id,
      title: alert.title,
      analytic: { uid: alert.rule_id, name: alert.rule_id, type_id: 1, type: 'Rule' },
      first_seen_time: Date.parse(alert.first_seen),
      last_seen_time: Date.parse(alert.last_seen),
      related_events: (evidence.event_ids ?? []).map((uid) => ({ uid })),
      ...(alert.links && { src_url: alert.links.console }),
    },
    is_alert: true,
    count: alert.count,
    observables: Object.entries(alert.keys).map(([name, value]) => ({ name, value, type_id: 99 })),
    // OCSF 1.8.0 has no aud, resource (RFC 8707) or jti attributes: they travel here.
    unmapped: { keys: alert.keys, evidence: alert.evidence, mappings: alert.mappings },
  }
}
