// @tabbus/dev-server: an Odoo-faithful bus server (long-polling for Odoo 8–15, WebSocket for 16–19; in
// memory or on PostgreSQL) for development, demos, e2e tests and benchmarks.
export { createDevServer } from './server';
export type { DevServer, DevServerOptions } from './server';
export type { Clock, TimerHandle } from './clock';
export type { DevServerStats } from './stats';
export type { DevUser } from './sessions';
export type { OdooVersion } from './odoo-version';
export type { TypedMessage } from './publish';
export { PublishError } from './publish';
export { SessionsFileError } from './sessions-file';
export { FAULT_KINDS } from './faults';
export type { FaultKind } from './faults';
export type { PollArrival } from './poll-log';
export type { WebSocketSessionCheck } from './websocket';
export type { PresenceEntry } from './presence';
export type { PresenceStatus } from './presence-rules';
export { ODOO_VERSIONS } from './odoo-version';
export { canMakeCluster, startTempCluster } from './pg/cluster';
export type { TempCluster } from './pg/cluster';
export { notifyPayloads, NOTIFY_MAX_BYTES } from './pg/pg-bus';
