// A set of UIDs kept as ascending, disjoint ranges: what an IMAP session holds as \Recent. The UIDs a
// session takes come in runs (everything above the first-seen mark at SELECT, each delivery after), so
// the first SELECT of a 100,000-message mailbox keeps one range where a Set kept 100,000 entries (2-3 MB).
// Adding in ascending order, the usual case, extends the last range in constant time; a lookup or a
// removal finds its range by binary search.

export class UidRanges {
  /** Range i is starts[i]..ends[i] (inclusive); ends[i] + 1 < starts[i + 1]. */
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The index of the range holding `uid`, or -(the index it would be inserted at) - 1. */
  private find(uid: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (uid < this.starts[mid]) hi = mid - 1;
      else if (uid > this.ends[mid]) lo = mid + 1;
      else return mid;
    }
    return -lo - 1;
  }

  has(uid: number): boolean {
    return this.find(uid) >= 0;
  }

  add(uid: number): void {
    const last = this.ends.length - 1;
    if (last >= 0 && uid > this.ends[last]) {
      if (uid === this.ends[last] + 1) this.ends[last] = uid;
      else {
        this.starts.push(uid);
        this.ends.push(uid);
      }
      this.count += 1;
      return;
    }
    const at = this.find(uid);
    if (at >= 0) return;
    const i = -at - 1; // ranges before i end below uid, ranges from i start above it
    const joinsBefore = i > 0 && this.ends[i - 1] + 1 === uid;
    const joinsAfter = i < this.starts.length && this.starts[i] - 1 === uid;
    if (joinsBefore && joinsAfter) {
      this.ends[i - 1] = this.ends[i];
      this.starts.splice(i, 1);
      this.ends.splice(i, 1);
    } else if (joinsBefore) this.ends[i - 1] = uid;
    else if (joinsAfter) this.starts[i] = uid;
    else {
      this.starts.splice(i, 0, uid);
      this.ends.splice(i, 0, uid);
    }
    this.count += 1;
  }

  delete(uid: number): boolean {
    const i = this.find(uid);
    if (i < 0) return false;
    const start = this.starts[i];
    const end = this.ends[i];
    if (start === end) {
      this.starts.splice(i, 1);
      this.ends.splice(i, 1);
    } else if (uid === start) this.starts[i] = uid + 1;
    else if (uid === end) this.ends[i] = uid - 1;
    else {
      this.ends[i] = uid - 1;
      this.starts.splice(i + 1, 0, uid + 1);
      this.ends.splice(i + 1, 0, end);
    }
    this.count -= 1;
    return true;
  }

  /** How many ranges are kept (what the memory costs). */
  get rangeCount(): number {
    return this.starts.length;
  }
}
