// Preloaded into the API by `npm run bench -- render` (node --import): how late a 10 ms timer
// fires, i.e. how long something held the event loop (or the OS did not run its thread), and the
// share of the time the loop was busy. On SIGUSR2 the figures since the last signal are appended
// to LOOP_DELAY_FILE as one JSON line ({ delays: [ms...], busy: 0..1 }) and cleared.
import { appendFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const TICK_MS = 10;
let samples = [];
let utilization = performance.eventLoopUtilization();
let expected = performance.now() + TICK_MS;
setInterval(() => {
  const now = performance.now();
  samples.push(Math.max(0, now - expected));
  expected = now + TICK_MS;
}, TICK_MS).unref();

process.on('SIGUSR2', () => {
  const busy = performance.eventLoopUtilization(utilization).utilization;
  appendFileSync(process.env.LOOP_DELAY_FILE, `${JSON.stringify({ delays: samples, busy })}\n`);
  samples = [];
  utilization = performance.eventLoopUtilization();
});
