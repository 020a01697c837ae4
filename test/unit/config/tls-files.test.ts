/**
 * TLS files are read in one place (src/config/tls-files.ts), and every connection to the
 * source takes its TLS from sourceSsl, host-name check included (verify's copy once left it out).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isSyncError } from '../../../src/errors.ts';
import { readTlsFiles, sourceSsl, tlsContents } from '../../../src/config/tls-files.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

test('sourceSsl: the files read, and the host name checked whenever the certificate is', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tls-files-'));
  try {
    fs.writeFileSync(path.join(dir, 'ca.pem'), 'CA');
    const ca = path.join(dir, 'ca.pem');
    assert.deepEqual(sourceSsl({ enabled: true, ca, rejectUnauthorized: true }), { ca: Buffer.from('CA'), rejectUnauthorized: true, verifyIdentity: true });
    assert.deepEqual(sourceSsl({ enabled: true, rejectUnauthorized: false }), { rejectUnauthorized: false, verifyIdentity: false });
    assert.equal(sourceSsl({ enabled: false, ca, rejectUnauthorized: true }), undefined);
    assert.equal(tlsContents({ enabled: false, ca, rejectUnauthorized: true }, 'kafka.tls'), undefined);
    assert.deepEqual(tlsContents({ enabled: true, ca, rejectUnauthorized: true }, 'kafka.tls'), { ca: Buffer.from('CA'), rejectUnauthorized: true });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a file that cannot be read is CONFIG_INVALID naming the option and the file', () => {
  assert.throws(
    () => readTlsFiles({ cert: '/nonexistent/c.pem', key: '/nonexistent/k.pem', rejectUnauthorized: true }, 'kafka.tls'),
    (e: unknown) => isSyncError(e) && e.code === 'CONFIG_INVALID' && /^kafka\.tls\.cert \/nonexistent\/c\.pem cannot be read \(ENOENT\)/.test(e.message),
  );
});

test('no other module of src reads a TLS file or makes the source host-name check itself', () => {
  const offenders: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.name.endsWith('.ts') && path.relative(root, file) !== path.join('src', 'config', 'tls-files.ts')) {
        const text = fs.readFileSync(file, 'utf8');
        if (/readFileSync\([^)]*\.(ca|cert|key)\b/.test(text) || /verifyIdentity\s*:/.test(text)) offenders.push(path.relative(root, file));
      }
    }
  };
  walk(path.join(root, 'src'));
  assert.deepEqual(offenders, []);
});
