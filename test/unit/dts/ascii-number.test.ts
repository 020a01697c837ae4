import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ascii from '../../../src/dts/ascii-number.ts';

test('scanDecimalBytes reads bytes exactly as scanDecimal reads the string', () => {
  const texts = ['0', '-0', '0.00', '-0.50', '12.30', '0012.30', '1234567890.12', '.5', '5.', '-', '', '1e3', '+1', '1.2.3', '12a', '-.1', '00000', '99999999999999999999.999999'];
  for (const t of texts) {
    const fromString = ascii.scanDecimal(t);
    const s = fromString ? [ascii.scannedPrecision, ascii.scannedScale] : null;
    // In the middle of other bytes, as a field in a packet.
    const b = Buffer.from(`##${t}##`, 'latin1');
    const fromBytes = ascii.scanDecimalBytes(b, 2, 2 + t.length);
    assert.equal(fromBytes, fromString, JSON.stringify(t));
    if (s) assert.deepEqual([ascii.scannedPrecision, ascii.scannedScale], s, JSON.stringify(t));
  }
});

test('digitsAt: a fixed run of digits, -1 when one is not', () => {
  const b = Buffer.from('2024-01-31 9x');
  assert.equal(ascii.digitsAt(b, 0, 4), 2024);
  assert.equal(ascii.digitsAt(b, 5, 2), 1);
  assert.equal(ascii.digitsAt(b, 8, 2), 31);
  assert.equal(ascii.digitsAt(b, 3, 2), -1);
  assert.equal(ascii.digitsAt(b, 11, 2), -1);
  assert.equal(ascii.digitsAt(b, 0, 0), 0);
});
