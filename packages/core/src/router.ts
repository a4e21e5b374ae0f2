import { createEmitter } from './emitter';
import { TabBusError } from './errors';
import { checkFrame, FRAME_VERSION, type Frame } from './frames';
import type { Hub, Part } from './hub';
import { IllegalTransition } from './machine';
import type { BusItem } from './transport';

/** Frames after which nothing `state()` shows has changed. */
const QUIET: ReadonlySet<Frame['type']> = new Set(['resync', 'probe', 'claim', 'activity', 'shared', 'once', 'alive']);

/**
 * Takes what arrives on the frames channel to the parts that handle it. Everything is checked first:
 * other pages of the origin may share the channel by accident and other builds of tabbus may speak
 * another version (ignored, and reported once per version, never thrown); frames of an older term are
 * fenced off by the term; frames addressed to another tab (`to`) reach no part. `halt` stops this tab.
 */
export function createRouter<Item extends BusItem>(hub: Pick<Hub<Item>, 'tabId' | 'scope' | 'machine' | 'counters' | 'report' | 'changed' | 'term'>, parts: readonly (Part<Item> | undefined)[], fail: (error: TabBusError) => void): (data: unknown) => void {
  // Each frame type an event. A handler's exception goes on out of `emit` (the handlers after it do not run),
  // to the catch below.
  const handlers = createEmitter<Record<string, Frame<Item>>>((error) => {
    throw error;
  });
  for (const part of parts) {
    for (const [type, handler] of Object.entries(part?.frames ?? {})) handlers.on(type, handler as (frame: Frame<Item>) => void);
  }
  const reported = new Set<unknown>();
  return (data) => {
    if (hub.machine.role === 'stopped') return;
    const frame = checkFrame<Item>(data, hub.scope);
    if (typeof frame === 'string') {
      hub.counters.ignored++;
      // Reported once per version, and only a few: any script may post anything under our channel's name.
      if (frame === 'version') {
        const version = (data as { v: unknown }).v;
        if (!reported.has(version) && reported.size < 4) {
          reported.add(version);
          hub.report(new TabBusError('frame', `frames of protocol version ${version} ignored: this tab speaks ${FRAME_VERSION} (another tabbus version in another tab?)`));
        }
      }
      return;
    }
    if (frame.from === hub.tabId || !hub.term.admit(frame)) return;
    if (!('to' in frame) || frame.to === hub.tabId) {
      try {
        if (frame.type === 'halt') return fail(new TabBusError(frame.code as TabBusError['code'], frame.message.replace(/^tabbus: /, ''), { fatal: true, context: { ...frame.context, from: frame.from } }));
        handlers.emit(frame.type, frame);
      } catch (error) {
        // A bug of ours must be loud; a frame of our version but not of our shape (another page's bug)
        // must not break this tab.
        if (error instanceof IllegalTransition) throw error;
        hub.counters.ignored++;
      }
    }
    if (!QUIET.has(frame.type)) hub.changed();
  };
}
