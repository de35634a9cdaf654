// What a Sieve run is given and what it decides (the contract between the language in sieve/ and those who
// carry its decisions out: delivery/ stores, relays and remembers; `postern sieve test` prints them in the
// form Pigeonhole's sieve-test prints them). A run never touches a mailbox, a socket or a file: it reads the
// message and answers a list of actions.

/** The SMTP envelope of the delivery (RFC 5228 section 5.4, the envelope test). */
export interface SieveEnvelope {
  /** MAIL FROM, without <>; "" for the null sender. */
  readonly from: string;
  /** The RCPT TO this run is for, as the MTA gave it (with its +detail). */
  readonly to: string;
  /** The original recipient when the MTA passed one (LMTP's ORCPT), else `to`. */
  readonly originalTo?: string;
  /** The signed-in user who submitted it, when known (envelope "auth"). */
  readonly auth?: string;
}

/** What a run reads besides the message. */
export interface SieveRunInput {
  /** The message as it will be stored (with the headers delivery adds: Return-Path, X-Real-To). */
  readonly message: Buffer;
  readonly envelope: SieveEnvelope;
  /** The account's own addresses (vacation's default :addresses, its From:). The first is the account's name. */
  readonly ownAddresses: readonly string[];
  /** The account's mailboxes (mailboxexists, fileinto's target check). */
  readonly mailboxes: readonly string[];
  /** The environment items (RFC 5183): domain, host, location, name, phase, version, ... */
  readonly environment: Readonly<Record<string, string>>;
  /** "now" for currentdate and vacation. */
  readonly now: Date;
}

/** What a run asks of the one who runs it while it runs (answered by delivery from the account's memory). */
export interface SieveRunHooks {
  /** The duplicate test (RFC 7352): was this id tracked for the account and not yet expired? */
  seen(key: string): Promise<boolean>;
}

/** One decision of a run, in the order the script took it. */
export type SieveAction =
  /** Store into a mailbox (keep: INBOX). `create`: make the mailbox when missing (RFC 5490 :create). */
  | {
      readonly kind: 'store';
      readonly mailbox: string;
      readonly flags: readonly string[];
      readonly create: boolean;
      /** The implicit keep (no action cancelled it), or an explicit keep/fileinto. */
      readonly implicit: boolean;
    }
  | { readonly kind: 'discard' }
  /** Forward (RFC 5228 section 4.2): the message as stored, to `address`, envelope sender per the RFC. */
  | { readonly kind: 'redirect'; readonly address: string }
  /** Refuse (RFC 5429): `extended` is ereject (refuse in the protocol when possible). */
  | { readonly kind: 'reject'; readonly reason: string; readonly extended: boolean }
  /**
   * Answer the sender (RFC 5230): already checked against the message (no answer to lists, bulk, auto-submitted
   * mail or the null sender, RFC 5230 section 5); the one who carries it out checks `key` against the account's
   * memory (not answered within `periodSeconds`) and then sends `reply` to `to`.
   */
  | {
      readonly kind: 'vacation';
      readonly to: string;
      readonly from: string;
      /** The whole reply message, headers included, ready to send. */
      readonly reply: Buffer;
      readonly key: string;
      readonly periodSeconds: number;
    };

/** What a run decided. When it failed, `actions` is the keep into INBOX and `error` says why. */
export interface SieveOutcome {
  readonly actions: readonly SieveAction[];
  /** Ids the run tracked (duplicate :handle/:uniqueid): remembered for `seconds` once the delivery succeeds. */
  readonly remember: readonly { readonly key: string; readonly seconds: number }[];
  /** The message after editheader (RFC 5293), when the script changed its header; stored and redirected as such. */
  readonly edited: Buffer | null;
  /** A run-time error or a limit reached: the message is kept in INBOX and this goes to the log. */
  readonly error: string | null;
  /** Lines for the log the script asked for or the run noted (one per warning). */
  readonly log: readonly string[];
}
