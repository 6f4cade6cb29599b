/**
 * 10,000 requests through `createAuthFetch`, 64 in flight at a time,
 * across one token expiry on an injected clock: they must cost exactly two
 * token requests. `tests/transport/concurrency_test.ts` asserts the same
 * scenario.
 *
 * It runs in a process of its own (`bench/fresh/expiry_burst.ts`), with
 * its token endpoint and API server, so that the memory figures are the
 * burst's alone: `Deno.memoryUsage()` sampled every 100 requests, the peaks
 * and their rise over the start.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import type { Figure, Section, SectionOptions } from "../support/report.ts";
import { duration, redact } from "../support/timing.ts";

const REQUESTS = 10_000;
const CONCURRENCY = 64;
const COUNT = REQUESTS.toLocaleString("en-US");
const CONFIG = fileURLToPath(new URL("../../deno.json", import.meta.url));
const SCRIPT = fileURLToPath(
  new URL("../fresh/expiry_burst.ts", import.meta.url),
);

interface Memory {
  rss: number;
  heapUsed: number;
}

interface Outcome {
  tokenRequests: number;
  rejected: number;
  perToken: number[];
  elapsedMs: number;
  start: Memory;
  peak: Memory;
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

async function burst(): Promise<Outcome> {
  const { success, code, stdout, stderr } = await new Deno.Command(
    Deno.execPath(),
    {
      args: [
        "run",
        "--quiet",
        "--frozen",
        `--config=${CONFIG}`,
        "--allow-net=127.0.0.1",
        SCRIPT,
        String(REQUESTS),
        String(CONCURRENCY),
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    },
  ).output();
  if (!success) {
    const text = redact(new TextDecoder().decode(stderr));
    throw new Error(`The burst exited with code ${code}: ${text}`);
  }
  return JSON.parse(new TextDecoder().decode(stdout));
}

async function run(options: SectionOptions): Promise<Figure[]> {
  const outcome = await burst();
  const { start, peak } = outcome;
  options.log(
    `  ${COUNT} requests in ${
      duration(outcome.elapsedMs)
    }: ${outcome.tokenRequests} token requests, ${outcome.rejected} rejected`,
  );
  return [
    {
      name: `${COUNT} requests across one expiry: token requests`,
      value: String(outcome.tokenRequests),
      detail: `${CONCURRENCY} in flight; requests per token ${
        outcome.perToken.join(" + ")
      }; ${outcome.rejected} rejected; ${duration(outcome.elapsedMs)}`,
      target: "exactly 2",
      met: outcome.tokenRequests === 2 && outcome.rejected === 0,
    },
    {
      name: `${COUNT} requests across one expiry: peak memory`,
      value: `rss ${mib(peak.rss)}, heap used ${mib(peak.heapUsed)}`,
      detail: `+${mib(peak.rss - start.rss)} rss and +${
        mib(peak.heapUsed - start.heapUsed)
      } heap over the process's start; sampled every 100 requests; the token endpoint and API server run in the same process`,
    },
  ];
}

/** The section, for `bench/peers.ts`. */
export const concurrency: Section = {
  name: "concurrency",
  title: `${COUNT} requests through createAuthFetch across one token expiry`,
  run,
};
