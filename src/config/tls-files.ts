/**
 * The one reader of TLS files in the program, and the one place the source's TLS options are
 * made. Every connection (sync, its snapshot workers, the precheck, verify, consume) gets its
 * TLS from here, so that a missing file is the same message naming the option everywhere and
 * so that no connection to the source can leave out the host-name check (verify's copy once
 * did: mysql2 checks the host name only when asked).
 */
import fs from 'node:fs';
import { SyncError } from '../errors.ts';

export interface TlsFileOptions {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly rejectUnauthorized: boolean;
}

/** A config's `tls` section: the files, and whether TLS is on at all. */
export interface TlsSection extends TlsFileOptions {
  readonly enabled: boolean;
}

/** What node's TLS (and mysql2's `ssl`, and kafkajs' `ssl`) takes: PEM contents, not file names. */
export type TlsContents = {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized: boolean;
};

/** mysql2's `ssl` for the source. */
export type SourceSsl = TlsContents & {
  /**
   * mysql2 checks the server certificate's host name only with verifyIdentity (node's TLS
   * alone would, but mysql2 turns that off), so it follows rejectUnauthorized.
   */
  verifyIdentity: boolean;
};

/**
 * Reads the PEM files a `tls` section names (paths are absolute after loadConfig). A file
 * that cannot be read is CONFIG_INVALID naming the option (`option` is e.g. `source.tls`).
 * Callers read them each time they connect, so that renewed certificates are picked up.
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

/** The section's files read when TLS is on; undefined when it is off. */
export function tlsContents(tls: TlsSection, option: string): TlsContents | undefined {
  return tls.enabled ? readTlsFiles(tls, option) : undefined;
}

/** The `ssl` of every connection to the source (`source.tls`); undefined when TLS is off. */
export function sourceSsl(tls: TlsSection): SourceSsl | undefined {
  const contents = tlsContents(tls, 'source.tls');
  return contents === undefined ? undefined : { ...contents, verifyIdentity: tls.rejectUnauthorized };
}
