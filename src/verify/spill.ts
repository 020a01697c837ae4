/**
 * Bucket files on disk: how verify compares tables far larger than memory. Every entry (a
 * topic record's last-image candidate, a source row) is a text line whose second field (after
 * its kind) is a 128-bit digest of its (table, key); the digest picks the bucket, so one key's entries from
 * both sides land in the same bucket, and a bucket can be compared on its own.
 *
 * Level 0 takes digest bytes 0-3 modulo the bucket count; a bucket whose files turn out
 * bigger than the memory budget is split again on bytes 4-7 (and 8-11, 12-15), so the
 * budget holds whatever the table sizes and the initial estimate were.
 *
 * Lines are buffered per bucket and appended in chunks; at most `bufferBytes` are held in
 * all buffers together. Fields are tab-separated and never contain tabs or newlines
 * (callers put JSON text or base64 in them).
 */
import fs from 'node:fs';
import readline from 'node:readline';

export class BucketWriter {
  private readonly buffers: string[][];
  private readonly sizes: number[];
  private readonly flushAt: number;
  private written = 0;

  /**
   * @param files the file of each bucket
   * @param level which 4 bytes of the digest choose the bucket
   */
  constructor(private readonly files: readonly string[], private readonly level: number, bufferBytes = 32 * 1024 * 1024) {
    this.buffers = files.map(() => []);
    this.sizes = files.map(() => 0);
    this.flushAt = Math.max(4096, Math.min(256 * 1024, Math.floor(bufferBytes / Math.max(1, files.length))));
    for (const f of files) fs.writeFileSync(f, '');
  }

  /** The bucket of a digest (hex, 32 characters) at this writer's level. */
  bucketOf(digestHex: string): number {
    return bucketOf(digestHex, this.level, this.files.length);
  }

  add(digestHex: string, line: string): void {
    const b = this.bucketOf(digestHex);
    this.buffers[b]!.push(line);
    this.sizes[b]! += line.length + 1;
    if (this.sizes[b]! >= this.flushAt) this.flush(b);
  }

  get bytesWritten(): number {
    return this.written;
  }

  private flush(b: number): void {
    const lines = this.buffers[b]!;
    if (lines.length === 0) return;
    const text = `${lines.join('\n')}\n`;
    fs.appendFileSync(this.files[b]!, text);
    this.written += text.length;
    this.buffers[b] = [];
    this.sizes[b] = 0;
  }

  close(): void {
    for (let b = 0; b < this.files.length; b++) this.flush(b);
  }
}

export function bucketOf(digestHex: string, level: number, count: number): number {
  const start = (level % 4) * 8;
  return Number.parseInt(digestHex.slice(start, start + 8), 16) % count;
}

/** The lines of a file, streamed. */
export async function* readLines(file: string): AsyncGenerator<string> {
  const input = fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 1024 * 1024 });
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  try {
    for await (const line of lines) if (line !== '') yield line;
  } finally {
    lines.close();
    input.destroy();
  }
}

/** The digest of a line: its second field (the first is the line's kind). */
export function digestOfLine(line: string): string {
  const start = line.indexOf('\t') + 1;
  return line.slice(start, line.indexOf('\t', start));
}

/** Splits `file` into `files` by the lines' digests at `level`; deletes `file`. */
export async function splitFile(file: string, files: readonly string[], level: number): Promise<void> {
  const writer = new BucketWriter(files, level, 16 * 1024 * 1024);
  for await (const line of readLines(file)) writer.add(digestOfLine(line), line);
  writer.close();
  fs.rmSync(file, { force: true });
}

export function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}
