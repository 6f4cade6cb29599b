/**
 * Runs the expiry burst of `tests/support/expiry_burst.ts` alone in this
 * process, so that its memory figures are its own, and prints the counts
 * and the memory samples as JSON. Run by `bench/peers.ts` with the number of
 * requests and the concurrency as arguments.
 *
 * @module
 */
import { runExpiryBurst } from "../../tests/support/expiry_burst.ts";

const [requests = 10_000, concurrency = 64] = Deno.args.map(Number);
const start = Deno.memoryUsage();
const peak = { rss: start.rss, heapUsed: start.heapUsed };
const began = performance.now();
const result = await runExpiryBurst({
  requests,
  concurrency,
  onSample() {
    const { rss, heapUsed } = Deno.memoryUsage();
    peak.rss = Math.max(peak.rss, rss);
    peak.heapUsed = Math.max(peak.heapUsed, heapUsed);
  },
});
const elapsedMs = performance.now() - began;
const text = JSON.stringify({ ...result, elapsedMs, start, peak });
await Deno.stdout.write(new TextEncoder().encode(`${text}\n`));
