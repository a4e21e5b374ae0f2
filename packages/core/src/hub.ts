import type { Activity } from './activity';
import type { Delivery } from './delivery';
import type { BusEnv } from './env';
import type { TabBusError } from './errors';
import type { BusEvents } from './events';
import type { Frame } from './frames';
import type { LeaderWatch } from './leader-watch';
import type { Link } from './link';
import type { Machine } from './machine';
import type { OnceKeys } from './once';
import type { BusOptions } from './options';
import type { Roster } from './roster';
import type { SharedValues } from './shared';
import type { SharedStore } from './shared-store';
import type { TabInfo } from './tabs';
import type { Term } from './term';
import type { BusItem } from './transport';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A frame as a part writes it: the bus adds the envelope (version, scope, epoch, sender). */
export type FrameBody<Item extends BusItem = BusItem> = DistributiveOmit<Frame<Item>, 'v' | 'scope' | 'epoch' | 'from'>;

/** What a part does with the frames it cares about; called once the envelope and the term checked out. */
export type FrameHandlers<Item extends BusItem = BusItem> = { readonly [T in Frame['type']]?: (frame: Extract<Frame<Item>, { type: T }>) => void };

/** A part of the bus: it may handle frames. */
export interface Part<Item extends BusItem = BusItem> {
  readonly frames?: FrameHandlers<Item>;
  /** This tab left `joining`: it joined its scope (its store and channel are set), or it stopped. */
  settled?(): void;
}

/** The counters `state()` shows; each part counts its own. */
export interface Counters {
  requests: number;
  batches: number;
  delivered: number;
  fenced: number;
  ignored: number;
  steals: number;
}

/**
 * The contract between the facade (`TabBus`) and its parts: the tab, its clock and browser, the role
 * machine, the ways to speak to the other tabs, and the parts themselves, which reach each other only
 * through it. The facade fills it in; a part's unit test fills in what that part uses, with fakes.
 */
export interface Hub<Item extends BusItem = BusItem> {
  readonly env: BusEnv;
  readonly options: BusOptions<Item>;
  readonly tabId: string;
  readonly machine: Machine;
  readonly counters: Counters;
  /** How long the server keeps notifications, in ms (Odoo: 100 s). */
  readonly retention: number;
  /** Channels this tab joined. */
  readonly joined: Set<string>;
  /** The resolved scope; '' until the bus started. */
  scope: string;
  /** The scope's records in localStorage; undefined until the bus started. */
  store: SharedStore | undefined;
  /** When this tab last started (ms since epoch). */
  startedAt: number;
  /** Sends a frame to the other tabs of the scope (nothing while this tab has no channel). */
  post(body: FrameBody<Item>): void;
  /** Emits an event to this tab's listeners. */
  emit<K extends keyof BusEvents<Item> & string>(event: K, value: BusEvents<Item>[K]): void;
  /** Reports an error that does not stop the bus (the `error` event, else the console). */
  report(error: TabBusError): void;
  /** A fatal error: every tab of the scope stops. */
  halt(error: TabBusError): void;
  /** Something `state()` shows may have changed: the bus re-evaluates duties and emits `state`. */
  changed(): void;
  /** Whether this page is visible. */
  visible(): boolean;
  /** This tab's entry in the tab map. */
  self(): TabInfo;

  // The parts.
  readonly roster: Roster<Item>;
  readonly term: Term<Item>;
  readonly link: Link;
  readonly delivery: Delivery<Item>;
  /** The watch of a frozen leader, while this tab can run one. */
  watch: LeaderWatch | undefined;
  readonly activity: Activity | undefined;
  readonly once: OnceKeys | undefined;
  readonly shared: SharedValues | undefined;
}

/** What the optional features (once, shared, presence input) get of the hub: nothing that depends on the item type. */
export type FeatureHub = Pick<Hub, 'env' | 'tabId' | 'scope' | 'store' | 'machine' | 'post' | 'report' | 'link'>;
