/**
 * Loaded into the synchronizer by `npm run bench -- --probe` (node --import): counts, from
 * inside the process, what the pipeline does with the stream, and prints it to stderr at
 * exit as one `PROBE` line: the sends to the sink (records per send, time from send to
 * acknowledgement, which includes the wait behind earlier sends) and how long the binlog
 * reader was paused for backpressure. Wraps KafkaSink.prototype.send and
 * BinlogReader.prototype.pause/resume; changes nothing else.
 */
import { KafkaSink } from '../src/sink/kafka-sink.ts';
import type { SinkMessage } from '../src/sink/sink.ts';
import { BinlogReader } from '../src/source/binlog-reader.ts';

const sends: { records: number; ms: number }[] = [];
const send = KafkaSink.prototype.send;
KafkaSink.prototype.send = function (this: KafkaSink, messages: SinkMessage[]) {
  const t0 = performance.now();
  const p = send.call(this, messages);
  p.then(() => sends.push({ records: messages.length, ms: performance.now() - t0 }), () => {});
  return p;
};

let pauses = 0;
let pausedMs = 0;
let pausedAt = 0;
const pause = BinlogReader.prototype.pause;
const resume = BinlogReader.prototype.resume;
BinlogReader.prototype.pause = function (this: BinlogReader) {
  pauses++;
  if (!pausedAt) pausedAt = performance.now();
  return pause.call(this);
};
BinlogReader.prototype.resume = function (this: BinlogReader) {
  if (pausedAt) pausedMs += performance.now() - pausedAt;
  pausedAt = 0;
  return resume.call(this);
};

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
process.on('exit', () => {
  const ms = sends.map((s) => s.ms).sort((a, b) => a - b);
  const records = sends.map((s) => s.records).sort((a, b) => a - b);
  process.stderr.write(`PROBE ${sends.length} sends, records per send p50 ${quantile(records, 0.5)} max ${records.at(-1) ?? 0}, ` +
    `send to ack p50 ${quantile(ms, 0.5).toFixed(1)} ms p90 ${quantile(ms, 0.9).toFixed(1)} ms max ${(ms.at(-1) ?? 0).toFixed(1)} ms; ` +
    `reader paused ${pauses} times, ${pausedMs.toFixed(0)} ms in all\n`);
});
