import fs from 'node:fs';
import { SyncError } from '../errors.ts';

export interface TlsFileOptions {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly rejectUnauthorized: boolean;
}

/** What node's TLS (and mysql2's `ssl`, and kafkajs' `ssl`) takes: PEM contents, not file names. */
export type TlsContents = {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized: boolean;
};

/**
 * Reads the PEM files a `tls` section names (paths are absolute after loadConfig). A file
 * that cannot be read is CONFIG_INVALID naming the option (`option` is e.g. `source.tls`),
 * read each time a connection is made, so that renewed certificates are picked up.
 */
export function readTlsFiles(tls: TlsFileOptions, option: string): TlsContents {
  const read = (name: 'ca' | 'cert' | 'key', file: string | undefined): Buffer | undefined => {
    if (file === undefined) return undefined;
    try {
      return fs.readFileSync(file);
    } catch (e) {
      throw new SyncError('CONFIG_INVALID', `${option}.${name} ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); give the path of a PEM file`, { cause: e });
    }
  };
  const ca = read('ca', tls.ca);
  const cert = read('cert', tls.cert);
  const key = read('key', tls.key);
  return { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}), rejectUnauthorized: tls.rejectUnauthorized };
}
