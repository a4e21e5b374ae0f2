import type { Hub, Part } from './hub';
import type { Liveness } from './liveness';
import { createTabRegistry, type TabRegistry } from './tabs';
import type { BusItem } from './transport';

/** The tabs of the scope as this tab knows them. */
export interface Roster<Item extends BusItem = BusItem> extends Part<Item> {
  readonly tabs: TabRegistry;
  /** Starts over with this tab alone. */
  reset(): void;
  /** The lifetime locks (Web Locks mode): dead tabs are noticed, so the map is never rebuilt. */
  useLifetimes(liveness: Liveness): void;
  /** This tab's own entry changed (channels, visibility): update the map and tell the others. `join` asks for a welcome. */
  announce(join?: boolean): void;
  /** Watches the lifetime locks of exactly these tabs. */
  track(ids: readonly string[]): void;
  /** Lets go of the lifetime locks: this tab's own and those it watched. */
  release(): void;
}

/**
 * Each tab says hello (its channels and visibility) when it starts, when they change and in answer to
 * a new term's `lead`; the leader welcomes a newcomer with the whole map. A tab that closes says bye; one
 * that crashes is found by its lifetime lock (Web Locks mode), which the leader watches for every tab and
 * each visible follower for the watcher (see TabBus).
 */
export function createRoster<Item extends BusItem>(hub: Pick<Hub<Item>, 'tabId' | 'machine' | 'post' | 'changed' | 'self' | 'term' | 'link'>): Roster<Item> {
  const tabs = createTabRegistry();
  const { tabId, machine } = hub;
  let liveness: Liveness | undefined;
  const unionChanged = (changed: boolean) => changed && hub.link.unionChanged();
  /** A watched tab's lifetime lock freed: it closed or crashed. The leader tells the others. */
  const gone = (id: string) => {
    if (machine.role === 'leader') hub.post({ type: 'bye', tab: id });
    unionChanged(tabs.remove(id));
    hub.changed();
  };
  const roster: Roster<Item> = {
    tabs,
    reset() {
      tabs.clear();
      tabs.upsert(hub.self());
    },
    useLifetimes(l) {
      liveness = l;
    },
    announce(join) {
      const self = hub.self();
      unionChanged(tabs.upsert(self));
      hub.post({ type: 'hello', tab: self, ...(join && { join }) });
    },
    track: (ids) => void liveness?.track(ids, gone),
    release() {
      liveness?.track([], gone);
      liveness?.release();
      liveness = undefined;
    },
    frames: {
      hello(frame) {
        const changed = tabs.upsert(frame.tab);
        if (frame.join && machine.role === 'leader') {
          hub.post({ type: 'welcome', to: frame.from, tabs: tabs.list(), transport: machine.transport, cursor: hub.link.cursor, checked: hub.link.checked });
        }
        unionChanged(changed);
        if (frame.tab.id === hub.term.leaderId) hub.term.claim();
      },
      // About this tab, from a leader that saw its lifetime lock free: this tab stopped (or went into the
      // back/forward cache) and started again, and that leader, frozen meanwhile, heard of the stop late. The
      // others dropped this tab, and with it its channels: say hello again.
      bye: (frame) => void (frame.tab === tabId ? roster.announce() : unionChanged(tabs.remove(frame.tab))),
      lead(frame) {
        // Without lifetime locks a dead tab stays in the map: start over from the tabs that answer this
        // term's `lead` (they all say hello, to everyone), as the new leader does.
        if (!liveness) tabs.retainOnly(tabId);
        // Tabs that started before anyone led got no welcome: this is how they learn the leader's info.
        unionChanged(tabs.upsert(frame.tab));
        roster.announce();
      },
      welcome(frame) {
        for (const tab of frame.tabs) if (tab?.id !== tabId) tabs.upsert(tab);
        hub.term.claim();
      },
    },
  };
  return roster;
}
