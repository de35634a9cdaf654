// The auth socket's lines (modules/auth/wire.ts): Dovecot's tab escaping both ways, and what a client's
// line means, including the ones Dovecot answers by closing the connection.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { acceptsVersion, clientPid, failLine, parseClientLine, tabEscape, tabUnescape } from '../../modules/auth/wire.js';

describe('the auth protocol lines', () => {
  it('tab escaping: SOH, TAB, CR and LF escaped as Dovecot escapes them, and back', () => {
    expect(tabEscape('a\tb\r\n\x01c')).toBe('a\x01tb\x01r\x01n\x011c');
    fc.assert(fc.property(fc.string(), (s) => tabUnescape(tabEscape(s)) === s && !/[\t\r\n]/.test(tabEscape(s))));
  });

  it('AUTH: id, mechanism, parameters (unescaped values, flags) and resp= last; an empty resp= is none', () => {
    expect(parseClientLine('AUTH\t3\tPLAIN\tservice=smtp\tnologin\trip=192.0.2.1\tsession=a\x01tb\tresp=AGEAYg==')).toEqual({
      kind: 'auth',
      id: 3,
      mechanism: 'PLAIN',
      params: new Map([
        ['service', 'smtp'],
        ['nologin', ''],
        ['rip', '192.0.2.1'],
        ['session', 'a\tb'],
      ]),
      initial: 'AGEAYg==',
    });
    expect(parseClientLine('AUTH\t4\tLOGIN\tservice=smtp\tresp=')).toMatchObject({ kind: 'auth', initial: null });
  });

  it.each([
    'AUTH\t1',
    'AUTH\t0\tPLAIN\tservice=smtp',
    'AUTH\t4294967296\tPLAIN\tservice=smtp',
    'AUTH\t-1\tPLAIN\tservice=smtp',
    'AUTH\t1\tPLAIN',
    'AUTH\t1\tPLAIN\tservice=smtp\tresp=AA==\tnologin',
    'CONT\t1',
    'CONT\tx\tAA==',
    'CANCEL\t',
    'HELLO',
    '',
  ])('%j is a broken line', (line) => {
    expect(parseClientLine(line).kind).toBe('broken');
  });

  it('CONT and CANCEL', () => {
    expect(parseClientLine('CONT\t4294967295\t')).toEqual({ kind: 'cont', id: 4294967295, data: '' });
    expect(parseClientLine('CANCEL\t9')).toEqual({ kind: 'cancel', id: 9 });
  });

  it('the client handshake: VERSION with major 1 (any minor), CPID above 0', () => {
    expect(acceptsVersion('VERSION\t1\t0')).toBe(true);
    expect(acceptsVersion('VERSION\t1')).toBe(true);
    expect(acceptsVersion('VERSION\t2\t0')).toBe(false);
    expect(clientPid('CPID\t1234')).toBe(1234);
    expect(clientPid('CPID\t0')).toBeNull();
    expect(clientPid('AUTH\t1\tPLAIN')).toBeNull();
  });

  it('FAIL puts user= first and temp last', () => {
    expect(failLine(5, { user: 'a\tb', temp: true, reason: 'later' })).toBe('FAIL\t5\tuser=a\x01tb\treason=later\ttemp\n');
  });
});
