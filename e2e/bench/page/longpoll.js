// The long-poll loop the odoo-crosstab, tabex and broadcast-channel contenders run in their leader
// tab: Odoo 9–15's `/longpolling/poll` JSON-RPC call, held 50 s by the server, 60 s client timeout
// (Odoo 12–15's), one retry a second after an error (Odoo waits 10 s + 1–20 s; the bench has no
// errors to wait out). Bundled into each of those contenders, so it counts in their bytes.

const CLIENT_TIMEOUT = 60_000;
const RETRY_DELAY = 1_000;

/**
 * @param {{ channels: () => string[], last: () => number, onResult: (items: {id: number}[]) => void }} options
 */
export function createLongPoll({ channels, last, onResult }) {
  // Each start() begins a new generation; a loop whose generation is over exits, so a stop() and a
  // start() in a row never leave two loops polling.
  let generation = 0;
  let controller = null;
  let rpcId = 0;

  async function loop(mine) {
    while (mine === generation) {
      controller = new AbortController();
      const signal = AbortSignal.any([controller.signal, AbortSignal.timeout(CLIENT_TIMEOUT)]);
      try {
        const response = await fetch('/longpolling/poll', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ jsonrpc: '2.0', method: 'call', params: { channels: channels(), last: last(), options: {} }, id: ++rpcId }),
          signal,
        });
        const body = await response.json();
        if (body.error) throw new Error(body.error.data?.message ?? body.error.message);
        if (mine === generation && Array.isArray(body.result) && body.result.length > 0) onResult(body.result);
      } catch (error) {
        if (mine !== generation) return;
        // restart(): poll again at once with the new channels.
        if (controller.signal.aborted) continue;
        await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY));
      }
    }
  }

  return {
    start() {
      const mine = ++generation;
      controller?.abort();
      void loop(mine);
    },
    stop() {
      generation++;
      controller?.abort();
    },
    /** Ends the running poll; the loop sends the next one at once. */
    restart() {
      controller?.abort();
    },
  };
}

/**
 * The leader's poll and the followers' receipt for contenders without a shared cursor (tabex,
 * broadcast-channel): every tab remembers the highest id it saw, from its own poll or from the
 * leader's fan-out, and polls from there if it becomes leader.
 * @param {{ channels: string[], deliver: (items: {id: number}[]) => void }} host
 * @param {(items: {id: number}[]) => void} fanOut sends a batch the leader polled to the other tabs
 */
export function createRelay(host, fanOut) {
  let last = 0;
  const receive = (items) => {
    for (const item of items) if (item.id > last) last = item.id;
    host.deliver(items);
  };
  const poll = createLongPoll({
    channels: () => host.channels,
    last: () => last,
    onResult(items) {
      fanOut(items);
      receive(items);
    },
  });
  return { poll, receive };
}
