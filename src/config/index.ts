export { configSchema, type SyncConfig } from './config-schema.ts';
export { kafkaAcks } from './kafka-acks.ts';
export { loadConfig, parseConfig } from './load-config.ts';
export { checkObjectPattern, formatObjectPattern, matchesObject, parseObjectPattern, type ObjectPattern } from './object-pattern.ts';
export { redactConfig } from './redact-config.ts';
export { topicFor } from './topic-for.ts';
