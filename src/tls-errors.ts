/**
 * Recognises a TLS failure that trying again cannot fix: the peer's certificate is not
 * trusted, not valid for the host, expired, or the port does not speak TLS at all. Both
 * clients (mysql2 and kafkajs) otherwise report it like a connection that failed, which the
 * synchronizer retries forever; these need a person to fix the config or the certificates.
 */

/** Node/OpenSSL error codes of certificate verification and of a handshake with a non-TLS port. */
const CERTIFICATE_CODES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);
const NOT_TLS_CODES = new Set(['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG', 'HANDSHAKE_NO_SSL_SUPPORT']);
/** Node's messages for the certificate codes above, and for a peer that does not speak TLS. */
const CERTIFICATE_MESSAGE = /certificate|self[- ]signed|does not match|issuer|unable to verify/i;
const NOT_TLS_MESSAGE = /wrong version number|packet length too long|unsupported protocol/i;

export interface TlsFailure {
  /** `certificate`: the peer is not trusted or not valid; `not-tls`: the port does not speak TLS (or the server does not offer it) */
  readonly kind: 'certificate' | 'not-tls';
  readonly code: string;
}

/** The TLS failure in the error or its causes (`cause`, kafkajs' `originalError`, aggregated `errors`), if any. */
export function tlsFailure(error: unknown): TlsFailure | undefined {
  const queue: unknown[] = [error];
  const seen = new Set<unknown>();
  while (queue.length > 0 && seen.size < 32) {
    const e = queue.shift();
    if (e === null || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    const x = e as { code?: unknown; cause?: unknown; originalError?: unknown; errors?: unknown };
    if (typeof x.code === 'string') {
      if (CERTIFICATE_CODES.has(x.code)) return { kind: 'certificate', code: x.code };
      if (NOT_TLS_CODES.has(x.code)) return { kind: 'not-tls', code: x.code };
      // mysql2 replaces the TLS error's code with its own; its message is node's.
      if (x.code === 'HANDSHAKE_SSL_ERROR') {
        const message = String((x as { message?: unknown }).message ?? '');
        if (CERTIFICATE_MESSAGE.test(message)) return { kind: 'certificate', code: x.code };
        if (NOT_TLS_MESSAGE.test(message)) return { kind: 'not-tls', code: x.code };
      }
    }
    queue.push(x.cause, x.originalError);
    if (Array.isArray(x.errors)) queue.push(...x.errors);
  }
  return undefined;
}

/** What to do about a TLS failure, for a `tls` section named `option` (`kafka.tls`, `source.tls`). */
export function tlsFix(failure: TlsFailure, option: string): string {
  return failure.kind === 'certificate'
    ? `set ${option}.ca to the PEM file of the CA that signed the server's certificate, and connect by a host name or address the certificate names (${option}.rejectUnauthorized: false skips the check, for tests only)`
    : `the server does not speak TLS on this port: connect to its TLS port, or turn ${option}.enabled off`;
}
