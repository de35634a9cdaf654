// The quota an LDAP attribute gives (attributes.quota), read as Dovecot's quota_rule reads it
// (doc.dovecot.org, "Quota configuration"): "*:storage=1G", "*:bytes=1073741824", "*:messages=1000", or
// several limits in one rule ("*:storage=1G:messages=1000"); storage is in kilobytes unless a suffix
// (b, k, M, G, T) says otherwise, bytes in bytes. A plain number is bytes (the usual LDAP attribute,
// mapped in Dovecot as quota_rule=*:bytes=%$). A rule for another root than "*" (Trash:...) and anything
// unreadable give no limit from the directory: the config's limits apply.

const UNITS: Record<string, number> = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

function size(text: string, defaultUnit: number): number | undefined {
  const m = /^(\d+)\s*([bkmgt]?)$/i.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * (m[2] ? UNITS[m[2].toLowerCase()] : defaultUnit);
}

export function quotaFromValue(value: string | undefined): { storage?: number; messages?: number } | null {
  if (value === undefined) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return { storage: Number(text) };
  const parts = text.split(':');
  if (parts.length > 1 && !parts[0].includes('=')) {
    if (parts[0] !== '*') return null;
    parts.shift();
  }
  const quota: { storage?: number; messages?: number } = {};
  for (const part of parts) {
    const eq = part.indexOf('=');
    if (eq < 0) return null;
    const key = part.slice(0, eq).trim().toLowerCase();
    const v = part.slice(eq + 1);
    if (key === 'storage') quota.storage = size(v, 1024);
    else if (key === 'bytes') quota.storage = size(v, 1);
    else if (key === 'messages') quota.messages = size(v, 1);
    if (quota.storage === undefined) delete quota.storage;
    if (quota.messages === undefined) delete quota.messages;
  }
  return quota.storage === undefined && quota.messages === undefined ? null : quota;
}
