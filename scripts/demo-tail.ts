/**
 * Prints the DTS records of a topic as they arrive, decoded: what `npm run demo` shows.
 *   tsx scripts/demo-tail.ts <broker> <topic> <seconds>
 */
import { Kafka, logLevel } from 'kafkajs';
import { decodeRecord } from '../src/dts/decoder.ts';
import { renderRecord } from '../src/dts/record-render.ts';

const [broker = '127.0.0.1:19092', topic = 'dts_demo', seconds = '20'] = process.argv.slice(2);
const kafka = new Kafka({ clientId: 'demo-tail', brokers: [broker], logLevel: logLevel.NOTHING });
const consumer = kafka.consumer({ groupId: `demo-tail-${process.pid}` });
await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
let n = 0;
await consumer.run({
  eachMessage: async ({ partition, message }) => {
    const r = renderRecord(decodeRecord(message.value!));
    n++;
    const cols = r.columns.map((c) => {
      const before = c.before === null ? 'NULL' : c.before;
      const after = c.after === null ? 'NULL' : c.after;
      if (r.operation === 'INSERT' || r.operation === 'INIT') return `${c.name}=${after}`;
      if (r.operation === 'DELETE') return `${c.name}=${before}`;
      return before === after ? `${c.name}=${after}` : `${c.name}=${before}→${after}`;
    });
    const what = r.ddl ?? cols.join(' ');
    console.log(`[${topic}/${partition}@${message.offset}] ${r.operation.padEnd(6)} ${r.objectName} pos ${r.sourcePosition} id ${r.id}  ${what}`);
  },
});
await new Promise((r) => setTimeout(r, Number(seconds) * 1000));
await consumer.disconnect();
console.log(`[demo] ${n} records decoded from ${topic}`);
