import assert from 'node:assert/strict';
import { test } from 'node:test';
import kafkajs from 'kafkajs';
import pino from 'pino';
import { kafkajsLogCreator, type SinkLogger } from '../../../src/sink/kafkajs-log.ts';

const { logLevel } = kafkajs;
const PASSWORD = 'hunter2-secret';

function capture(): { logger: SinkLogger; lines: { level: string; obj: object; msg: string | undefined }[] } {
  const lines: { level: string; obj: object; msg: string | undefined }[] = [];
  const at = (level: string) => (obj: object, msg?: string) => lines.push({ level, obj, msg });
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

test('kafkajs error and warn lines go to the logger at the same level, without timestamp and stack', () => {
  const { logger, lines } = capture();
  const log = kafkajsLogCreator(logger, PASSWORD)(logLevel.WARN);
  log({ namespace: 'Connection', level: logLevel.ERROR, label: 'ERROR', log: { timestamp: 't', message: 'Connection error: boom', broker: 'b:1', stack: 'at x' } });
  log({ namespace: 'Producer', level: logLevel.WARN, label: 'WARN', log: { timestamp: 't', message: 'careful' } });
  assert.deepEqual(lines, [
    { level: 'error', obj: { component: 'kafkajs', namespace: 'Connection', broker: 'b:1' }, msg: 'Connection error: boom' },
    { level: 'warn', obj: { component: 'kafkajs', namespace: 'Producer' }, msg: 'careful' },
  ]);
});

test('the SASL password never reaches the logger, in the message or in any field', () => {
  const { logger, lines } = capture();
  const log = kafkajsLogCreator(logger, PASSWORD)(logLevel.WARN);
  log({
    namespace: 'SaslAuthenticator',
    level: logLevel.ERROR,
    label: 'ERROR',
    log: { timestamp: 't', message: `auth with ${PASSWORD} failed`, sasl: { password: PASSWORD }, password: PASSWORD, nested: { deep: [`x${PASSWORD}y`] } },
  });
  const text = JSON.stringify(lines);
  assert.ok(!text.includes(PASSWORD), text);
  assert.match(text, /auth with \*\*\* failed/);
});

test("the warning about the idempotent producer's bounded retries is a choice of the sink: debug", () => {
  const { logger, lines } = capture();
  kafkajsLogCreator(logger, undefined)(logLevel.WARN)({
    namespace: 'Producer',
    level: logLevel.WARN,
    label: 'WARN',
    log: { timestamp: 't', message: 'Limiting retries for the idempotent producer may invalidate EoS guarantees' },
  });
  assert.equal(lines[0]!.level, 'debug');
});

test("a transaction's first send retried while the broker writes the previous one's markers is the normal flow: debug", () => {
  const { logger, lines } = capture();
  const message = 'Failed to send messages: The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing';
  kafkajsLogCreator(logger, undefined)(logLevel.ERROR)({ namespace: 'Producer', level: logLevel.ERROR, label: 'ERROR', log: { timestamp: 't', message } });
  kafkajsLogCreator(logger, undefined)(logLevel.ERROR)({ namespace: 'Producer', level: logLevel.ERROR, label: 'ERROR', log: { timestamp: 't', message: 'Failed to send messages: This server is not the leader' } });
  assert.deepEqual(lines.map((l) => l.level), ['debug', 'error']);
});

test('a pino logger fits SinkLogger', () => {
  const chunks: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (s: string) => chunks.push(s) });
  const sink: SinkLogger = logger;
  kafkajsLogCreator(sink, PASSWORD)(logLevel.WARN)({ namespace: 'X', level: logLevel.WARN, label: 'WARN', log: { timestamp: 't', message: `w ${PASSWORD}` } });
  assert.equal(chunks.length, 1);
  const line = JSON.parse(chunks[0]!) as { msg: string; component: string };
  assert.equal(line.msg, 'w ***');
  assert.equal(line.component, 'kafkajs');
});
