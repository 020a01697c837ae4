#!/usr/bin/env node
// Waits until the Kafka broker on 127.0.0.1:<port> answers a metadata request, i.e. until
// kafkajs's admin.describeCluster() succeeds, lists that broker, and names a controller.
// A TCP connect alone is not enough: both Kafka 1.0 and 3.9 open their port before they can serve.
//
//   node scripts/kafka/wait-ready.mjs <port> [timeoutSec=30]
//
// Exit 0 when ready (prints nothing), 1 on timeout (prints the last error to stderr), 2 on bad usage.
// Used by scripts/lab.d/kafka.sh; kafkajs's own logging is silenced.
import kafkajs from 'kafkajs';

const { Kafka, logLevel } = kafkajs;

const port = Number(process.argv[2]);
const timeoutSec = process.argv[3] === undefined ? 30 : Number(process.argv[3]);
if (!Number.isInteger(port) || port <= 0 || port > 65535 || !(timeoutSec >= 0)) {
  process.stderr.write('usage: wait-ready.mjs <port> [timeoutSec]\n');
  process.exit(2);
}

const kafka = new Kafka({
  clientId: 'lab-wait-ready',
  brokers: [`127.0.0.1:${port}`],
  logLevel: logLevel.NOTHING,
  connectionTimeout: 1000,
  requestTimeout: 2000,
  retry: { retries: 0 },
});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const deadline = Date.now() + timeoutSec * 1000;
let lastError = 'no attempt made';

for (;;) {
  const admin = kafka.admin({ retry: { retries: 0 } });
  try {
    await admin.connect();
    const { brokers, controller } = await admin.describeCluster();
    if (!brokers.some((b) => b.port === port)) {
      lastError = `metadata lists no broker on port ${port} (got ${JSON.stringify(brokers)})`;
    } else if (controller === null) {
      lastError = 'metadata names no controller yet';
    } else {
      await admin.disconnect().catch(() => {});
      process.exit(0);
    }
  } catch (err) {
    lastError = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  }
  await admin.disconnect().catch(() => {});
  if (Date.now() >= deadline) break;
  await sleep(Math.min(500, Math.max(0, deadline - Date.now())));
}

process.stderr.write(`kafka on 127.0.0.1:${port} not ready: ${lastError}\n`);
process.exit(1);
