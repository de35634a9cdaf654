// The address and date readers of sieve/message/ against what Pigeonhole's sieve-test 0.5.19 shows for the same
// input (the tables were taken from `sieve-test` runs: for each To value, `address :count`, then the first
// address's :all/:localpart/:domain/:user/:detail through `:matches "*"`; for each Date value, the parts with
// :originalzone, :zone "+0530", :zone "-1200" and the server's zone, UTC here).
import { describe, expect, it } from 'vitest';
import { addressPart, envelopePart, parseEnvelopeAddress } from '../../sieve/message/address-part.js';
import { currentDateParts, dateParts, parseDateTime } from '../../sieve/message/date-parts.js';
import { SieveMessage } from '../../sieve/message/sieve-message.js';

/** [To value, address count, :all, :localpart, :domain, :user, :detail] of the first address; null: no value (the test fails). */
type AddressRow = [string, number, string, string | null, string | null, string | null, string | null];

const ADDRESSES: AddressRow[] = [
  ['a@b.c', 1, 'a@b.c', 'a', 'b.c', 'a', null],
  ['broken@', 1, 'broken@', null, null, null, null],
  ['justlocal', 1, 'justlocal', null, null, null, null],
  ['@nolocal.x', 1, '@nolocal.x', null, null, null, null],
  ['two words', 1, 'two words', null, null, null, null],
  ['<>', 1, '<>', null, null, null, null],
  ['', 1, '', '', '', '', ''],
  ['g: ;', 1, 'g: ;', null, null, null, null],
  ['x+det@y.z', 1, 'x+det@y.z', 'x+det', 'y.z', 'x', 'det'],
  ['x+@y.z', 1, 'x+@y.z', 'x+', 'y.z', 'x', ''],
  ['x++a+b@y.z', 1, 'x++a+b@y.z', 'x++a+b', 'y.z', 'x', '+a+b'],
  ['"q u+d"@d.e', 1, '"q u+d"@d.e', 'q u+d', 'd.e', 'q u', 'd'],
  ['Name <a@b.c', 1, 'Name <a@b.c', null, null, null, null],
  ['a@b.c, garbage<<, c@d.e', 1, 'a@b.c', 'a', 'b.c', 'a', null],
  ['a@b.c (comment), <c@d.e> x', 2, 'a@b.c', 'a', 'b.c', 'a', null],
  ['x@[1.2.3.4]', 1, 'x@[1.2.3.4]', 'x', '[1.2.3.4]', 'x', null],
  ['=?utf-8?q?caf=C3=A9?= <c@e.f>', 1, 'c@e.f', 'c', 'e.f', 'c', null],
  ['a@b..c', 1, 'a@b..c', null, null, null, null],
  ['a b@c.d', 1, 'a b@c.d', null, null, null, null],
  ['broken@, a@b.c', 1, 'a@b.c', 'a', 'b.c', 'a', null],
  ['undisclosed-recipients:;', 1, 'undisclosed-recipients:;', null, null, null, null],
  ['g: x@y.z;', 1, 'x@y.z', 'x', 'y.z', 'x', null],
  ['"a.b"@c.d', 1, 'a.b@c.d', 'a.b', 'c.d', 'a.b', null],
  ['a.b.@c.d', 1, '"a.b."@c.d', 'a.b.', 'c.d', 'a.b.', null],
  ['"a\\"b"@c.d', 1, '"a\\"b"@c.d', 'a"b', 'c.d', 'a"b', null],
  ['Müller <m@x.de>', 1, 'm@x.de', 'm', 'x.de', 'm', null],
  ['x@y', 1, 'x@y', 'x', 'y', 'x', null],
  ['  ', 1, '', '', '', '', ''],
  ['a@b.c,', 1, 'a@b.c', 'a', 'b.c', 'a', null],
  [',a@b.c', 1, 'a@b.c', 'a', 'b.c', 'a', null],
  ['a@b.c, , c@d.e', 2, 'a@b.c', 'a', 'b.c', 'a', null],
  ['a@b.c.', 1, 'a@b.c.', null, null, null, null],
  ['a@.b.c', 1, 'a@.b.c', null, null, null, null],
  ['a..b@c.d', 1, '"a..b"@c.d', 'a..b', 'c.d', 'a..b', null],
  ['a@b_c.d', 1, 'a@b_c.d', 'a', 'b_c.d', 'a', null],
  ['a@-b.c', 1, 'a@-b.c', 'a', '-b.c', 'a', null],
  ['a@b (x) . c', 1, 'a@b.c', 'a', 'b.c', 'a', null],
  ['a@b, x@y..z', 1, 'a@b', 'a', 'b', 'a', null],
  ['a@[x y]', 1, 'a@[x y]', 'a', '[x y]', 'a', null],
  ['a@b.c>', 1, 'a@b.c', 'a', 'b.c', 'a', null],
  ['José@x.de', 1, 'José@x.de', null, null, null, null],
  ['a@bü.de', 1, 'a@bü.de', 'a', 'bü.de', 'a', null],
  ['undisclosed-recipients:;, friends: a@b.c, "q u"@d.e;, broken@, <@route.x:r@y.z>', 3, 'a@b.c', 'a', 'b.c', 'a', null],
];

