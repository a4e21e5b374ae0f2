import type { TabBusError } from '../errors';
import type { BusItem, Transport, TransportFactory, TransportSink, TransportState } from '../transport';

/**
 * A transport the test drives by hand: `push` plays the server's replies, `status` and `fail` its
 * connection changes and errors; the counters tell what the bus asked of it.
 */
export class FakeTransport<Item extends BusItem> implements Transport<Item> {
  /** Shown in the bus's state. */
  readonly name: string;
  /** What the bus gave `open()`; `undefined` before. */
  sink: TransportSink<Item> | undefined;
  /** How many times `open()` was called (the bus calls it once per transport). */
  opens = 0;
  /** How many times `refresh()` was called (the union of channels changed). */
  refreshes = 0;
  /** How many times `close()` was called. */
  closes = 0;
  /** How many times `paceChanged()` was called (every tab became hidden, or one visible again). */
  paceChanges = 0;
  /** `true` once closed. */
  closed = false;
  /** The union of channels seen at `open()` and at each `refresh()`. */
  readonly unions: (readonly string[])[] = [];

  /** `name` is what `state().transportName` would show. Default `fake`. */
  constructor(name = 'fake') {
    this.name = name;
  }

  /** `true` between `open()` and `close()`. */
  get isOpen(): boolean {
    return this.opens > 0 && !this.closed;
  }

  /** Records the sink and the union, and reports `open`. */
  open(sink: TransportSink<Item>): void {
    this.opens++;
    this.sink = sink;
    this.unions.push(sink.channels());
    sink.status('open');
  }

  /** Counts the refresh and records the new union. */
  refresh(): void {
    this.refreshes++;
    if (this.sink) this.unions.push(this.sink.channels());
  }

  /** Counts the call; the pace itself is `sink.pace()`. */
  paceChanged(): void {
    this.paceChanges++;
  }

  /** Counts the close; `push` and the other server-side calls throw from now on. */
  close(): void {
    this.closes++;
    this.closed = true;
  }

  /** The server answered with these items. Throws if the transport is not open. */
  push(items: readonly Item[]): void {
    this.#open('push').receive(items);
  }

  /** The server's ids restarted below the cursor (call before pushing the reply that shows it). */
  reset(): void {
    this.#open('reset').reset();
  }

  /** The connection changed state. */
  status(state: TransportState): void {
    this.#open('status').status(state);
  }

  /** A request went out (counted in `state().counters.requests`). */
  request(): void {
    this.#open('request').request();
  }

  /** The connection failed: a fatal error stops the bus in every tab, others are reported. */
  fail(error: TabBusError): void {
    this.#open('fail').fail(error);
  }

  #open(what: string): TransportSink<Item> {
    if (!this.sink) throw new Error(`FakeTransport.${what}: the transport was never opened`);
    if (this.closed) throw new Error(`FakeTransport.${what}: the transport is closed`);
    return this.sink;
  }
}

/**
 * The server side of {@link FakeTransport}s: pass `server.transport` as the bus's `transport` option in
 * every tab, then `push` notifications to whichever connections are open (one per scope when the tabs
 * coordinate, one per tab with `coordination: 'none'`).
 *
 * @example
 * ```ts
 * const server = new FakeServer<{ id: number }>();
 * const bus = createBus({ scope: 's', transport: server.transport, env: browser.tab().env() });
 * await bus.start();
 * server.push([{ id: 1 }]);
 * ```
 */
export class FakeServer<Item extends BusItem> {
  /** Every transport the buses created, oldest first. */
  readonly transports: FakeTransport<Item>[] = [];

  /** The transport factory to give the buses. */
  readonly transport: TransportFactory<Item> = () => {
    const transport = new FakeTransport<Item>();
    this.transports.push(transport);
    return transport;
  };

  /** The transports that are open now. */
  connections(): FakeTransport<Item>[] {
    return this.transports.filter((t) => t.isOpen);
  }

  /** Sends `items` down every open connection; throws if there is none. Returns how many got them. */
  push(items: readonly Item[]): number {
    const open = this.connections();
    if (open.length === 0) throw new Error('FakeServer.push: no open connection (has a tab become leader yet?)');
    for (const transport of open) transport.push(items);
    return open.length;
  }
}
