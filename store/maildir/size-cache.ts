// POP sizes of messages whose names carry no W= (written by another delivery agent). Each is measured
// once by reading the file, then remembered in postern-sizes-v2.json in the mailbox folder. Messages
// never change in a Maildir, so a size never goes stale; entries for removed messages are pruned.
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../lib/atomic-file.js';
import { inheritOwner } from './owner.js';
import { READ_NO_FOLLOW } from './real-folders.js';
import { CrlfSizeCounter } from '../crlf-size.js';

// v2: sizes without a line end added to an unterminated last line (the first file counted one)
const FILE = 'postern-sizes-v2.json';

export async function measurePopSize(path: string): Promise<number> {
  const counter = new CrlfSizeCounter();
  const handle = await open(path, READ_NO_FOLLOW);
  try {
    for await (const chunk of handle.createReadStream({ highWaterMark: 256 * 1024, autoClose: false })) counter.add(chunk as Buffer);
  } finally {
    await handle.close();
  }
  return counter.size;
}

export class SizeCache {
  private changed = false;

  private constructor(
    private readonly folder: string,
    private readonly sizes: Map<string, number>,
  ) {}

  static async load(folder: string): Promise<SizeCache> {
    const sizes = new Map<string, number>();
    try {
      const data = JSON.parse(await readFile(join(folder, FILE), 'utf8')) as Record<string, unknown>;
      for (const [base, size] of Object.entries(data)) if (typeof size === 'number') sizes.set(base, size);
    } catch {
      // Missing or damaged: every size is measured again, nothing is lost.
    }
    return new SizeCache(folder, sizes);
  }

  async sizeOf(base: string, path: string): Promise<number> {
    const known = this.sizes.get(base);
    if (known !== undefined) return known;
    const size = await measurePopSize(path);
    this.sizes.set(base, size);
    this.changed = true;
    return size;
  }

  /** Writes the cache back if anything was measured, keeping only the bases still present. */
  async save(present: ReadonlySet<string>): Promise<void> {
    if (!this.changed) return;
    const out: Record<string, number> = {};
    for (const [base, size] of this.sizes) if (present.has(base)) out[base] = size;
    await writeFileAtomic(join(this.folder, FILE), JSON.stringify(out), 0o600)
      .then(() => inheritOwner(join(this.folder, FILE), { created: true }))
      .catch(() => {});
  }
}
