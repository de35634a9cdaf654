// An account's Sieve scripts and delivery memory in memory (SieveScripts, DeliveryMemory of
// store/contract.ts): the same answers as the Maildir store's (store/maildir/sieve-scripts.ts,
// store/maildir/delivery-memory.ts), for fast tests.
import {
  checkSieveScriptName,
  type DeliveryMemory,
  MailError,
  MailStoreError,
  type SieveScriptEntry,
  type SieveScripts,
} from '../contract.js';

/** The state of one account: its scripts by name, the active one's name. */
export class MemorySieveState {
  readonly scripts = new Map<string, Buffer>();
  active: string | null = null;
  /** Remembered keys and when (ms since the epoch) each expires. */
  readonly memory = new Map<string, number>();
}

export class MemorySieveScripts implements SieveScripts {
  constructor(private readonly state: MemorySieveState) {}

  async list(): Promise<SieveScriptEntry[]> {
    return [...this.state.scripts]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, content]) => ({ name, active: name === this.state.active, size: content.length }));
  }

  async get(name: string): Promise<Buffer | null> {
    const content = this.state.scripts.get(checkSieveScriptName(name));
    return content ? Buffer.from(content) : null;
  }

  async put(name: string, content: Buffer): Promise<void> {
    this.state.scripts.set(checkSieveScriptName(name), Buffer.from(content));
  }

  async delete(name: string): Promise<void> {
    this.existing(name);
    if (this.state.active === name) throw new MailStoreError(MailError.NOTPOSSIBLE, 'the active script cannot be deleted');
    this.state.scripts.delete(name);
  }

  async rename(from: string, to: string): Promise<void> {
    const content = this.existing(from);
    if (this.state.scripts.has(checkSieveScriptName(to)))
      throw new MailStoreError(MailError.EXISTS, `a script named "${to}" exists already`);
    this.state.scripts.set(to, content);
    this.state.scripts.delete(from);
    if (this.state.active === from) this.state.active = to;
  }

  async setActive(name: string | null): Promise<void> {
    if (name !== null) this.existing(name);
    this.state.active = name;
  }

  async active(): Promise<{ name: string; content: Buffer } | null> {
    const name = this.state.active;
    const content = name === null ? undefined : this.state.scripts.get(name);
    return name !== null && content ? { name, content: Buffer.from(content) } : null;
  }

  /** The script's content, or NOTFOUND. */
  private existing(name: string): Buffer {
    const content = this.state.scripts.get(checkSieveScriptName(name));
    if (!content) throw new MailStoreError(MailError.NOTFOUND, `there is no script named "${name}"`);
    return content;
  }
}

export class MemoryDeliveryMemory implements DeliveryMemory {
  constructor(private readonly state: MemorySieveState) {}

  async seen(key: string): Promise<boolean> {
    const until = this.state.memory.get(key);
    return until !== undefined && until > Date.now();
  }

  async remember(key: string, seconds: number): Promise<void> {
    const now = Date.now();
    for (const [k, until] of this.state.memory) if (until <= now) this.state.memory.delete(k);
    this.state.memory.set(key, now + seconds * 1000);
  }
}
