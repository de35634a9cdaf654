// Metadata entries (RFC 5464) of the Maildir store, kept where and as Dovecot keeps them
// (metadata-file.ts): a user's private entries in the user's own dovecot-attributes, the shared ones of a
// mailbox in its owner's, each under the mailbox's GUID. The GUID lives in the mailbox's dovecot-uidlist,
// which a rename carries along: the entries of a mailbox (and of those below it) follow it with no
// change to the file; a deleted mailbox's entries are removed from its owner's file (forgetMailbox).
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { AccountAddress } from '../../accounts/names.js';
import { MailError, MailStoreError, type MetadataScope, MetadataTooManyError } from '../contract.js';
import { ATTRIBUTES_FILE, changeAttributes, formatAttributes, readAttributes } from './metadata-file.js';
import { parseHeader, UidlistError } from './uidlist.js';

/** Where Dovecot keeps server entries: INBOX's, below this key (lib-storage's MAILBOX_ATTRIBUTE_PREFIX_DOVECOT_PVT_SERVER). */
const SERVER_PREFIX = 'vendor/vendor.dovecot/pvt/server/';
/** The most an account's dovecot-attributes may hold (it is read whole, and written whole at each change). */
const MAX_FILE_OCTETS = 4 * 1024 * 1024;
/** Dovecot's own attributes, never shown to a client (nor the server entries among INBOX's). */
const DOVECOT_PRIVATE = 'vendor/vendor.dovecot/pvt/';

/** What the metadata needs of the store: the account's file, and a mailbox's GUID (made when it has none yet). */
export interface MetadataPlaces {
  maildir(account: AccountAddress): string;
  /** The GUID of the mailbox (INBOX for the server entries); MailboxNotFoundError when there is none. */
  guid(account: AccountAddress, mailbox: string): Promise<string>;
  /** Makes the account's Maildir root (its INBOX) when it is not there yet, checked for links like any mailbox. */
  ready(account: AccountAddress): Promise<void>;
}

/**
 * The mailbox GUID in the header of the dovecot-uidlist in `folder`: undefined when there is no uidlist
 * (nobody opened the mailbox yet), null when its header has no GUID.
 */
export async function readMailboxGuid(folder: string): Promise<string | null | undefined> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(join(folder, 'dovecot-uidlist'), 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const buffer = Buffer.alloc(4096);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    const text = buffer.toString('latin1', 0, bytesRead);
    const end = text.indexOf('\n');
    return guidOf(text.slice(0, end < 0 ? text.length : end));
  } finally {
    await handle.close();
  }
}

/** The GUID a uidlist header line holds (uidlist.ts reads it), null when it has none or is no header Dovecot writes. */
function guidOf(header: string): string | null {
  try {
    const { guid } = parseHeader(header);
    return guid !== null && /^[0-9a-f]{32}$/.test(guid) ? guid : null;
  } catch (err) {
    if (err instanceof UidlistError) return null;
    throw err;
  }
}

function fileOf(places: MetadataPlaces, account: AccountAddress): string {
  return join(places.maildir(account), ATTRIBUTES_FILE);
}

function same(a: AccountAddress, b: AccountAddress): boolean {
  return a.name === b.name && a.domain === b.domain;
}

/** The file key of an entry name ("/private/comment": "priv/GUID/comment"), for a mailbox or (server) INBOX. */
function keyOf(entry: string, guid: string, server: boolean): string {
  const priv = entry.startsWith('/private/');
  const rest = entry.slice(priv ? 9 : 8);
  return `${priv ? 'priv' : 'shared'}/${guid}/${server ? SERVER_PREFIX : ''}${rest}`;
}

/** The entries of one kind in a file's entries, by entry name. */
function entriesIn(dict: ReadonlyMap<string, Buffer>, kind: 'priv' | 'shared', guid: string, server: boolean): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const prefix = `${kind}/${guid}/${server ? SERVER_PREFIX : ''}`;
  const name = kind === 'priv' ? '/private/' : '/shared/';
  for (const [key, value] of dict) {
    if (!key.startsWith(prefix)) continue;
    const rest = key.slice(prefix.length);
    if (rest === '' || (!server && rest.startsWith(DOVECOT_PRIVATE))) continue;
    out.set(name + rest, value);
  }
  return out;
}

