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
export interface TabRegistry {
  /** Adds or replaces a tab; returns true when the union of channels changed. */
  upsert(tab: TabInfo): boolean;
  /** Forgets a tab; returns true when the union of channels changed. */
  remove(id: string): boolean;
  /** Forgets every tab but `keep`; returns true when the union changed. */
  retainOnly(keep: string): boolean;
  /** Forgets every tab. */
  clear(): void;
  /**
   * The tab that watches the leader for a freeze: the visible tab with the lowest id, the leader aside.
   * Every tab computes it from its own map, so they agree once the maps do.
   */
  watcher(leaderId: string | null): string | undefined;
  get(id: string): TabInfo | undefined;
  ids(): string[];
  list(): TabInfo[];
  readonly size: number;
  readonly visibleCount: number;
  /** The sorted union of every tab's channels (the same array until it changes). */
  union(): readonly string[];
}

/** An empty registry. */
export function createTabRegistry(): TabRegistry {
  const tabs = new Map<string, TabInfo>();
  let union: readonly string[] = [];
  const recompute = (): boolean => {
    const all = new Set<string>();
    for (const tab of tabs.values()) for (const c of tab.channels) all.add(c);
    const next = [...all].sort();
    const changed = JSON.stringify(next) !== JSON.stringify(union);
    if (changed) union = next;
    return changed;
  };
  return {
    upsert(tab) {
      // Any page of the origin may post on the channel: channels that are no strings would reach the
      // server (which refuses the request), and no list at all would break every later union. Such an
      // entry is not kept, without a throw: the rest of its frame (a welcome, a lead) still counts.
      if (!tab?.channels?.every?.((c) => typeof c == 'string')) return false;
      tabs.set(tab.id, tab);
      return recompute();
    },
    remove: (id) => tabs.delete(id) && recompute(),
    retainOnly(keep) {
      for (const id of tabs.keys()) if (id !== keep) tabs.delete(id);
      return recompute();
    },
    clear() {
      tabs.clear();
      union = [];
    },
    watcher(leaderId) {
      let lowest: string | undefined;
      for (const tab of tabs.values()) if (tab.visible && tab.id !== leaderId && (lowest === undefined || tab.id < lowest)) lowest = tab.id;
      return lowest;
    },
    get: (id) => tabs.get(id),
    ids: () => [...tabs.keys()],
    list: () => [...tabs.values()],
    get size() {
      return tabs.size;
    },
    get visibleCount() {
      let n = 0;
      for (const tab of tabs.values()) if (tab.visible) n++;
      return n;
    },
    union: () => union,
  };
}

/** A new tab id: 12 random base-32 digits, 60 bits, plenty for the tabs of one browser (no alphabet to ship). */
export const newTabId = (): string => Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => (b & 31).toString(32)).join('');
