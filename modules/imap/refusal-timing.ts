// A mailbox the user may not see (RFC 4314: neither l nor r) is refused with the words of a missing one
// (access.ts); it must not take longer either. Telling it apart costs a look at the mailbox and its
// rights file (0.44 ms against 0.28 ms when measured), so every "No such mailbox" is answered no sooner
// than REFUSAL_FLOOR_MS (20 ms) after the command's line arrived: the hidden and the missing one (and another
// user's account that does not exist) then answer at the same time, as POP's failed sign-ins do
// (pop.authFailureTime). The floor is far above the work, so the work's jitter does not show through.
import { until } from '../../sessions/answer-at.js';
import { MailError, mailErrorOf } from '../../store/contract.js';
import { ImapError } from './imap-error.js';

export const REFUSAL_FLOOR_MS = 20;

function saysNonexistent(err: unknown): boolean {
  if (err instanceof ImapError) return err.code === 'NONEXISTENT';
  return mailErrorOf(err) === MailError.NOTFOUND; // answered NO [NONEXISTENT] (store-errors.ts)
}

/** Waits, when `err` is a "No such mailbox" answer, until REFUSAL_FLOOR_MS after `lineTakenAt` (performance.now()). */
export async function holdNonexistentAnswer(err: unknown, lineTakenAt: number): Promise<void> {
  if (saysNonexistent(err) && performance.now() < lineTakenAt + REFUSAL_FLOOR_MS) await until(lineTakenAt + REFUSAL_FLOOR_MS);
}
