// A publisher at a steady rate, the way a busy Odoo sends: each notification's id and when its
// send began (Node's Date.now(), the clock the pages share), for latency and loss accounting.
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function publishStream(server, perSecond, channel = 'bench') {
  const sent = [];
  let running = perSecond > 0;
  let failure = null;
  const done = (async () => {
    const start = Date.now();
    for (let i = 0; running; i++) {
      const at = Date.now();
      try {
        sent.push({ id: await server.send(channel, { seq: i }), at });
      } catch (error) {
        // The server went away under the stream (a phase ended on an error): stop, do not crash.
        running = false;
        failure = error;
        break;
      }
      // Keep the rate however long a send took: the next one is due at start + (i + 1) / rate.
      await sleep(Math.max(0, start + ((i + 1) * 1000) / perSecond - Date.now()));
    }
  })();
  return {
    sent,
    async stop() {
      running = false;
      await done;
      if (failure) throw failure;
    },
  };
}
