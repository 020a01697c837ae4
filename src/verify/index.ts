/** `verify`: compares the synced topics with the source tables (docs/verify.md). */
export { runVerify, type VerifyOptions } from './run-verify.ts';
export { differences, renderReport, type TableReport, type VerifyReport } from './report.ts';
