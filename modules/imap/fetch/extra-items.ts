// FETCH items of the smaller extensions: SAVEDATE (RFC 8514), EMAILID and THREADID (RFC 8474 OBJECTID),
// PREVIEW (RFC 8970). Parsed here and answered here, so fetch-items.ts and fetch.ts only name them.
import type { MessageInfo } from '../../../store/contract.js';
import { bad } from '../imap-error.js';
import type { MimePart } from '../../../mime/mime-tree.js';
import type { SelectedMailbox } from '../selected.js';
import type { Cursor } from '../wire/cursor.js';
import { formatDateTime } from '../wire/date-time.js';
import { imapString } from '../wire/encode.js';
import { quoteClient } from '../../../sessions/client-text.js';
import { previewText } from './preview.js';

export type ExtraItem = { kind: 'SAVEDATE' | 'EMAILID' | 'THREADID' } | { kind: 'PREVIEW'; lazy: boolean };

/** The item named `name` (already read) if it is one of these; PREVIEW reads its "(LAZY)" modifier. */
export function parseExtraItem(name: string, a: Cursor): ExtraItem | null {
  if (name === 'SAVEDATE' || name === 'EMAILID' || name === 'THREADID') return { kind: name };
  if (name !== 'PREVIEW') return null;
  let lazy = false;
  // RFC 8970 section 3: PREVIEW (LAZY); a space then "(" is the modifier list, not the next item
  if (a.peek() === 0x20 && a.peekAt(1) === 0x28) {
    a.sp();
    a.list(() => {
      const modifier = a.atom('a PREVIEW modifier').toUpperCase();
      if (modifier !== 'LAZY') throw bad(`Unknown PREVIEW modifier ${quoteClient(modifier, 20)}`);
      lazy = true;
    }, 'the PREVIEW modifiers');
  }
  return { kind: 'PREVIEW', lazy };
}

/** True for the items that read the message's octets. */
export function extraNeedsContent(item: { kind: string }): boolean {
  return item.kind === 'PREVIEW';
}

export function isExtraItem(item: { kind: string }): item is ExtraItem {
  return item.kind === 'SAVEDATE' || item.kind === 'EMAILID' || item.kind === 'THREADID' || item.kind === 'PREVIEW';
}

/** EMAILID and THREADID: answered from the view alone, as UID and FLAGS are (fetch.ts's fast path). */
export function isIdItem(item: { kind: string }): boolean {
  return item.kind === 'EMAILID' || item.kind === 'THREADID';
}

/** EMAILID or THREADID of the message. */
export function idItem(item: { kind: string }, m: SelectedMailbox, info: MessageInfo): string {
  return item.kind === 'THREADID' ? 'THREADID NIL' : `EMAILID (${m.view.emailId(info)})`;
}

/**
 * One item's answer. THREADID is NIL: the store keeps no thread ids (RFC 8474 section 5.2 allows it, and
 * Dovecot answers so when it has none). PREVIEW (LAZY) is answered as PREVIEW: the preview is always made.
 */
export async function extraItem(
  item: ExtraItem,
  m: SelectedMailbox,
  info: MessageInfo,
  message: () => Promise<{ raw: Buffer; tree: MimePart }>,
): Promise<Buffer> {
  switch (item.kind) {
    case 'SAVEDATE':
      // the day with two digits, as Dovecot writes it (date-day-fixed allows both forms)
      return Buffer.from(`SAVEDATE "${formatDateTime(await m.view.saveDate(info.uid)).replace(/^ /, '0')}"`);
    case 'EMAILID':
    case 'THREADID':
      return Buffer.from(idItem(item, m, info));
    case 'PREVIEW': {
      const { raw, tree } = await message();
      return Buffer.concat([Buffer.from('PREVIEW '), imapString(previewText(raw, tree))]);
    }
  }
}
