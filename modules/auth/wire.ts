// Dovecot's authentication protocol, the side an MTA talks to (Dovecot 2.3's "Authentication Protocol"
// design page; README.md, "The MTA's sign-in", shows a session): lines of tab-separated fields ended by LF.
// What the server says first, what the client's lines mean, and how a value is written in a field
// (Dovecot's tab escaping). Nothing here keeps state.
import { randomBytes } from 'node:crypto';
import type { MechanismName } from '../../sessions/sasl.js';

/** The protocol version this server speaks (Dovecot 2.3's AUTH_CLIENT_PROTOCOL_MAJOR/MINOR_VERSION). */
export const MAJOR_VERSION = 1;
export const MINOR_VERSION = 2;
/** The longest line a client may send (Dovecot's AUTH_CLIENT_MAX_LINE_LENGTH); a longer one closes the connection. */
export const MAX_LINE_LENGTH = 16384;

/** Each mechanism's security flags in its MECH line, as Dovecot announces them. */
const MECHANISM_FLAGS: Record<MechanismName, string[]> = {
  PLAIN: ['plaintext'],
  LOGIN: ['plaintext'],
  'CRAM-MD5': ['dictionary', 'active'],
};

/**
 * The server's greeting, sent as soon as the client connects: VERSION, one MECH line per mechanism,
 * SPID (this process), CUID (this connection), COOKIE (random, for the master login Postern never asks
 * of an MTA), DONE.
 */
export function handshake(mechanisms: readonly MechanismName[], pid: number, connectionUid: number): string {
  const mechs = mechanisms.map((m) => `MECH\t${[m, ...MECHANISM_FLAGS[m]].join('\t')}\n`).join('');
  const cookie = randomBytes(16).toString('hex');
  return `VERSION\t${MAJOR_VERSION}\t${MINOR_VERSION}\n${mechs}SPID\t${pid}\nCUID\t${connectionUid}\nCOOKIE\t${cookie}\nDONE\n`;
}

/** A value written into a field: Dovecot's str_append_tabescaped (SOH, TAB, CR and LF escaped with SOH). */
export function tabEscape(value: string): string {
  return value.replace(/[\x01\t\r\n]/g, (c) => ({ '\x01': '\x011', '\t': '\x01t', '\r': '\x01r', '\n': '\x01n' })[c]!);
}

/** The reverse of tabEscape (Dovecot's str_tabunescape); an unknown escape stands for the character after SOH. */
export function tabUnescape(value: string): string {
  return value.replace(/\x01([\s\S]?)/g, (_, c: string) => ({ '1': '\x01', t: '\t', r: '\r', n: '\n' })[c] ?? c);
}

/** A request id: a number from 1 to 2^32 - 1, in decimal digits only (Dovecot's str_to_uint, 0 refused). */
function requestId(text: string | undefined): number | null {
  if (text === undefined || !/^\d{1,10}$/.test(text)) return null;
  const id = Number(text);
  return id >= 1 && id <= 0xffffffff ? id : null;
}

/** One line from a client that has finished its handshake. */
export type ClientLine =
  | {
      readonly kind: 'auth';
      readonly id: number;
      readonly mechanism: string;
      /** The parameters before resp= (service, rip, lip, secured, nologin ...), values unescaped; a flag has "". */
      readonly params: ReadonlyMap<string, string>;
      /** The base64 initial response; null without one (an empty resp= is none, as Dovecot takes Exim's). */
      readonly initial: string | null;
    }
  | { readonly kind: 'cont'; readonly id: number; readonly data: string }
  | { readonly kind: 'cancel'; readonly id: number }
  /** A line Dovecot answers by closing the connection; `why` is for the log. */
  | { readonly kind: 'broken'; readonly why: string };

/** Reads one line (without its LF and a CR before it) of a client past its handshake. */
export function parseClientLine(line: string): ClientLine {
  if (line.startsWith('AUTH\t')) return parseAuth(line.slice(5));
  if (line.startsWith('CONT\t')) {
    const rest = line.slice(5);
    const tab = rest.indexOf('\t');
    const id = tab < 0 ? null : requestId(rest.slice(0, tab));
    return id === null ? { kind: 'broken', why: 'broken CONT request' } : { kind: 'cont', id, data: rest.slice(tab + 1) };
  }
  if (line.startsWith('CANCEL\t')) {
    const id = requestId(line.slice(7));
    return id === null ? { kind: 'broken', why: 'broken CANCEL request' } : { kind: 'cancel', id };
  }
  return { kind: 'broken', why: 'unknown command' };
}

/** AUTH id mechanism [name[=value]]... [resp=base64]: resp= must be the last parameter. */
function parseAuth(args: string): ClientLine {
  const fields = args.split('\t');
  const id = requestId(fields[0]);
  if (id === null || fields[1] === undefined || fields[1] === '') return { kind: 'broken', why: 'broken AUTH request' };
  const params = new Map<string, string>();
  let initial: string | null = null;
  for (let i = 2; i < fields.length; i++) {
    const eq = fields[i].indexOf('=');
    const name = eq < 0 ? fields[i] : fields[i].slice(0, eq);
    const value = eq < 0 ? '' : fields[i].slice(eq + 1);
    if (name === 'resp') {
      if (i !== fields.length - 1) return { kind: 'broken', why: "AUTH parameters after 'resp'" };
      initial = value === '' ? null : value;
    } else params.set(name, tabUnescape(value));
  }
  if (!params.has('service')) return { kind: 'broken', why: 'AUTH without service' };
  return { kind: 'auth', id, mechanism: fields[1], params, initial };
}

/** The client's first line: VERSION with the major version this server speaks (any minor). */
export function acceptsVersion(line: string): boolean {
  if (!line.startsWith('VERSION\t')) return false;
  return line.slice(8).split('\t')[0] === String(MAJOR_VERSION);
}

/** The client's second line, CPID pid: its process id (a number above 0), or null when the line is not that. */
export function clientPid(line: string): number | null {
  return line.startsWith('CPID\t') ? requestId(line.slice(5)) : null;
}

/** OK id user=NAME: signed in as NAME (the account's address). */
export function okLine(id: number, user: string): string {
  return `OK\t${id}\tuser=${tabEscape(user)}\n`;
}

/** CONT id base64: a challenge of the mechanism, answered by the client's CONT line. */
export function contLine(id: number, challenge: Buffer): string {
  return `CONT\t${id}\t${challenge.toString('base64')}\n`;
}

/** FAIL id [user=NAME] [temp]: the sign-in failed (`temp`: try again later, Postfix answers 454). */
export function failLine(id: number, fields: { user?: string; temp?: boolean; code?: string; reason?: string } = {}): string {
  let line = `FAIL\t${id}`;
  if (fields.user !== undefined) line += `\tuser=${tabEscape(fields.user)}`;
  if (fields.code !== undefined) line += `\tcode=${fields.code}`;
  if (fields.reason !== undefined) line += `\treason=${tabEscape(fields.reason)}`;
  if (fields.temp) line += '\ttemp';
  return `${line}\n`;
}
