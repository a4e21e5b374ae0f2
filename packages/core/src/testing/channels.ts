import type { FrameChannel } from '../env';
import type { Clock } from './clock';
import { clockHost, type TaskHost } from './host';

/** One message posted on a {@link FakeChannelHub}, as logged in {@link FakeChannelHub.posted}. */
export interface PostedMessage {
  /** The channel name. */
  readonly name: string;
  /** A structured clone of what was posted. */
  readonly data: unknown;
  /** The id of the page that posted it (`inject` for {@link FakeChannelHub.inject}). */
  readonly from: string;
}

/** A channel of a {@link FakeChannelHub}: a `FrameChannel`, plus whether it is still open. */
export interface FakeChannel extends FrameChannel {
  /** The channel name it was opened with. */
  readonly name: string;
  /** `false` after `close()`, or once its page died. */
  readonly open: boolean;
}

interface Endpoint {
  readonly name: string;
  readonly host: TaskHost;
  readonly listeners: Set<(data: unknown) => void>;
  closed: boolean;
}

/**
 * The `BroadcastChannel`s of one origin. Like the real ones, a message goes to every other open channel
 * of the same name (other tabs, and other channels of the same tab), never back to the channel that posted
 * it; each receiver gets its own structured clone, in a later task of its page; posting on a closed channel
 * does nothing, and a channel closed before a message lands never sees it.
 */
export class FakeChannelHub {
  /** Every message posted, oldest first, for assertions. */
  readonly posted: PostedMessage[] = [];
  readonly #endpoints = new Set<Endpoint>();
  readonly #defaultHost: TaskHost;
  readonly #kind: string;

  /**
   * `kind` is what the channels report as `FrameChannel.kind` (default `fake`); `clock` runs the messages
   * of channels opened without a host (default: real time).
   */
  constructor(options: { kind?: string; clock?: Clock } = {}) {
    this.#kind = options.kind ?? 'fake';
    this.#defaultHost = clockHost(options.clock, 'channels');
  }

  /** Opens a channel named `name` in the page `host` (its messages are tasks of that page). */
  open(name: string, host: TaskHost = this.#defaultHost): FakeChannel {
    const endpoint: Endpoint = { name, host, listeners: new Set(), closed: false };
    this.#endpoints.add(endpoint);
    return {
      kind: this.#kind,
      name,
      get open() {
        return !endpoint.closed && endpoint.host.alive;
      },
      post: (data) => {
        if (endpoint.closed || !host.alive) return;
        this.#send(name, data, host.id, endpoint);
      },
      listen: (listener) => void endpoint.listeners.add(listener),
      close: () => {
        endpoint.closed = true;
        this.#endpoints.delete(endpoint);
      },
    };
  }

  /**
   * Delivers `data` to every open channel named `name` of a live page, as if posted from a page the test
   * does not model. Unlike `post`, it delivers synchronously, so the test can check the outcome right after
   * (a frozen page still gets it only when it thaws).
   */
  inject(name: string, data: unknown): void {
    this.posted.push({ name, data: structuredClone(data), from: 'inject' });
    for (const target of [...this.#endpoints]) {
      if (target.name !== name || target.closed || !target.host.alive) continue;
      const copy = structuredClone(data);
      if (target.host.frozen) target.host.task(() => this.#deliver(target, copy));
      else this.#deliver(target, copy);
    }
  }

  /** How many channels named `name` (or of any name) are open. */
  openCount(name?: string): number {
    let n = 0;
    for (const e of this.#endpoints) if (!e.closed && e.host.alive && (name === undefined || e.name === name)) n++;
    return n;
  }

  /** Closes every channel of the page `host` (it died). */
  closeHost(host: TaskHost): void {
    for (const e of [...this.#endpoints]) {
      if (e.host !== host) continue;
      e.closed = true;
      this.#endpoints.delete(e);
    }
  }

  #send(name: string, data: unknown, from: string, sender: Endpoint | undefined): void {
    // structuredClone throws DataCloneError for functions and the like, as postMessage does.
    this.posted.push({ name, data: structuredClone(data), from });
    for (const target of this.#endpoints) {
      if (target === sender || target.name !== name || target.closed) continue;
      const copy = structuredClone(data);
      target.host.task(() => this.#deliver(target, copy));
    }
  }

  #deliver(target: Endpoint, data: unknown): void {
    if (target.closed || !target.host.alive) return;
    let failure: { error: unknown } | undefined;
    for (const listener of [...target.listeners]) {
      try {
        listener(data);
      } catch (error) {
        failure ??= { error };
      }
    }
    // One listener's exception does not keep the message from the others; it is then reported.
    if (failure) throw failure.error;
  }
}
