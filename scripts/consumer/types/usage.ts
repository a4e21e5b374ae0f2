// Type-checked by scripts/check-consumer.mjs in a scratch project that npm-installed the packed tarballs,
// three times: as usage.mts (node16, ESM), usage.cts (node16, CommonJS: the `.d.cts` declarations) and
// usage.ts (bundler). The declarations themselves are checked too (skipLibCheck: false).
import { createBus, TabBus, type BusState, type Role } from '@tabbus/core';
import { FakeBrowser, FakeServer } from '@tabbus/core/testing';
import { createEffects, type Effects } from '@tabbus/core/effects';
import { createOdooBus, isSessionExpired, TabBusError, type OdooBus, type OdooNotification } from '@tabbus/odoo';
import { watchJobs, type JobUpdate } from '@tabbus/odoo/jobs';

const bus: OdooBus = createOdooBus({ serverUrl: 'https://erp.example.com', db: 'prod', version: 17, uid: 7, channels: ['sales'], start: false });
const off: () => void = bus.on('notification', (items: readonly OdooNotification[]) => {
  for (const item of items) {
    const id: number = item.id;
    void id;
  }
});
bus.on('error', (error: TabBusError) => {
  const fatal: boolean = error.fatal;
  void fatal;
  void isSessionExpired(error);
});
const state: BusState = bus.state();
const role: Role = state.role;
void role;
// @ts-expect-error a channel name is a string
bus.addChannel(42);
off();

const jobs = watchJobs(bus, { uid: 7 });
jobs.on((update: JobUpdate) => void update.progress);

const effects: Effects = createEffects(bus);
void effects;

interface Note {
  id: number;
  text: string;
}
const browser = new FakeBrowser();
const server = new FakeServer<Note>();
const fake: TabBus<Note> = createBus<Note>({ scope: 'https://api.test|user-7', transport: server.transport, env: browser.tab().env() });
fake.on('notification', (notes) => notes.map((note: Note) => note.text));
