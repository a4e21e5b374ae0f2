// What `--smoke` checks so the bench cannot rot unseen: each contender ran each phase and behaved
// like a bus (one poller where there is a leader, every notification delivered, a takeover after
// the leader closed). Functional checks only: no timing is asserted.
export function smokeChecks(results) {
  const failures = [];
  const check = (ok, message) => ok || failures.push(message);
  for (const c of results.contenders) {
    check(results.bytes[c]?.code > 0, `${c}: no byte count`);
    const rows = results.load?.[c]?.rows ?? [];
    check(rows.length > 0, `${c}: no load rows`);
    for (const row of rows) {
      const expected = c === 'naive' ? row.tabs : 1;
      if (row.visibility === 'visible') check(row.peakPollsPerSession === expected, `${c}: ${row.tabs} visible tabs at ${row.rate}/s held ${row.peakPollsPerSession} polls at once (expected ${expected})`);
      if (row.rate > 0 && row.visibility === 'visible') check(row.requestsPerMin > 0, `${c}: no requests counted at ${row.rate}/s`);
    }
    const fanout = results.fanout?.[c]?.sizes ?? {};
    check(Object.keys(fanout).length > 0, `${c}: no fan-out figures`);
    for (const [n, s] of Object.entries(fanout)) check(s.missing === 0 && s.n > 0, `${c}: fan-out to ${n} tabs missed ${s.missing} deliveries`);
    const idle = results.idle?.[c];
    check(idle && idle.hidden.followers.length > 0, `${c}: no idle figures`);
    check(idle && idle.browser && idle.browser.tabs > 0, `${c}: no idle-browser figures`);
    if (c !== 'naive') {
      const fo = results.failover?.[c];
      check(fo && fo.close.length > 0 && fo.close.every((g) => g !== null), `${c}: no takeover after the leader closed (${JSON.stringify(fo?.close)})`);
    }
    for (const phase of ['load', 'idle', 'fanout', 'failover']) {
      for (const problem of results[phase]?.[c]?.problems ?? []) failures.push(`${c} (${phase}): page error ${problem}`);
    }
  }
  check(results.contenders.length > 0, 'no contender ran');
  return failures;
}
