import assert from 'node:assert/strict';
import { test } from 'node:test';
import { civilFromDays, daysFromCivil, parseTemporalBytes, parseTemporalText } from '../../../src/model/temporal-text.ts';
import { classicTemporal as zongjiTemporalText } from '../../../src/source/zongji-exact-rows.ts';
import { normalizeFraction } from '../../../src/verify/canonical.ts';

const t = (negative: boolean, year: number | null, month: number | null, day: number | null, hour: number | null, minute: number | null, second: number | null, micros: number | null) =>
  ({ kind: 'temporal', negative, year, month, day, hour, minute, second, micros });

test('every temporal type as the server prints it, zero dates as zeros', () => {
  assert.deepEqual(parseTemporalText('datetime', '2024-02-29 23:59:58.5'), t(false, 2024, 2, 29, 23, 59, 58, 500000));
  assert.deepEqual(parseTemporalText('datetime', '0000-00-00 00:00:00'), t(false, 0, 0, 0, 0, 0, 0, 0));
  assert.deepEqual(parseTemporalText('datetime', '9999-12-31 23:59:59.999999'), t(false, 9999, 12, 31, 23, 59, 59, 999999));
  assert.deepEqual(parseTemporalText('date', '1000-01-01'), t(false, 1000, 1, 1, null, null, null, null));
  assert.deepEqual(parseTemporalText('year', '0000'), t(false, 0, null, null, null, null, null, null));
  assert.deepEqual(parseTemporalText('time', '-838:59:59.000001'), t(true, null, null, null, 838, 59, 59, 1));
  assert.deepEqual(parseTemporalText('time', '-00:00:01.5'), t(true, null, null, null, 0, 0, 1, 500000));
  assert.deepEqual(parseTemporalText('time', '1:02:03'), t(false, null, null, null, 1, 2, 3, 0));
  assert.deepEqual(parseTemporalText('timestamp', '2038-01-19 03:14:07.999999'), { kind: 'timestamp', epochSeconds: 2147483647, micros: 999999 });
  assert.deepEqual(parseTemporalText('timestamp', '0000-00-00 00:00:00'), { kind: 'timestamp', epochSeconds: 0, micros: 0 });
  assert.deepEqual(parseTemporalText('timestamp', '1970-01-01 00:00:01.25'), { kind: 'timestamp', epochSeconds: 1, micros: 250000 });
});

test('text of another shape is null, never a guess', () => {
  const bad: [Parameters<typeof parseTemporalText>[0], string][] = [
    ['datetime', '2024-01-01'], ['datetime', '2024-01-01 00:00:00.'], ['datetime', '2024-01-01 00:00:00.1234567'],
    ['datetime', '2024-01-01T00:00:00'], ['datetime', '2024-1-01 00:00:00'], ['date', '2024-01-01 00:00:00'],
    ['year', '24'], ['year', '20x4'], ['time', '12:00'], ['time', '12:0:00'], ['time', ':00:00'], ['time', '12:00:00.'],
    ['timestamp', 'garbage'], ['datetime', '２０２４-01-01 00:00:00'],
  ];
  for (const [type, text] of bad) assert.equal(parseTemporalText(type, text), null, `${type} ${text}`);
});

test('bytes at an offset read the same as the text', () => {
  const b = Buffer.from('xx2001-02-03 04:05:06.7yy');
  assert.deepEqual(parseTemporalBytes('datetime', b, 2, b.length - 2), parseTemporalText('datetime', '2001-02-03 04:05:06.7'));
});

test('TIMESTAMP text is UTC epoch seconds, DATETIME its components; the binlog reader\'s classic types map to them', () => {
  for (let i = 0; i < 2000; i++) {
    const y = 1970 + (i * 7) % 300, mo = 1 + (i % 12), d = 1 + (i * 13) % 28, h = (i * 5) % 24, mi = (i * 11) % 60, s = (i * 17) % 60;
    const digits = i % 3 === 0 ? '' : String(i * 4099 % 1_000_000).padStart(6, '0').slice(0, 1 + (i % 6));
    const micros = digits === '' ? 0 : Number(digits.padEnd(6, '0'));
    const text = `${String(y).padStart(4, '0')}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')} ${String(h).padStart(2, '0')}:${String(mi).padStart(2, '0')}:${String(s).padStart(2, '0')}${digits === '' ? '' : `.${digits}`}`;
    // Date.UTC is an independent reckoning of the same proleptic calendar (tests only).
    assert.deepEqual(parseTemporalText('timestamp', text), { kind: 'timestamp', epochSeconds: Date.UTC(y, mo - 1, d, h, mi, s) / 1000, micros }, text);
    assert.deepEqual(parseTemporalText('datetime', text), t(false, y, mo, d, h, mi, s, micros), text);
    assert.deepEqual(zongjiTemporalText(text, 7), parseTemporalText('timestamp', text), text);
    assert.deepEqual(zongjiTemporalText(text, 12), parseTemporalText('datetime', text), text);
  }
  assert.deepEqual(zongjiTemporalText('-1:02:03.5', 11), t(true, null, null, null, 1, 2, 3, 500000));
  assert.throws(() => zongjiTemporalText('2024-01-01', 12), /unexpected DATETIME text/);
  assert.equal(daysFromCivil(1970, 1, 1), 0);
  assert.equal(daysFromCivil(1969, 12, 31), -1);
  assert.equal(daysFromCivil(2000, 3, 1), 11017);
  for (let days = -800_000; days < 2_950_000; days += 997) {
    const c = civilFromDays(days);
    assert.equal(daysFromCivil(c.year, c.month, c.day), days);
  }
});

test('verify\'s canonical fraction comes from the same parser', () => {
  assert.equal(normalizeFraction('12:00:00.000'), '12:00:00');
  assert.equal(normalizeFraction('-838:59:59.9'), '-838:59:59.900000');
  assert.equal(normalizeFraction('2024-01-01 00:00:00.25'), '2024-01-01 00:00:00.250000');
  assert.equal(normalizeFraction('2024-01-01 00:00:00'), '2024-01-01 00:00:00');
  assert.equal(normalizeFraction('not a time.5'), 'not a time.5');
});
