// The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2) that a TCP load balancer
// sends first on each connection to a listener with `proxyProtocol: true`: it names the real client, so
// logs, channel limits and sign-in throttles see the client's address, not the balancer's. The header is
// framed here (bounded: 107 octets for version 1, 16 plus at most 4096 for version 2) and parsed by
// proxy-protocol-js; what the client sent after it is put back on the socket for the module (or the TLS
// handshake) to read. A connection without a valid header is closed: on such a listener anybody able to
// connect directly could otherwise claim any address.
import { isIP, type Socket } from 'node:net';
import { Command, INETProtocol, IPv4ProxyAddress, IPv6ProxyAddress, V1ProxyProtocol, V2ProxyProtocol } from 'proxy-protocol-js';

/** The client the balancer speaks for; null for a LOCAL (health check) or UNKNOWN connection: use the socket's own address. */
export type ProxiedClient = { readonly address: string; readonly port: number } | null;

export class ProxyHeaderError extends Error {}

const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
const V1_MAX = 107; // section 2.1: the longest version 1 line, CRLF included
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V2_MAX_BODY = 4096;

/** Where the header ends in `buf`: its length, 0 when more octets are needed; throws when it is not one. */
export function headerLength(buf: Buffer): number {
  const v1 = buf.subarray(0, V1_PREFIX.length).equals(V1_PREFIX.subarray(0, Math.min(buf.length, V1_PREFIX.length)));
  if (v1) {
    const crlf = buf.indexOf('\r\n', 0, 'latin1');
    if (crlf >= 0 && crlf + 2 <= V1_MAX) return crlf + 2;
    if (buf.length >= V1_MAX) throw new ProxyHeaderError('a PROXY version 1 line longer than 107 octets');
    return 0;
  }
  const v2 = buf.subarray(0, V2_SIGNATURE.length).equals(V2_SIGNATURE.subarray(0, Math.min(buf.length, V2_SIGNATURE.length)));
  if (!v2) throw new ProxyHeaderError('no PROXY protocol header (is the listener behind a balancer that sends one?)');
  if (buf.length < 16) return 0;
  const body = buf.readUInt16BE(14);
  if (body > V2_MAX_BODY) throw new ProxyHeaderError(`a PROXY version 2 header of ${body} octets (at most ${V2_MAX_BODY} are read)`);
  return buf.length >= 16 + body ? 16 + body : 0;
}

function ipv6Text(bytes: readonly number[]): string {
  // an IPv4 client behind an IPv6 balancer (::ffff:a.b.c.d) is that IPv4 address, as version 1 says it
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.slice(12).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  // the shortest form, as Node writes addresses (RFC 5952): the longest run of zero groups becomes "::"
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLength) {
      best = i;
      bestLength = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLength).join(':')}`;
}

/** The client a complete header names. */
export function parseHeader(header: Buffer): ProxiedClient {
  try {
    if (header[0] === 0x50 /* P */) {
      const text = header.toString('latin1');
      if (text.startsWith('PROXY UNKNOWN')) return null; // section 2.1: the balancer does not know the client
      const p = V1ProxyProtocol.parse(text);
      if (isIP(p.source.ipAddress) !== (p.inetProtocol === INETProtocol.TCP6 ? 6 : 4))
        throw new ProxyHeaderError(`a PROXY line with a bad source address: ${JSON.stringify(p.source.ipAddress)}`);
      if (!(p.source.port >= 0 && p.source.port <= 65535))
        throw new ProxyHeaderError(`a PROXY line with a bad source port: ${p.source.port}`);
      return { address: p.source.ipAddress, port: p.source.port };
    }
    const p = V2ProxyProtocol.parse(new Uint8Array(header));
    if (p.command === Command.LOCAL) return null;
    const a = p.proxyAddress;
    if (a instanceof IPv4ProxyAddress) return { address: a.sourceAddress.address.join('.'), port: a.sourcePort };
    if (a instanceof IPv6ProxyAddress) return { address: ipv6Text(a.sourceAddress.address), port: a.sourcePort };
    return null; // a unix socket or unspecified address: nothing better than the balancer's own
  } catch (err) {
    if (err instanceof ProxyHeaderError) throw err;
    throw new ProxyHeaderError(`a malformed PROXY header (${(err as { message?: string }).message ?? String(err)})`);
  }
}

/**
 * Reads the header from a new connection. Octets after it stay on the socket (unshifted), which is left
 * neither flowing nor paused, so the next reader (a module's 'data' listener, or TLS) gets them first.
 */
export function readProxyHeader(socket: Socket, timeoutMs: number): Promise<ProxiedClient> {
  return new Promise((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    const finish = (outcome: () => void) => {
      clearTimeout(timer);
      socket.off('readable', onReadable);
      socket.off('close', onClose);
      outcome();
    };
    const onReadable = () => {
      let chunk: Buffer | null;
      while ((chunk = socket.read() as Buffer | null) !== null) {
        buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
        let length: number;
        try {
          length = headerLength(buf);
        } catch (err) {
          finish(() => reject(err));
          return;
        }
        if (length === 0) continue;
        const rest = buf.subarray(length);
        let client: ProxiedClient;
        try {
          client = parseHeader(buf.subarray(0, length));
        } catch (err) {
          finish(() => reject(err));
          return;
        }
        finish(() => {
          if (rest.length > 0) socket.unshift(rest);
          resolve(client);
        });
        return;
      }
    };
    const onClose = () => finish(() => reject(new ProxyHeaderError('closed before the PROXY header')));
    const timer = setTimeout(() => finish(() => reject(new ProxyHeaderError(`no PROXY header within ${timeoutMs / 1000} s`))), timeoutMs);
    socket.on('readable', onReadable);
    socket.once('close', onClose);
  });
}
