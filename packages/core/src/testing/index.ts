/**
 * `@tabbus/core/testing`: an in-process browser for unit tests of code built on tabbus, in Node, without a
 * browser. A {@link FakeBrowser} is one browser profile; each `tab()` is a page whose `env()` goes to
 * `createBus({ env })`. Tabs share Web Locks, broadcast channels and `localStorage`, and the test drives
 * what a browser would: visibility, bfcache, connectivity, frozen and crashed tabs, and (with a
 * {@link VirtualClock}) time. {@link FakeTransport} and {@link FakeServer} stand in for the server.
 *
 * @packageDocumentation
 */
export { FakeBrowser, FakeTab } from './browser';
export type { FakeBrowserOptions, FakeStorageEvent, FakeTabOptions } from './browser';
export { FakeChannelHub } from './channels';
export type { FakeChannel, PostedMessage } from './channels';
export { realClock, settle, VirtualClock } from './clock';
export type { Clock, VirtualClockOptions } from './clock';
export { ManualElection } from './election';
export type { Campaigner } from './election';
export { clockHost } from './host';
export type { TaskHost } from './host';
export { FakeLockManager } from './locks';
export type { FakeLockInfo, FakeLockSnapshot } from './locks';
export { FakePage } from './page';
export { MemoryStorage } from './storage';
export type { MemoryStorageOptions, StorageArea, StorageChange, StorageFailure } from './storage';
export { FakeServer, FakeTransport } from './transport';
