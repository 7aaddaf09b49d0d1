// Types of scripts/kafka.mjs for the TypeScript tests that import it.
export declare const KAFKA_VERSION: string
export declare class KafkaScriptError extends Error {}
export declare function ensureKafka(options?: {
  log?: (line: string) => void
}): Promise<{ started: boolean; brokers: string; ms: number }>
export declare function fetchKafka(options?: {
  log?: (line: string) => void
}): Promise<{ fetched: boolean; ms: number }>
export declare function stopKafka(options?: { log?: (line: string) => void }): Promise<void>
export declare function kafkaStatus(): Promise<unknown>
