// The signed-in sessions of this process, every protocol's (Dovecot's `doveadm who` reads the same from its
// anvil process): a session adds itself when its client signs in and is gone when it ends. `postern who`
// and `postern kick` (and /admin/who, /admin/kick) ask every process of the server for its list
// (cluster/), so this holds only what one process knows. A kicked session tells its client in its
// protocol's words (IMAP `* BYE`) and closes.

/** One signed-in session, as `postern who` shows it. */
export interface SignedInSession {
  /** The connection id of the log records (cid). */
  readonly id: string;
  /** The account, name@domain. */
  readonly account: string;
  /** The module serving it: pop, imap, managesieve, submission ... */
  readonly protocol: string;
  /** The client's address (behind a proxy: the address the PROXY header gave). */
  readonly remoteAddress: string;
  /** When it signed in (ms since the epoch). */
  readonly since: number;
  /** Ends the session, telling the client `reason` in its protocol's words. */
  kick(reason: string): void;
}

/** What `who` lists of a session: everything but the kick. */
export type SignedInView = Omit<SignedInSession, 'kick'>;

export class SignedInSessions {
  private readonly sessions = new Map<string, SignedInSession>();

  /** Adds a session that signed in; the returned function removes it (call it when the session ends). */
  add(session: SignedInSession): () => void {
    this.sessions.set(session.id, session);
    return () => {
      if (this.sessions.get(session.id) === session) this.sessions.delete(session.id);
    };
  }

  list(): SignedInView[] {
    return [...this.sessions.values()].map(({ id, account, protocol, remoteAddress, since }) => ({
      id,
      account,
      protocol,
      remoteAddress,
      since,
    }));
  }

  /** Kicks the sessions of `account` (of one protocol, or all); returns how many. */
  kick(account: string, protocol: string | null, reason: string): number {
    let n = 0;
    for (const s of [...this.sessions.values()]) {
      if (s.account !== account || (protocol !== null && s.protocol !== protocol)) continue;
      s.kick(reason);
      n += 1;
    }
    return n;
  }

  get size(): number {
    return this.sessions.size;
  }
}
