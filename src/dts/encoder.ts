/**
 * The DTS Avro format's encoding functions under the names their callers and tests have
 * always used. The writers themselves: avro-writer.ts (buffer and primitives),
 * record-writer.ts (a DtsRecord), row-writer.ts (the fast row path), init-text-writer.ts
 * (INIT rows from text-protocol fields), record-id.ts (ids written after encoding), put
 * together in dts-avro-format.ts. New callers take the RecordFormat of output-format.ts.
 */
export { encodeEvent, encodeInitText, encodeInitTextInto, encodeRecord } from './dts-avro-format.ts';
export type { TextImage } from './record-format.ts';
