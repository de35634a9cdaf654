// Commands valid in every state: CAPA (RFC 2449 section 5) and QUIT (RFC 1939 sections 4 and 6).
import { formatAddress } from '../../accounts/names.js';
import { offeredMechanisms } from './auth-commands.js';
import { PopError } from './pop-error.js';
import type { PopSession } from './session.js';

/** The capabilities this session offers now (RFC 2449 section 6). */
export function capabilities(s: PopSession): string[] {
  const caps = ['TOP', 'UIDL'];
  if (s.state === 'AUTHORIZATION') {
    if (s.settings.userPass && s.cleartextAllowed) caps.push('USER');
    const sasl = offeredMechanisms(s).map((m) => m.name);
    if (sasl.length > 0) caps.push(`SASL ${sasl.join(' ')}`);
    if (s.conn.canStartTls) caps.push('STLS');
  }
  caps.push('RESP-CODES', 'PIPELINING', 'AUTH-RESP-CODE');
  if (s.state === 'TRANSACTION') caps.push('XTND XMIT'); // mail submission, only after signing in
  caps.push('IMPLEMENTATION Postern');
  return caps;
}

export function capa(s: PopSession): void {
  s.send('+OK Capability list follows');
  s.sendBody(capabilities(s).map((c) => `${c}\r\n`).join(''));
}

export async function quit(s: PopSession): Promise<void> {
  if (s.state === 'AUTHORIZATION') {
    s.close('quit', '+OK Postern signing off');
    return;
  }
  // UPDATE: apply the deletion marks. Only QUIT gets here; a dropped connection applies nothing.
  s.state = 'UPDATE';
  const m = s.maildrop!;
  const indexes = m.deletedIndexes();
  const result = indexes.length > 0 ? await m.snapshot.commit(indexes) : { removed: 0, failed: 0 };
  s.stats.deleted = result.removed;
  s.stats.deletedOctets = indexes.reduce((sum, i) => sum + m.snapshot.size(i), 0);
  if (result.failed > 0) {
    s.log.error({ user: formatAddress(s.address!), failed: result.failed }, 'some deleted messages could not be removed');
    s.close('quit', new PopError('SYS/TEMP', `${result.failed} deleted messages could not be removed; the others were`).line);
    return;
  }
  s.close('quit', `+OK Postern signing off (${m.count} messages left)`);
}
