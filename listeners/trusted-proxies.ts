// Which peers may send a PROXY header on a listener (`proxyFrom`): addresses and CIDR ranges, IPv4 and
// IPv6. A header names the client that limits, throttles and logs then believe, so only the balancers
// may send one; by default that is this machine and the private networks (RFC 1918, RFC 4193), where
// balancers usually sit. Other peers are closed before anything is read.
import { BlockList, isIP } from 'node:net';

export const DEFAULT_PROXY_FROM = ['127.0.0.0/8', '::1', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'];

/** The entry as [address, prefix, family], or an error message saying what is wrong with it. */
function parseEntry(entry: string): [string, number, 'ipv4' | 'ipv6'] | string {
  const [address, prefixText, extra] = entry.split('/');
  const version = isIP(address ?? '');
  if (extra !== undefined || version === 0) return `"${entry}" is not an address or a range like 10.0.0.0/8 or fd00::/8`;
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (prefixText !== undefined && !/^\d+$/.test(prefixText)))
    return `"${entry}": the prefix must be a whole number 0-${max}`;
  return [address, prefix, version === 4 ? 'ipv4' : 'ipv6'];
}

/** The first entry that is not an address or range, with why; null when all are. */
export function badProxyFrom(entries: readonly string[]): string | null {
  for (const e of entries) {
    const parsed = parseEntry(e);
    if (typeof parsed === 'string') return parsed;
  }
  return null;
}

export class TrustedProxies {
  private readonly list = new BlockList();

  constructor(entries: readonly string[] = DEFAULT_PROXY_FROM) {
    for (const e of entries) {
      const parsed = parseEntry(e);
      if (typeof parsed === 'string') throw new Error(parsed);
      this.list.addSubnet(...parsed);
    }
  }

  /** True when `address` (as the socket reports it; IPv4-mapped IPv6 counts as IPv4) may send a header. */
  allows(address: string | undefined): boolean {
    if (!address) return false;
    const v4 = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
    const version = isIP(v4);
    return version !== 0 && this.list.check(v4, version === 4 ? 'ipv4' : 'ipv6');
  }
}