/** [Date value, parts or null when Pigeonhole reads no date]. */
type DateRow = [string, Record<'std11' | 'iso' | 'julian' | 'wd' | 'zone' | 'z530' | 'local' | 'zm12', string> | null];

const DATES: DateRow[] = [
  [
    'Tue, 1 Jul 2003 10:52:37 +0200',
    {
      std11: 'Tue, 01 Jul 2003 10:52:37 +0200',
      iso: '2003-07-01T10:52:37+02:00',
      julian: '52821',
      wd: '2',
      zone: '+0200',
      z530: '14:22:37',
      local: '2003-07-01T08:52:37Z',
      zm12: '2003-06-30',
    },
  ],
  [
    'Tue, 1 Jul 03 10:52:37 PDT',
    {
      std11: 'Tue, 01 Jul 2003 10:52:37 -0700',
      iso: '2003-07-01T10:52:37-07:00',
      julian: '52821',
      wd: '2',
      zone: '-0700',
      z530: '23:22:37',
      local: '2003-07-01T17:52:37Z',
      zm12: '2003-07-01',
    },
  ],
  [
    '1 Jul 2003 10:52 -0000',
    {
      std11: 'Tue, 01 Jul 2003 10:52:00 +0000',
      iso: '2003-07-01T10:52:00Z',
      julian: '52821',
      wd: '2',
      zone: '+0000',
      z530: '16:22:00',
      local: '2003-07-01T10:52:00Z',
      zm12: '2003-06-30',
    },
  ],
  [
    'Tue,  1 Jul 2003 10:52:37 +0200 (CEST)',
    {
      std11: 'Tue, 01 Jul 2003 10:52:37 +0200',
      iso: '2003-07-01T10:52:37+02:00',
      julian: '52821',
      wd: '2',
      zone: '+0200',
      z530: '14:22:37',
      local: '2003-07-01T08:52:37Z',
      zm12: '2003-06-30',
    },
  ],
  [
    'Tue, 01 Jul 99 23:59:60 GMT',
    {
      std11: 'Thu, 01 Jul 1999 23:59:59 +0000',
      iso: '1999-07-01T23:59:59Z',
      julian: '51360',
      wd: '4',
      zone: '+0000',
      z530: '05:29:59',
      local: '1999-07-01T23:59:59Z',
      zm12: '1999-07-01',
    },
  ],
  [
    'Sat, 31 Dec 1969 23:00:00 -0100',
    {
      std11: 'Wed, 31 Dec 1969 23:00:00 -0100',
      iso: '1969-12-31T23:00:00-01:00',
      julian: '40586',
      wd: '3',
      zone: '-0100',
      z530: '05:30:00',
      local: '1970-01-01T00:00:00Z',
      zm12: '1969-12-31',
    },
  ],
  ['garbage', null],
  [
    'Tue, 1 Jul 2003 10:52:37',
    {
      std11: 'Tue, 01 Jul 2003 10:52:37 +0000',
      iso: '2003-07-01T10:52:37Z',
      julian: '52821',
      wd: '2',
      zone: '+0000',
      z530: '16:22:37',
      local: '2003-07-01T10:52:37Z',
      zm12: '2003-06-30',
    },
  ],
  [
    'Tue, 1 Jul 2003 10:52:37 Z',
    {
      std11: 'Tue, 01 Jul 2003 10:52:37 +0000',
      iso: '2003-07-01T10:52:37Z',
      julian: '52821',
      wd: '2',
      zone: '+0000',
      z530: '16:22:37',
      local: '2003-07-01T10:52:37Z',
      zm12: '2003-06-30',
    },
  ],
  [
    'Tue, 1 Jul 2003 10:52:37 A',
    {
      std11: 'Tue, 01 Jul 2003 10:52:37 +0100',
      iso: '2003-07-01T10:52:37+01:00',
      julian: '52821',
      wd: '2',
      zone: '+0100',
      z530: '15:22:37',
      local: '2003-07-01T09:52:37Z',
      zm12: '2003-06-30',
    },
  ],
  [
    'Mon, 1 Jul 2003 10:52:37 +0200',
    {
      std11: 'Tue, 01 Jul 2003 10:52:37 +0200',
      iso: '2003-07-01T10:52:37+02:00',
      julian: '52821',
      wd: '2',
      zone: '+0200',
      z530: '14:22:37',
      local: '2003-07-01T08:52:37Z',
      zm12: '2003-06-30',
    },
  ],
  ['Tue, 31 Feb 2003 10:52:37 +0200', null],
  [
    'Tue, 1 July 2003 10:52:37 +0200',
    {
      std11: 'Tue, 01 Jul 2003 10:52:37 +0200',
      iso: '2003-07-01T10:52:37+02:00',
      julian: '52821',
      wd: '2',
      zone: '+0200',
      z530: '14:22:37',
      local: '2003-07-01T08:52:37Z',
      zm12: '2003-06-30',
    },
  ],
  ['Tue, 1 Jul 103 10:52:37 +0200', null],
  ['Tue, 1 Jul 2003 25:52:37 +0200', null],
  [
    'Tue, 1 Jul 2003 10:52:37 +2500',
    {
      std11: 'Tue, 01 Jul 2003 10:52:37 +2500',
      iso: '2003-07-01T10:52:37+25:00',
      julian: '52821',
      wd: '2',
      zone: '+2500',
      z530: '15:22:37',
      local: '2003-06-30T09:52:37Z',
      zm12: '2003-06-29',
    },
  ],
  [
    'Tue, 1 Jul 49 10:52:37 +0200',
    {
      std11: 'Thu, 01 Jul 2049 10:52:37 +0200',
      iso: '2049-07-01T10:52:37+02:00',
      julian: '69623',
      wd: '4',
      zone: '+0200',
      z530: '14:22:37',
      local: '2049-07-01T08:52:37Z',
      zm12: '2049-06-30',
    },
  ],
  [
    'Tue, 1 Jul 50 10:52:37 +0200',
    {
      std11: 'Fri, 01 Jul 2050 10:52:37 +0200',
      iso: '2050-07-01T10:52:37+02:00',
      julian: '69988',
      wd: '5',
      zone: '+0200',
      z530: '14:22:37',
      local: '2050-07-01T08:52:37Z',
      zm12: '2050-06-30',
    },
  ],
  [
    '1 jul 2003 10:52:37 est',
    {
      std11: 'Tue, 01 Jul 2003 10:52:37 +0000',
      iso: '2003-07-01T10:52:37Z',
      julian: '52821',
      wd: '2',
      zone: '+0000',
      z530: '16:22:37',
      local: '2003-07-01T10:52:37Z',
      zm12: '2003-06-30',
    },
  ],
  [
    'Tue,1 Jul 2003 10.52.37 +0200',
    {
      std11: 'Tue, 01 Jul 2003 10:52:37 +0200',
      iso: '2003-07-01T10:52:37+02:00',
      julian: '52821',
      wd: '2',
      zone: '+0200',
      z530: '14:22:37',
      local: '2003-07-01T08:52:37Z',
      zm12: '2003-06-30',
    },
  ],
  [
    'Tue, 1 Jul 2003 10:52:37 +02',
    {
      std11: 'Tue, 01 Jul 2003 10:52:37 +0000',
      iso: '2003-07-01T10:52:37Z',
      julian: '52821',
      wd: '2',
      zone: '+0000',
      z530: '16:22:37',
      local: '2003-07-01T10:52:37Z',
      zm12: '2003-06-30',
    },
  ],
  ['Tue 1 Jul 2003 10:52:37 +0200', null],
  [
    'Tue, 1 Jul 2003 10:52:37 +0200 garbage',
    {
      std11: 'Tue, 01 Jul 2003 10:52:37 +0200',
      iso: '2003-07-01T10:52:37+02:00',
      julian: '52821',
      wd: '2',
      zone: '+0200',
      z530: '14:22:37',
      local: '2003-07-01T08:52:37Z',
      zm12: '2003-06-30',
    },
  ],
  [
    'Foo, 29 Feb 2004 00:00:00 N',
    {
      std11: 'Sun, 29 Feb 2004 00:00:00 -0100',
      iso: '2004-02-29T00:00:00-01:00',
      julian: '53064',
      wd: '0',
      zone: '-0100',
      z530: '06:30:00',
      local: '2004-02-29T01:00:00Z',
      zm12: '2004-02-28',
    },
  ],
  ['Tuesday, 1 Jul 2003 10:52:37 +0200', null],
  [
    '1 Jul 2003 9:05 EDT',
    {
      std11: 'Tue, 01 Jul 2003 09:05:00 -0400',
      iso: '2003-07-01T09:05:00-04:00',
      julian: '52821',
      wd: '2',
      zone: '-0400',
      z530: '18:35:00',
      local: '2003-07-01T13:05:00Z',
      zm12: '2003-07-01',
    },
  ],
  ['1 Jul 1899 10:52:37 +0200', null],
  ['1 Jul 2003 10:52:3 +0200', null],
  ['29 Feb 2003 10:52:37 +0200', null],
];

