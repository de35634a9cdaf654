// Messages the upkeep thread died reading. A thread that runs out of memory or crashes while it makes a
// message's text is replaced (upkeep-thread.ts), and the new one would read the same message, die again after
// every back-off, and the mailbox's index would never get past it. So the messages of the transaction the
// thread was reading when it died become suspects: the next job reads each of them alone, in a transaction of
// its own, and a suspect the thread dies on alone is left out: recorded as not indexed, which SEARCH reads
// every time, exactly as without an index. Kept in the process's memory (a restart tries them again, so a
// message costs at most two deaths per process), per folder and UIDVALIDITY, bounded.

/** Folders remembered at most (forgetting one only means a message is tried again). */
const MAX_FOLDERS = 1000;

interface FolderSuspects {
  readonly uidValidity: number;
  readonly suspects: Set<number>;
  readonly skipped: Set<number>;
}

export class UpkeepSuspects {
  private readonly folders = new Map<string, FolderSuspects>();

  private of(folder: string, uidValidity: number): FolderSuspects {
    let known = this.folders.get(folder);
    if (known === undefined || known.uidValidity !== uidValidity) {
      if (this.folders.size >= MAX_FOLDERS) this.folders.clear();
      known = { uidValidity, suspects: new Set(), skipped: new Set() };
      this.folders.set(folder, known);
    }
    return known;
  }

  /** What a job of the folder reads alone (suspects) and does not read (skipped). */
  forJob(folder: string, uidValidity: number): { suspects: number[]; skipped: number[] } {
    const known = this.folders.get(folder);
    if (known === undefined || known.uidValidity !== uidValidity) return { suspects: [], skipped: [] };
    return { suspects: [...known.suspects], skipped: [...known.skipped] };
  }

  /** The thread died reading `reading` in the folder: returns the messages it now leaves out (read alone, and a suspect already). */
  died(folder: string, uidValidity: number, reading: readonly number[]): number[] {
    const known = this.of(folder, uidValidity);
    if (reading.length === 1 && known.suspects.has(reading[0])) {
      known.suspects.delete(reading[0]);
      known.skipped.add(reading[0]);
      return [reading[0]];
    }
    for (const uid of reading) if (!known.skipped.has(uid)) known.suspects.add(uid);
    return [];
  }
}
