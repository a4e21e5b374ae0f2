import type { FrameChannel } from './env';

/**
 * A cross-tab channel over localStorage, where there is no native BroadcastChannel: a post writes the
 * frame under the channel's key and removes it at once. Other tabs of the origin get a `storage` event
 * with the written value (the writer gets none, like a BroadcastChannel), and nothing stays behind.
 * Each write carries a fresh nonce, so two equal frames in a row are still two changes.
 */
export function storageChannel(storage: Storage, name: string): FrameChannel {
  const key = `tabbus-channel:${name}`;
  const listeners: ((data: unknown) => void)[] = [];
  let nonce = 0;
  const onStorage = (event: StorageEvent) => {
    if (event.key !== key || !event.newValue || event.storageArea !== storage) return;
    let data: unknown;
    try {
      data = (JSON.parse(event.newValue) as { f?: unknown }).f;
    } catch {
      // Another script wrote garbage under our key: not a frame.
      return;
    }
    for (const listener of listeners) listener(data);
  };
  addEventListener('storage', onStorage);
  return {
    kind: 'localstorage',
    post(frame) {
      try {
        storage.setItem(key, JSON.stringify({ f: frame, n: nonce++ + Math.random() }));
        storage.removeItem(key);
      } catch {
        // Full or revoked storage: the frame is lost like any message to a closed tab; the bus's
        // resync and probes recover what matters.
      }
    },
    listen: (listener) => void listeners.push(listener),
    close: () => removeEventListener('storage', onStorage),
  };
}
