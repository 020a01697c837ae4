// Preloaded (`node --import`) into a synchronizer started by a fault test: TCP connections to
// the addresses named in DTS_TEST_NET_REDIRECT go to others instead, e.g.
//   DTS_TEST_NET_REDIRECT=127.0.0.1:19092=127.0.0.1:41234
// so that the Kafka client reaches a broker through a test's TCP proxy while the broker's
// advertised address (what the metadata names) stays the real one. Test-only; src knows
// nothing of it.
import net from 'node:net';
import { syncBuiltinESMExports } from 'node:module';

const redirects = new Map(
  (process.env.DTS_TEST_NET_REDIRECT ?? '')
    .split(',')
    .filter(Boolean)
    .map((pair) => {
      const [from, to] = pair.split('=');
      const i = to.lastIndexOf(':');
      return [from, { host: to.slice(0, i), port: Number(to.slice(i + 1)) }];
    }),
);

const original = net.connect;

function redirected(...args) {
  const first = args[0];
  if (first !== null && typeof first === 'object' && first.port !== undefined) {
    const to = redirects.get(`${first.host ?? 'localhost'}:${first.port}`);
    if (to) args[0] = { ...first, host: to.host, port: to.port };
  } else if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    const host = typeof args[1] === 'string' ? args[1] : 'localhost';
    const to = redirects.get(`${host}:${first}`);
    if (to) {
      args[0] = to.port;
      if (typeof args[1] === 'string') args[1] = to.host;
      else args.splice(1, 0, to.host);
    }
  }
  return original.apply(this, args);
}

if (redirects.size > 0) {
  net.connect = redirected;
  net.createConnection = redirected;
  syncBuiltinESMExports();
}