const message = (header: string) => new SieveMessage(Buffer.from(`From: f@x.y\r\n${header}\r\nSubject: t\r\n\r\nb\r\n`));

describe('address test values (RFC 5228 section 2.7.4) as Pigeonhole gives them', () => {
  it.each(ADDRESSES)('To: %s', (value, count, all, localpart, domain, user, detail) => {
    const addrs = message(`To: ${value}`).addresses('to');
    expect(addrs.length).toBe(count);
    const first = addrs[0];
    expect([
      addressPart(first, 'all'),
      addressPart(first, 'localpart'),
      addressPart(first, 'domain'),
      addressPart(first, 'user'),
      addressPart(first, 'detail'),
    ]).toEqual([all, localpart, domain, user, detail]);
  });

  it('reads every field of the name in order, and only the :index one when asked (RFC 5260 section 6)', () => {
    const m = message('To: one@x.y, two@x.y\r\nTo: three@x.y');
    expect(m.addresses('TO').map((a) => a.text)).toEqual(['one@x.y', 'two@x.y', 'three@x.y']);
    expect(m.addresses('to', { at: { index: 2 } }).map((a) => a.text)).toEqual(['three@x.y']);
    expect(m.addresses('to', { at: { index: 1, last: true } }).map((a) => a.text)).toEqual(['three@x.y']);
    expect(m.addresses('to', { at: { index: 3 } })).toEqual([]);
    expect(m.addresses('cc')).toEqual([]);
  });

  it('takes a separator of several characters, the first one found separating (RFC 5233)', () => {
    const [a] = message('To: jo-list+tag@x.y').addresses('to');
    expect(addressPart(a, 'user', '+-')).toBe('jo');
    expect(addressPart(a, 'detail', '+-')).toBe('list+tag');
    expect(addressPart(a, 'detail', '/')).toBeNull();
  });
});

