// Direct Mailbox Addressing (CommuniGate): does a message's X-Real-To header (or the configured one)
// list a given name? Only the header section is read, at most 64 KiB of it.
import { open } from 'node:fs/promises';
import { READ_NO_FOLLOW } from './real-folders.js';

const HEADER_LIMIT = 64 * 1024;

/** The header section of the file at `path`, unfolded into one string per field. */
async function readHeaderFields(path: string): Promise<string[]> {
  const handle = await open(path, READ_NO_FOLLOW);
  try {
    const buf = Buffer.alloc(HEADER_LIMIT);
    const { bytesRead } = await handle.read(buf, 0, HEADER_LIMIT, 0);
    const text = buf.toString('latin1', 0, bytesRead);
    const end = text.search(/\r?\n\r?\n/);
    const head = end < 0 ? text : text.slice(0, end);
    return head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/);
  } finally {
    await handle.close();
  }
}

/** True when a `header` field of the message lists `name` (as a bare name or as name@domain). */
export async function headerListsName(path: string, header: string, name: string): Promise<boolean> {
  const prefix = `${header.toLowerCase()}:`;
  const wanted = name.toLowerCase();
  for (const field of await readHeaderFields(path)) {
    if (!field.toLowerCase().startsWith(prefix)) continue;
    for (const token of field.slice(prefix.length).split(/[\s,;<>"]+/)) {
      const t = token.toLowerCase();
      if (t === wanted || t.startsWith(`${wanted}@`)) return true;
    }
  }
  return false;
}
