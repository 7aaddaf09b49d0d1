/**
 * The Kafka topics of the contract (docs/design/contract.md): collectors produce to the events
 * topic, the consumer sends what it refuses to the DLQ, detection publishes findings. Names only,
 * so that the emitter, the CLI and the pipeline share them without loading a Kafka client.
 */
export const EVENTS_TOPIC = 'audtrail.events.v1'
export const DLQ_TOPIC = 'audtrail.events.dlq.v1'
export const FINDINGS_TOPIC = 'audtrail.findings.v1'