export async function readMetadata(places: MetadataPlaces, scope: MetadataScope): Promise<Map<string, Buffer>> {
  const server = scope.mailbox === null;
  const guid = await places.guid(scope.owner, scope.mailbox ?? 'INBOX');
  const shared = await readAttributes(fileOf(places, scope.owner));
  const own = same(scope.owner, scope.user) ? shared : await readAttributes(fileOf(places, scope.user));
  return new Map([...entriesIn(shared, 'shared', guid, server), ...entriesIn(own, 'priv', guid, server)]);
}

/** The whole file is read for every command that looks at entries: it may not grow past MAX_FILE_OCTETS. */
function tooBig(before: number, after: number): void {
  if (after > MAX_FILE_OCTETS && after > before)
    throw new MetadataTooManyError(`an account's entries may take at most ${MAX_FILE_OCTETS / 1024 / 1024} MiB`);
}

export async function writeMetadata(
  places: MetadataPlaces,
  scope: MetadataScope,
  changes: ReadonlyMap<string, Buffer | null>,
  maxEntries: number,
): Promise<void> {
  const server = scope.mailbox === null;
  const guid = await places.guid(scope.owner, scope.mailbox ?? 'INBOX');
  for (const value of changes.values())
    if (value?.includes(0))
      throw new MailStoreError(MailError.PARAMS, 'a value with a NUL octet cannot be kept (nor can Dovecot keep one)');
  // each file in its turn (the user's private entries, then the owner's shared ones: one file when they are the same)
  const files = new Map<string, Map<string, Buffer | null>>();
  for (const [entry, value] of changes) {
    const account = entry.startsWith('/private/') ? scope.user : scope.owner;
    const file = fileOf(places, account);
    if (!files.has(file)) {
      await places.ready(account);
      files.set(file, new Map());
    }
    files.get(file)!.set(keyOf(entry, guid, server), value);
  }
  const count = (dict: ReadonlyMap<string, Buffer>) =>
    entriesIn(dict, 'priv', guid, server).size + entriesIn(dict, 'shared', guid, server).size;
  const apply = (dict: Map<string, Buffer>, fileChanges: ReadonlyMap<string, Buffer | null>): boolean => {
    let changed = false;
    for (const [key, value] of fileChanges) {
      if (value === null) changed = dict.delete(key) || changed;
      else if (!dict.get(key)?.equals(value)) {
        dict.set(key, value);
        changed = true;
      }
    }
    return changed;
  };
  // the limit is looked at first for all the files, so that a refusal changes none of them
  const counts = new Map<string, number>();
  let before = 0;
  let after = 0;
  for (const file of new Set([fileOf(places, scope.user), fileOf(places, scope.owner)])) {
    const dict = await readAttributes(file);
    before += count(dict);
    const wasOctets = formatAttributes(dict).length;
    apply(dict, files.get(file) ?? new Map());
    counts.set(file, count(dict));
    after += count(dict);
    tooBig(wasOctets, formatAttributes(dict).length);
  }
  if (after > before && after > maxEntries) throw new MetadataTooManyError(`at most ${maxEntries} entries can be kept here`);
  for (const [file, fileChanges] of files) {
    await changeAttributes(file, (dict) => {
      // looked at again under the lock: another session may have added entries meanwhile
      const was = count(dict);
      const wasOctets = formatAttributes(dict).length;
      const changed = apply(dict, fileChanges);
      const now = count(dict);
      let others = 0;
      for (const [other, n] of counts) if (other !== file) others += n;
      if (now > was && now + others > maxEntries) throw new MetadataTooManyError(`at most ${maxEntries} entries can be kept here`);
      tooBig(wasOctets, changed ? formatAttributes(dict).length : wasOctets);
      return changed;
    });
  }
}

/** The account's private entry `entry` on each mailbox GUID that has it. */
export async function privateEntryByGuid(places: MetadataPlaces, account: AccountAddress, entry: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const rest = entry.slice('/private/'.length);
  for (const [key, value] of await readAttributes(fileOf(places, account))) {
    const m = /^priv\/([0-9a-f]{32})\/(.*)$/s.exec(key);
    if (m && m[2] === rest) out.set(m[1], value);
  }
  return out;
}

/** Removes the entries of a deleted mailbox (its GUID's) from its owner's file. */
export async function forgetMailbox(places: MetadataPlaces, owner: AccountAddress, guid: string): Promise<void> {
  const file = fileOf(places, owner);
  if ((await readAttributes(file)).size === 0) return;
  await changeAttributes(file, (dict) => {
    let changed = false;
    for (const key of [...dict.keys()])
      if (key.startsWith(`priv/${guid}/`) || key.startsWith(`shared/${guid}/`)) changed = dict.delete(key) || changed;
    return changed;
  });
}
