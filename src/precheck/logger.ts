/** The part of a pino logger the precheck uses (a pino Logger is one). */
export interface PrecheckLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const noop = (): void => {};
export const silentLogger: PrecheckLogger = { debug: noop, info: noop, warn: noop, error: noop };
