/** What every tab announces about itself, kept by every tab so a new leader knows the union at once. */
export interface TabInfo {
  /** The tab's id (`bus.tabId`). */
  readonly id: string;
  /** Channels this tab joined, sorted. */
  readonly channels: readonly string[];
  /** Whether the tab's page is visible. */
  readonly visible: boolean;
}

/** The tabs of one scope, and the sorted union of their channels. */
export class TabRegistry {
  readonly #tabs = new Map<string, TabInfo>();
  #union: readonly string[] = [];

  /** Adds or replaces a tab; returns true when the union of channels changed. */
  upsert(tab: TabInfo): boolean {
    this.#tabs.set(tab.id, tab);
    return this.#recompute();
  }

  /** Forgets a tab; returns true when the union of channels changed. */
  remove(id: string): boolean {
    return this.#tabs.delete(id) && this.#recompute();
  }

  /** Forgets every tab but `keep`; returns true when the union changed. */
  retainOnly(keep: string): boolean {
    for (const id of this.#tabs.keys()) if (id !== keep) this.#tabs.delete(id);
    return this.#recompute();
  }

  /** Forgets every tab. */
  clear(): void {
    this.#tabs.clear();
    this.#union = [];
  }

  /**
   * The tab that watches the leader for a freeze: the visible tab with the lowest id, the leader aside.
   * Every tab computes it from its own map, so they agree once the maps do.
   */
  watcher(leaderId: string | null): string | undefined {
    let lowest: string | undefined;
    for (const tab of this.#tabs.values()) if (tab.visible && tab.id !== leaderId && (lowest === undefined || tab.id < lowest)) lowest = tab.id;
    return lowest;
  }

  get(id: string): TabInfo | undefined {
    return this.#tabs.get(id);
  }

  has(id: string): boolean {
    return this.#tabs.has(id);
  }

  ids(): string[] {
    return [...this.#tabs.keys()];
  }

  list(): TabInfo[] {
    return [...this.#tabs.values()];
  }

  get size(): number {
    return this.#tabs.size;
  }

  get visibleCount(): number {
    let n = 0;
    for (const tab of this.#tabs.values()) if (tab.visible) n++;
    return n;
  }

  /** The sorted union of every tab's channels (the same array until it changes). */
  union(): readonly string[] {
    return this.#union;
  }

  #recompute(): boolean {
    const all = new Set<string>();
    for (const tab of this.#tabs.values()) for (const c of tab.channels) all.add(c);
    const next = [...all].sort();
    const changed = next.length !== this.#union.length || next.some((c, i) => c !== this.#union[i]);
    if (changed) this.#union = next;
    return changed;
  }
}

const ID_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-';
/** A new tab id: 10 random characters of 64, 60 bits, plenty for the tabs of one browser. */
export const newTabId = (): string => Array.from(crypto.getRandomValues(new Uint8Array(10)), (b) => ID_ALPHABET[b & 63]).join('');
