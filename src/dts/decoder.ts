import type avsc from 'avsc';
import { SyncError } from '../errors.ts';
import { recordType } from './avro-schema.ts';
import type { DtsRecord } from './dts-record.ts';

/**
 * Reads one Kafka message value as a DTS Record. Anything that is not exactly one valid
 * Record (truncated, corrupt, trailing bytes) is DECODE_FAILED naming the byte offset.
 *
 * avsc trusts its input: a corrupt block count makes it loop or allocate for as long as
 * the count says, and an out-of-range index throws without a position. So the bytes are
 * first walked against the schema with every length checked against what is left, which
 * costs one pass and bounds the work by the input size; only then does avsc read them.
 */
export function decodeRecord(bytes: Buffer): DtsRecord {
  if (!Buffer.isBuffer(bytes)) throw new SyncError('DECODE_FAILED', 'not a DTS record: no bytes at byte offset 0');
  const walker = new Walker(bytes);
  try {
    walker.walk(recordType);
  } catch (e) {
    if (!(e instanceof WalkFailure)) throw e;
    throw new SyncError(
      'DECODE_FAILED',
      `not a DTS record: ${e.reason} at byte offset ${e.offset} (${e.path || 'Record'}) of ${bytes.length} bytes`,
    );
  }
  if (walker.pos !== bytes.length) {
    throw new SyncError(
      'DECODE_FAILED',
      `not a DTS record: ${bytes.length - walker.pos} trailing bytes at byte offset ${walker.pos} of ${bytes.length} bytes`,
    );
  }
  try {
    return recordType.fromBuffer(bytes) as DtsRecord;
  } catch (e) {
    throw new SyncError('DECODE_FAILED', `not a DTS record: ${e instanceof Error ? e.message : String(e)} at byte offset 0`, {
      cause: e,
    });
  }
}

class WalkFailure extends Error {
  readonly reason: string;
  readonly offset: number;
  readonly path: string;

  constructor(reason: string, offset: number, path: string) {
    super(reason);
    this.reason = reason;
    this.offset = offset;
    this.path = path;
  }
}

/** A bounds-checked pass over Avro binary data following an avsc type. */
class Walker {
  pos = 0;
  private readonly path: string[] = [];
  private readonly buf: Buffer;

  constructor(buf: Buffer) {
    this.buf = buf;
  }

  private fail(reason: string, offset: number): never {
    throw new WalkFailure(reason, offset, this.path.join(''));
  }

  /** A zig-zag varint of at most maxBytes bytes, as a number (exact up to 2^53). */
  private varint(maxBytes: number, what: string): number {
    const start = this.pos;
    let n = 0;
    let scale = 1;
    let count = 0;
    let b: number;
    do {
      if (this.pos >= this.buf.length) this.fail(`truncated ${what}`, start);
      if (count === maxBytes) this.fail(`${what} longer than ${maxBytes} bytes`, start);
      b = this.buf[this.pos++];
      n += (b & 0x7f) * scale;
      scale *= 128;
      count++;
    } while (b & 0x80);
    // The last byte of a full-length varint has room for only the top bits.
    if (count === maxBytes && b > (maxBytes === 5 ? 0x0f : 0x01)) this.fail(`${what} out of range`, start);
    return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
  }

  private long(what: string): number {
    return this.varint(10, what);
  }

  private skip(length: number, what: string, start: number): void {
    if (length < 0) this.fail(`negative ${what} length ${length}`, start);
    if (length > this.buf.length - this.pos) this.fail(`${what} of ${length} bytes past the end`, start);
    this.pos += length;
  }

  walk(type: avsc.Type): void {
    const start = this.pos;
    const t = type as unknown as WalkableType;
    switch (t.typeName) {
      case 'null':
        return;
      case 'boolean': {
        if (this.pos >= this.buf.length) this.fail('truncated boolean', start);
        if (this.buf[this.pos++] > 1) this.fail('boolean not 0 or 1', start);
        return;
      }
      case 'int':
        this.varint(5, 'int');
        return;
      case 'long':
      case 'abstract:long':
        this.long('long');
        return;
      case 'float':
        this.skip(4, 'float', start);
        return;
      case 'double':
        this.skip(8, 'double', start);
        return;
      case 'bytes':
      case 'string':
        this.skip(this.long(`${t.typeName} length`), t.typeName, start);
        return;
      case 'fixed':
        this.skip(t.size, 'fixed', start);
        return;
      case 'enum': {
        const index = this.long('enum index');
        if (!(index >= 0 && index < t.symbols.length)) this.fail(`enum index ${index} not in 0..${t.symbols.length - 1}`, start);
        return;
      }
      case 'union:wrapped':
      case 'union:unwrapped': {
        const index = this.long('union index');
        if (!(index >= 0 && index < t.types.length)) this.fail(`union index ${index} not in 0..${t.types.length - 1}`, start);
        this.walk(t.types[index]);
        return;
      }
      case 'record':
        for (const field of t.fields) {
          this.path.push(`.${field.name}`);
          this.walk(field.type);
          this.path.pop();
        }
        return;
      case 'array':
        this.blocks('array', (i) => {
          this.path.push(`[${i}]`);
          this.walk(t.itemsType);
          this.path.pop();
        });
        return;
      case 'map':
        this.blocks('map', (i) => {
          this.path.push(`{${i}}`);
          const keyStart = this.pos;
          this.skip(this.long('map key length'), 'map key', keyStart);
          this.walk(t.valuesType);
          this.path.pop();
        });
        return;
      default:
        throw new Error(`the decoder cannot walk Avro type ${t.typeName}`);
    }
  }

  /**
   * Array and map blocks. Every item of the DTS schema's arrays and maps takes at least
   * one byte, so a count above the bytes left is corrupt: this is what bounds the work.
   */
  private blocks(what: string, item: (index: number) => void): void {
    let index = 0;
    for (;;) {
      const start = this.pos;
      let count = this.long(`${what} block count`);
      if (count === 0) return;
      if (count < 0) {
        count = -count;
        const sizeStart = this.pos;
        const size = this.long(`${what} block size`);
        if (size < 0 || size > this.buf.length - this.pos) this.fail(`${what} block size ${size} past the end`, sizeStart);
      }
      if (count > this.buf.length - this.pos) this.fail(`${what} block of ${count} items past the end`, start);
      for (let i = 0; i < count; i++) item(index++);
    }
  }
}

/** The parts of avsc's type objects the walker reads (public getters under other names). */
interface WalkableType {
  readonly typeName: string;
  readonly size: number;
  readonly symbols: readonly string[];
  readonly types: readonly avsc.Type[];
  readonly fields: readonly { readonly name: string; readonly type: avsc.Type }[];
  readonly itemsType: avsc.Type;
  readonly valuesType: avsc.Type;
}