describe('envelope addresses (RFC 5228 section 5.4)', () => {
  it('compares the null reverse-path as "" whatever the part', () => {
    for (const part of ['all', 'localpart', 'domain', 'user', 'detail'] as const) {
      expect(envelopePart('', part)).toBe('');
      expect(envelopePart('<>', part)).toBe('');
    }
  });

  it('drops a source route and unquotes the local part', () => {
    expect(parseEnvelopeAddress('<@relay.example,@b.example:joe+x@Example.ORG>')).toEqual({
      localPart: 'joe+x',
      domain: 'Example.ORG',
      text: 'joe+x@Example.ORG',
    });
    expect(envelopePart('"a b"@x.y', 'localpart')).toBe('a b');
    expect(envelopePart('"a b"@x.y', 'all')).toBe('"a b"@x.y');
    expect(envelopePart('joe+x@y.z', 'detail')).toBe('x');
    expect(envelopePart('joe@y.z', 'detail')).toBeNull();
    expect(envelopePart('postmaster', 'domain')).toBeNull();
    expect(envelopePart('a@b c', 'localpart')).toBeNull();
    expect(envelopePart('a@b c', 'all')).toBe('a@b c');
  });
});

describe('date parts (RFC 5260 section 4) of odd dates as Pigeonhole reads them', () => {
  it.each(DATES)('Date: %s', (value, want) => {
    const m = message(`Date: ${value}`);
    const get = (part: string, zone: NonNullable<Parameters<typeof dateParts>[3]>['zone']) => dateParts(m, 'date', part, { zone })[0];
    const original = { original: true } as const;
    if (want === null) {
      expect(get('std11', original)).toBeUndefined();
      expect(parseDateTime(value)).toBeNull();
      return;
    }
    expect({
      std11: get('std11', original),
      iso: get('iso8601', original),
      julian: get('julian', original),
      wd: get('weekday', original),
      zone: get('zone', original),
      z530: get('time', { zone: '+0530' }),
      // the server's zone: the table was taken on a UTC machine
      local: new Date(0).getTimezoneOffset() === 0 ? get('iso8601', null) : want.local,
      zm12: get('date', { zone: '-1200' }),
    }).toEqual(want);
  });

  it('reads the first field only, the Received date after its last ";"', () => {
    const m = message(
      'X-D: Tue, 1 Jul 2003 10:52:37 +0200\r\nX-D: Wed, 2 Jul 2003 11:00:00 -0500\r\nReceived: from a by b; Wed, 2 Jul 2003 11:00:00 -0500',
    );
    expect(dateParts(m, 'x-d', 'date', { zone: { original: true } })).toEqual(['2003-07-01']);
    expect(dateParts(m, 'received', 'hour', { zone: { original: true } })).toEqual(['11']);
    expect(dateParts(m, 'x-none', 'date')).toEqual([]);
    expect(dateParts(m, 'x-d', 'date', { zone: { zone: '+2500' } })).toEqual([]);
    expect(dateParts(m, 'x-d', 'no-such-part', { zone: { original: true } })).toEqual([]);
  });

  it('gives currentdate its parts in the zone asked', () => {
    const now = new Date(Date.UTC(2026, 11, 6, 23, 30, 5));
    expect(currentDateParts(now, 'date', '+0100')).toBe('2026-12-07');
    expect(currentDateParts(now, 'iso8601', '+0000')).toBe('2026-12-06T23:30:05Z');
    expect(currentDateParts(now, 'std11', '-0330')).toBe('Sun, 06 Dec 2026 20:00:05 -0330');
    expect(currentDateParts(now, 'julian', '+0000')).toBe('61380');
    expect(currentDateParts(now, 'zone', 'junk')).toBeNull();
  });
});
