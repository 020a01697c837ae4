/**
 * The sink's CRC-32C (src/sink/crc32c.ts) against published vectors and against kafkajs' own
 * byte-at-a-time implementation, at every alignment and length around the 16-byte steps and
 * the word-read threshold.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { crc32c, crc32cIsNative, crc32cJs } from '../../../src/sink/crc32c.ts';

const require = createRequire(import.meta.url);
const kafkajsCrc32c = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (buf: Buffer) => number;

test('known values: the CRC-32C check value and the RFC 3720 (iSCSI) vectors', () => {
  assert.equal(crc32c(Buffer.from('123456789', 'latin1')), 0xe3069283);
  assert.equal(crc32c(Buffer.alloc(0)), 0);
  // RFC 3720, appendix B.4: 32 bytes of zeros, of ones, ascending, descending.
  assert.equal(crc32c(Buffer.alloc(32, 0x00)), 0x8a9136aa);
  assert.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
  assert.equal(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i))), 0x46dd794e);
  assert.equal(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i))), 0x113fdb5c);
  // RFC 3720, B.4: an iSCSI SCSI Read (10) command PDU.
  const pdu = Buffer.from(
    '01c00000000000000000000000000000' + '14000000000004000000001400000018' + '28000000000000000200000000000000',
    'hex',
  );
  assert.equal(crc32c(pdu), 0xd9963a56);
});

test('same as kafkajs at every offset and length around the step sizes', () => {
  const buf = Buffer.alloc(4096 + 64);
  for (let i = 0; i < buf.length; i++) buf[i] = (i * 2654435761) >>> 24;
  for (let start = 0; start < 20; start++) {
    for (const length of [0, 1, 3, 4, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 66, 79, 80, 81, 127, 128, 129, 200, 1000, 4096]) {
      const part = buf.subarray(start, start + length);
      const want = kafkajsCrc32c(part);
      assert.equal(crc32c(buf, start, start + length), want, `start ${start} length ${length}`);
      assert.equal(crc32c(part), want, `view at ${start}, length ${length}`);
    }
  }
});

test('a checksum taken in pieces equals the whole', () => {
  const buf = Buffer.alloc(10_000);
  for (let i = 0; i < buf.length; i++) buf[i] = (i * 7 + (i >> 5)) & 0xff;
  const whole = crc32c(buf);
  for (const cut of [0, 1, 13, 64, 5000, 9999, 10_000]) {
    assert.equal(crc32c(buf, cut, buf.length, crc32c(buf, 0, cut)), whole, `cut at ${cut}`);
  }
  assert.equal(whole, kafkajsCrc32c(buf));
});

test('the native CRC-32C (@node-rs/crc32) loads on this platform, and the JS one gives the same values', () => {
  // linux-x64 (CI, the lab) has a build; a platform without one takes the JS path.
  if (process.platform === 'linux' && process.arch === 'x64') assert.ok(crc32cIsNative, 'native CRC-32C not loaded');
  const buf = Buffer.alloc(70_000);
  for (let i = 0; i < buf.length; i++) buf[i] = (i * 2654435761) >>> 23;
  for (const [start, end] of [[0, 70_000], [3, 69_999], [21, 300], [255, 511], [1, 257], [0, 0], [5, 6]] as const) {
    const want = kafkajsCrc32c(buf.subarray(start, end));
    assert.equal(crc32c(buf, start, end), want, `[${start}, ${end})`);
    assert.equal(crc32cJs(buf, start, end), want, `JS [${start}, ${end})`);
    // Continued from an earlier piece, on either path.
    const mid = (start + end) >> 1;
    assert.equal(crc32c(buf, mid, end, crc32cJs(buf, start, mid)), want, `continued [${start}, ${end})`);
    assert.equal(crc32cJs(buf, mid, end, crc32c(buf, start, mid)), want, `continued in JS [${start}, ${end})`);
  }
  // A Uint8Array view into a larger buffer, not a Buffer.
  const view = new Uint8Array(buf.buffer, buf.byteOffset + 1000, 5000);
  assert.equal(crc32c(view), kafkajsCrc32c(buf.subarray(1000, 6000)));
});
