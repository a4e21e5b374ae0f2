import type { TabBusError } from './errors';
import type { Hub } from './hub';
import type { Role, Transition } from './machine';
import type { Mode } from './mode';
import type { TabInfo } from './tabs';
import type { BusItem, TransportState } from './transport';

/** What this tab counted since it was created (`state().counters`). */
export interface BusCounters {
  /** Requests this tab's transport sent. */
  readonly requests: number;
  /** Batches this tab received (from its own transport or from the leader). */
  readonly batches: number;
  /** Notifications this tab delivered to its listeners. */
  readonly delivered: number;
  /** Frames dropped because they came from an older leadership term. */
  readonly fenced: number;
  /** Frames ignored because they were not tabbus frames or spoke another protocol version. */
  readonly ignored: number;
  /** Times this tab took leadership from a leader that stopped answering. */
  readonly steals: number;
}

/** The last error this tab saw, for status displays. */
export interface LastError {
  /** The error's code. */
  readonly code: TabBusError['code'];
  /** The error's message. */
  readonly message: string;
  /** When it happened (ms since epoch). */
  readonly at: number;
}

/** A snapshot of the bus as this tab sees it. */
export interface BusState {
  /** What this tab does for its scope (see Role). */
  readonly role: Role;
  /** The latest change of role and why it happened (`null` before the first start). */
  readonly transition: Transition | null;
  /** This tab's id. */
  readonly tabId: string;
  /** The tab that owns the connection, when known. */
  readonly leaderId: string | null;
  /** The newest leadership term this tab knows of. */
  readonly epoch: number;
  /** The highest notification id this tab delivered. */
  readonly cursor: number;
  /** Open tabs of this scope that this tab knows of (itself included). */
  readonly tabs: number;
  /** Those tabs: id, channels and visibility of each, this tab included. */
  readonly tabList: readonly TabInfo[];
  /** How many of them are visible. */
  readonly visibleTabs: number;
  /** How tabs coordinate here. */
  readonly mode: Mode;
  /** Why this mode: the cross-tab channel in use, or what was missing. */
  readonly modeReason: string;
  /** The resolved scope ('' before the first start). */
  readonly scope: string;
  /** Channels this tab joined. */
  readonly channels: readonly string[];
  /** Channels the connection listens to: the union over all tabs. */
  readonly union: readonly string[];
  /** The connection's state, relayed by the leader to every tab. */
  readonly transport: TransportState;
  /** Which kind of connection the scope uses (`longpolling`, `websocket`), once known (`options.transportName`). */
  readonly transportName: string | undefined;
  /** What this tab counted. */
  readonly counters: BusCounters;
  /** The latest error this tab saw, or null. */
  readonly lastError: LastError | null;
  /** The pause between two requests: 0 while a tab of the scope is visible, `hiddenPace` when none is. */
  readonly pace: number;
  /** Milliseconds since the latest user input in any tab of the scope (what the server is told). */
  readonly inactivity: number;
  /** Whether this tab watches the leader for a freeze: at most one visible follower does (all of them without Web Locks). */
  readonly watching: boolean;
}

/** `state()`: what the hub and its parts hold, as one plain object. */
export function snapshot<Item extends BusItem>(hub: Hub<Item>, mode: Mode, modeReason: string, lastError: LastError | null): BusState {
  const { machine, roster: { tabs }, term, link, activity, watch } = hub;
  return {
    role: machine.role,
    transition: machine.last,
    tabId: hub.tabId,
    leaderId: term.leaderId,
    epoch: term.epoch,
    cursor: hub.delivery.watermark,
    tabs: tabs.size,
    tabList: tabs.list(),
    visibleTabs: tabs.visibleCount,
    mode,
    modeReason,
    scope: hub.scope,
    channels: [...hub.joined].sort(),
    union: tabs.union(),
    transport: machine.transport,
    transportName: hub.options.transportName?.(),
    counters: { ...hub.counters },
    lastError,
    pace: link.pace(),
    inactivity: activity?.inactivity() ?? 0,
    watching: !!watch?.active,
  };
}
