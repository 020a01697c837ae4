import type { SyncConfig } from './config-schema.ts';

const SECRET_KEY = /password|secret|token/i;

function redact(value: unknown): unknown {
  if (Array.isArray(value)) return Object.freeze(value.map(redact));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] = SECRET_KEY.test(key) && item !== undefined ? '***' : redact(item);
    }
    return Object.freeze(out);
  }
  return value;
}

/**
 * A frozen copy of the config with every password (any key named like password, secret or
 * token, at any depth) replaced by `***`: what the start-up log line may show.
 */
export function redactConfig(config: SyncConfig): SyncConfig {
  return redact(config) as SyncConfig;
}
