/**
 * The output format the synchronizer writes: the one place that names an implementation of
 * RecordFormat (record-format.ts). The pipeline and the full-data sync take it from here.
 */
import { dtsAvroFormat } from './dts-avro-format.ts';
import type { RecordFormat } from './record-format.ts';

export const outputFormat: RecordFormat = dtsAvroFormat;

/** outputFormat.encodeEvent, for the callers that only encode change events. */
export const encodeEvent: RecordFormat['encodeEvent'] = outputFormat.encodeEvent;
