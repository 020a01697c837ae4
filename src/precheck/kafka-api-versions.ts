/**
 * Asks one broker for its ApiVersions over a socket of our own. kafkajs sends the same
 * request when it connects but keeps the answer private; a raw request (with the config's
 * TLS) is small and stable. ApiVersions v0 is understood by every broker since 0.10.0 and is
 * allowed before SASL authentication, so SASL listeners answer it too. Read-only.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { ApiVersionRange } from './kafka-version.ts';

const API_VERSIONS_KEY = 18;

/** The size-prefixed ApiVersions v0 request (request header v1, empty body). Pure. */
export function encodeApiVersionsRequest(correlationId: number, clientId: string): Buffer {
  const client = Buffer.from(clientId, 'utf8');
  const body = Buffer.alloc(2 + 2 + 4 + 2 + client.length);
  body.writeInt16BE(API_VERSIONS_KEY, 0);
  body.writeInt16BE(0, 2);
  body.writeInt32BE(correlationId, 4);
  body.writeInt16BE(client.length, 8);
  client.copy(body, 10);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length, 0);
  return Buffer.concat([size, body]);
}

export interface ApiVersionsAnswer {
  readonly errorCode: number;
  readonly apis: readonly ApiVersionRange[];
}

/**
 * The ApiVersions v0 response, without its size prefix. Pure. A broker that does not know
 * the requested version answers in v0 with error 35 (UNSUPPORTED_VERSION) and its ranges.
 */
export function decodeApiVersionsResponse(frame: Buffer, correlationId: number): ApiVersionsAnswer {
  if (frame.length < 10) throw new Error(`ApiVersions response too short (${frame.length} bytes)`);
  const got = frame.readInt32BE(0);
  if (got !== correlationId) throw new Error(`ApiVersions response for request ${got}, expected ${correlationId}`);
  const errorCode = frame.readInt16BE(4);
  const count = frame.readInt32BE(6);
  if (count < 0 || frame.length < 10 + count * 6) throw new Error(`ApiVersions response truncated (${count} APIs in ${frame.length} bytes)`);
  const apis: ApiVersionRange[] = [];
  for (let i = 0; i < count; i++) {
    const at = 10 + i * 6;
    apis.push({ apiKey: frame.readInt16BE(at), minVersion: frame.readInt16BE(at + 2), maxVersion: frame.readInt16BE(at + 4) });
  }
  return { errorCode, apis };
}

export interface ProbeOptions {
  readonly host: string;
  readonly port: number;
  readonly clientId: string;
  readonly timeoutMs: number;
  /** present means TLS */
  readonly tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized: boolean };
}

/**
 * `closed`: the broker hung up without answering, which is what brokers before 0.10.0 do
 * with an API they do not know.
 */
export type ProbeResult =
  | { readonly ok: true; readonly answer: ApiVersionsAnswer }
  | { readonly ok: false; readonly reason: 'closed' | 'error' | 'timeout'; readonly message: string };

export function probeApiVersions(o: ProbeOptions): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const correlationId = 1;
    const socket = o.tls
      ? tls.connect({ host: o.host, port: o.port, ...(net.isIP(o.host) ? {} : { servername: o.host }), ...o.tls })
      : net.connect({ host: o.host, port: o.port });
    let settled = false;
    let received = Buffer.alloc(0);
    const done = (r: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ ok: false, reason: 'timeout', message: `no answer within ${o.timeoutMs} ms` }), o.timeoutMs);
    socket.once(o.tls ? 'secureConnect' : 'connect', () => socket.write(encodeApiVersionsRequest(correlationId, o.clientId)));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4) return;
      const size = received.readInt32BE(0);
      if (size < 0 || size > 1024 * 1024) {
        done({ ok: false, reason: 'error', message: `not a Kafka answer (frame size ${size}); is this a Kafka listener${o.tls ? '' : ', and not a TLS one'}?` });
        return;
      }
      if (received.length < 4 + size) return;
      try {
        done({ ok: true, answer: decodeApiVersionsResponse(received.subarray(4, 4 + size), correlationId) });
      } catch (e) {
        done({ ok: false, reason: 'error', message: (e as Error).message });
      }
    });
    socket.on('error', (e) => done({ ok: false, reason: 'error', message: e.message }));
    socket.on('close', () => done({ ok: false, reason: 'closed', message: 'the broker closed the connection without answering ApiVersions' }));
  });
}
