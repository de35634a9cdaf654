// `postern kick` reaching a session in the middle of a command: the goodbye line cannot go out in the
// middle of an answer (inside a message body or a literal), so the session ends once the command has
// answered; a command still running after KICK_WAIT_MS is cut without a last line.

/** The end reason a kicked session's record gives. */
export const KICKED = 'kicked by the administrator';

/** How long a running command may still take once its session was kicked. */
export const KICK_WAIT_MS = 5000;

export class PendingKick {
  private why: string | null = null;

  /** Remembers the kick for when the running command has answered; `cut` ends the session if that takes too long. */
  request(reason: string, cut: () => void): void {
    if (this.why !== null) return;
    this.why = reason;
    setTimeout(cut, KICK_WAIT_MS).unref();
  }

  /** The reason of a kick waiting for the running command, or null. */
  get reason(): string | null {
    return this.why;
  }
}
