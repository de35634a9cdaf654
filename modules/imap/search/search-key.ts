// The parsed form of an IMAP SEARCH (RFC 9051 section 6.4.4, RFC 3501 section 6.4.4): a tree of keys
// the parser (commands) builds and evaluate.ts checks against one message at a time. Sequence sets are
// already resolved to the UIDs they meant when the command arrived.

/** Dates compare by calendar day only, in the time zone of the date (RFC 9051: "disregarding time and timezone"). */
export interface SearchDay {
  readonly year: number;
  readonly month: number; // 1-12
  readonly day: number; // 1-31
}

export type SearchKey =
  | { readonly kind: 'all' }
  | { readonly kind: 'and'; readonly keys: readonly SearchKey[] }
  | { readonly kind: 'or'; readonly a: SearchKey; readonly b: SearchKey }
  | { readonly kind: 'not'; readonly key: SearchKey }
  /** Message numbers or UIDs, resolved to the set of UIDs they name. */
  | { readonly kind: 'uids'; readonly uids: ReadonlySet<number> }
  /** A flag or keyword set (SEEN, ANSWERED, KEYWORD x...) or unset (UNSEEN, UNKEYWORD x...). */
  | { readonly kind: 'flag'; readonly flag: string; readonly set: boolean }
  /** RECENT (recent: true) and OLD (false): \Recent as the session knows it. NEW is RECENT and UNSEEN. */
  | { readonly kind: 'recent'; readonly recent: boolean }
  /** BEFORE/ON/SINCE (internal date), SENTBEFORE/SENTON/SENTSINCE (the Date: header), SAVEDBEFORE/... (RFC 8514 save date). */
  | {
      readonly kind: 'date';
      readonly field: 'internal' | 'sent' | 'saved';
      readonly op: 'before' | 'on' | 'since';
      readonly day: SearchDay;
    }
  /**
   * WITHIN (RFC 5032): OLDER n holds when the internal date is at least n seconds before `now`, YOUNGER n
   * when it is at most n seconds before (seconds as Dovecot counts them); `now` is the command's arrival.
   */
  | { readonly kind: 'within'; readonly op: 'older' | 'younger'; readonly seconds: number; readonly now: number }
  /** LARGER/SMALLER: RFC822.SIZE (CRLF octets). */
  | { readonly kind: 'size'; readonly op: 'larger' | 'smaller'; readonly octets: number }
  /**
   * FROM/TO/CC/BCC/SUBJECT and HEADER name value: the decoded field contains `value` (case-insensitive); HEADER x "" holds when
   * the field exists. `address` (FROM/TO/CC/BCC): the field's addresses as parsed, not its raw text (search/address-text.ts).
   */
  | {
      readonly kind: 'header';
      readonly field: string;
      readonly value: string;
      readonly address?: boolean;
      /** SUBJECT: runs of white space in the field count as one space (mime/mime-text.ts subjectSearchText); HEADER Subject: as written. */
      readonly subject?: boolean;
    }
  /** BODY: the decoded body text contains it; TEXT: the header or the body does. */
  | { readonly kind: 'text'; readonly where: 'body' | 'text'; readonly value: string }
  /** MODSEQ n (RFC 7162 section 3.1.5): the message's modseq is n or higher. */
  | { readonly kind: 'modseq'; readonly modseq: number };
