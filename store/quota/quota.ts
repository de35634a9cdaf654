// Quota (RFC 9208): what an account may keep, in octets and messages, and what it keeps now. Both stores
// count the same way Dovecot's `quota = maildir` backend does: every message of every mailbox of the
// account (Trash too), each by its stored octets (the S= of a Maildir file name). A store checks the room
// before a message is placed (append, copy, a move into another account) and refuses with OverQuotaError
// (MailError.NOQUOTA), so every way mail arrives is refused in one place.

/** Octets and messages: an account's usage, or its limits (0: no limit). */
export interface QuotaValues {
  readonly storage: number;
  readonly messages: number;
}

/** What GETQUOTA and `postern quota` show: the usage and the limits (0: no limit). */
export interface QuotaReport {
  readonly usage: QuotaValues;
  readonly limits: QuotaValues;
}

export const NO_LIMITS: QuotaValues = { storage: 0, messages: 0 };

/** The limits of an account (the config's default, its domain's, its own override). */
export type QuotaLimitsOf = (account: { readonly name: string; readonly domain: string }) => Promise<QuotaValues>;

/** True when some limit is set. */
export function limited(limits: QuotaValues): boolean {
  return limits.storage > 0 || limits.messages > 0;
}

/**
 * The resource `add` would take past a limit, or null when it fits. A message that fills the quota to the
 * last octet fits (Dovecot's quota_test_alloc: refused only when usage + size > limit).
 */
export function overLimit(usage: QuotaValues, limits: QuotaValues, add: QuotaValues): 'storage' | 'messages' | null {
  if (limits.storage > 0 && add.storage > 0 && usage.storage + add.storage > limits.storage) return 'storage';
  if (limits.messages > 0 && add.messages > 0 && usage.messages + add.messages > limits.messages) return 'messages';
  return null;
}

const UNITS: Record<string, number> = { '': 1, B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/**
 * Octets from a number or a size as Dovecot's quota_rule writes it ("1G", "500M", "10k", "2048"; the
 * units are powers of 1024); null when it is none of those.
 */
export function parseSize(value: string | number): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : null;
  const m = /^\s*(\d+)\s*([bkmgt]?)b?\s*$/i.exec(value);
  if (!m) return null;
  const octets = Number(m[1]) * UNITS[m[2].toUpperCase()];
  return Number.isSafeInteger(octets) ? octets : null;
}

/** Octets in the largest whole unit ("1G", "1536M", "100"). */
export function formatSize(octets: number): string {
  for (const unit of ['T', 'G', 'M', 'K'] as const) {
    if (octets >= UNITS[unit] && octets % UNITS[unit] === 0) return `${octets / UNITS[unit]}${unit}`;
  }
  return String(octets);
}
