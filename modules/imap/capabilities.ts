// The CAPABILITY list (RFC 9051 section 7.2.2), as it stands for a session now: before signing in it
// offers STARTTLS, SASL mechanisms, and LOGINDISABLED where passwords may not travel in the clear
// (imap.cleartextAuth); after, the extensions the module implements.
import type { ImapContext } from './context.js';

const ALWAYS = ['IMAP4rev1', 'IMAP4rev2', 'SASL-IR', 'ID', 'ENABLE', 'IDLE', 'LITERAL+'];

const AFTER_SIGN_IN = [
  'NAMESPACE',
  'UNSELECT',
  'UIDPLUS',
  'MOVE',
  'CHILDREN',
  'LIST-EXTENDED',
  'LIST-STATUS',
  'SPECIAL-USE',
  'ESEARCH',
  'STATUS=SIZE',
  'BINARY',
  'ACL',
  'RIGHTS=texk',
  'QUOTA',
  'QUOTA=RES-STORAGE',
  'QUOTA=RES-MESSAGE',
  'METADATA',
  'METADATA-SERVER',
  'CREATE-SPECIAL-USE',
  'COMPRESS=DEFLATE',
  'SORT',
  'SORT=DISPLAY',
  'THREAD=ORDEREDSUBJECT',
  'THREAD=REFERENCES',
  'ESORT',
  'MULTIAPPEND',
  'LIST-MYRIGHTS',
  'WITHIN',
  'SAVEDATE',
  'OBJECTID',
  'PREVIEW',
  'UTF8=ACCEPT',
  'CONDSTORE',
  'QRESYNC',
  'PARTIAL',
  'UIDONLY',
];

/**
 * What ENABLE turns on (RFC 5161): the extensions that change the session's answers once enabled, each
 * also in the capability list. Anything else is left out of `* ENABLED`, as the RFC says.
 */
export const ENABLEABLE: ReadonlySet<string> = new Set(['IMAP4REV2', 'UTF8=ACCEPT', 'CONDSTORE', 'QRESYNC', 'UIDONLY']);

/** SASL mechanisms usable now: the configured ones, less those that carry the password where it may not go. */
export function offeredMechanisms(s: Pick<ImapContext, 'settings' | 'cleartextAllowed'>): string[] {
  return s.settings.saslMechanisms.filter((m) => m === 'CRAM-MD5' || s.cleartextAllowed);
}

export function capabilities(s: Pick<ImapContext, 'state' | 'settings' | 'cleartextAllowed' | 'conn'>): string {
  const caps = [...ALWAYS];
  if (s.state === 'not-authenticated') {
    if (s.conn.canStartTls) caps.push('STARTTLS');
    if (!s.cleartextAllowed) caps.push('LOGINDISABLED');
    for (const m of offeredMechanisms(s)) caps.push(`AUTH=${m}`);
  } else {
    caps.push(...AFTER_SIGN_IN, `APPENDLIMIT=${s.settings.maxAppend}`);
  }
  return caps.join(' ');
}
