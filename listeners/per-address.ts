// Things counted per client address, in the order they came: connections a listener is shaking hands
// with, sessions of a module. Limits per address and in all are read off it.
export class PerAddress<T> {
  private readonly byAddress = new Map<string, Set<T>>();
  private readonly all = new Set<T>();

  get size(): number {
    return this.all.size;
  }

  count(address: string): number {
    return this.byAddress.get(address)?.size ?? 0;
  }

  add(address: string, item: T): void {
    this.all.add(item);
    const set = this.byAddress.get(address) ?? new Set<T>();
    set.add(item);
    this.byAddress.set(address, set);
  }

  /** Removes it; false when it was not there. */
  delete(address: string, item: T): boolean {
    if (!this.all.delete(item)) return false;
    const set = this.byAddress.get(address);
    set?.delete(item);
    if (set?.size === 0) this.byAddress.delete(address);
    return true;
  }

  /** Oldest first: from one address, or from all of them. */
  values(address?: string): Iterable<T> {
    return address === undefined ? this.all : (this.byAddress.get(address) ?? []);
  }
}
