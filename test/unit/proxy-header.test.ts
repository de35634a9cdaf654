// The PROXY header framing and parsing (listeners/proxy-header.ts) and what a connection makes of it:
// exact lengths for both versions, bounds, the client's address in the form the rest of the server
// uses, and "loopback" only when the balancer is on this machine too.
import type { Socket } from 'node:net';
import { Command, IPv6Address, IPv6ProxyAddress, TransportProtocol, V2ProxyProtocol } from 'proxy-protocol-js';
import { describe, expect, it } from 'vitest';
import { Connection } from '../../listeners/connection.js';
import { headerLength, parseHeader, ProxyHeaderError } from '../../listeners/proxy-header.js';
import { badProxyFrom, TrustedProxies } from '../../listeners/trusted-proxies.js';

const v2 = (source: number[], command = Command.PROXY) =>
  Buffer.from(
    new V2ProxyProtocol(
      command,
      TransportProtocol.STREAM,
      new IPv6ProxyAddress(IPv6Address.createFrom(source), 4242, IPv6Address.createFrom(Array(15).fill(0).concat([1])), 110),
    ).build(),
  );

describe('PROXY header', () => {
  it('frames version 1 at its CRLF, asks for more before it, and refuses more than 107 octets', () => {
    expect(headerLength(Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\nUSER x\r\n'))).toBe(32);
    expect(headerLength(Buffer.from('PRO'))).toBe(0);
    expect(headerLength(Buffer.from('PROXY TCP4 1.2.3.4'))).toBe(0);
    expect(() => headerLength(Buffer.from(`PROXY ${'x'.repeat(120)}`))).toThrow(ProxyHeaderError);
    expect(() => headerLength(Buffer.from('USER alice\r\n'))).toThrow(/no PROXY protocol header/);
  });

  it('frames version 2 by its length field', () => {
    const h = v2([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7]);
    expect(headerLength(h.subarray(0, 15))).toBe(0);
    expect(headerLength(Buffer.concat([h, Buffer.from('CAPA\r\n')]))).toBe(h.length);
  });

  it('names the client: IPv4, IPv6 in its short form, an IPv4-mapped one as IPv4; LOCAL and UNKNOWN name nobody', () => {
    expect(parseHeader(Buffer.from('PROXY TCP4 192.0.2.7 127.0.0.1 5555 110\r\n'))).toEqual({ address: '192.0.2.7', port: 5555 });
    expect(parseHeader(v2([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7]))).toEqual({ address: '2001:db8::7', port: 4242 });
    expect(parseHeader(v2([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, 9]))).toEqual({ address: '198.51.100.9', port: 4242 });
    expect(parseHeader(v2([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7], Command.LOCAL))).toBeNull();
    expect(parseHeader(Buffer.from('PROXY UNKNOWN\r\n'))).toBeNull();
    expect(() => parseHeader(Buffer.from('PROXY TCP4 999.1.1.1 127.0.0.1 1 110\r\n'))).toThrow(/bad source address/);
    expect(() => parseHeader(Buffer.from('PROXY TCP4 1.1.1.1 127.0.0.1 70000 110\r\n'))).toThrow(/bad source port/);
  });

  it('a header naming this machine makes a loopback connection only when the balancer is on this machine', () => {
    const from = (remoteAddress: string) => ({ remoteAddress, remotePort: 40000 }) as unknown as Socket;
    expect(new Connection(from('192.0.2.1'), 'lb', null, false, { address: '127.0.0.1', port: 1 }).loopback).toBe(false);
    expect(new Connection(from('127.0.0.1'), 'lb', null, false, { address: '127.0.0.9', port: 1 }).loopback).toBe(true);
    expect(new Connection(from('127.0.0.1'), 'lb', null, false, { address: '192.0.2.7', port: 1 }).loopback).toBe(false);
    expect(new Connection(from('127.0.0.1'), 'lb', null, false, { address: '192.0.2.7', port: 1 }).peer).toBe('192.0.2.7:1');
  });

  it('proxyFrom: by default this machine and the private networks may send a header, nobody else', () => {
    const t = new TrustedProxies();
    for (const a of ['127.0.0.1', '::1', '10.1.2.3', '172.31.0.9', '192.168.1.1', '::ffff:192.168.1.1', 'fd00::1'])
      expect(t.allows(a), a).toBe(true);
    for (const a of ['8.8.8.8', '172.32.0.1', '2001:db8::1', '::ffff:8.8.8.8', undefined]) expect(t.allows(a), String(a)).toBe(false);
    const only = new TrustedProxies(['203.0.113.5', '2001:db8:1::/48']);
    expect(only.allows('203.0.113.5')).toBe(true);
    expect(only.allows('203.0.113.6')).toBe(false);
    expect(only.allows('2001:db8:1:2::3')).toBe(true);
    expect(only.allows('127.0.0.1')).toBe(false);
    expect(badProxyFrom(['10.0.0.0/33'])).toMatch(/prefix must be a whole number 0-32/);
    expect(badProxyFrom(['balancer.example'])).toMatch(/not an address or a range/);
    expect(badProxyFrom(['10.0.0.0/8', 'fd00::/8'])).toBeNull();
  });
});
