/**
 * The peer comparison of issue 5, and the client-credentials overhead of
 * issue 3: every figure is a ratio of medians measured side by side in this
 * one run, against loopback servers on 127.0.0.1 that it starts and stops.
 *
 * Sections, all by default:
 *
 * - `client-credentials`: a token fetch against the raw HTTP round trip;
 * - `google`: the `gcp_id_token` plugin against google-auth-library and a
 *   hand-written jose + fetch script, in fresh processes;
 * - `command`: the plugin against shelling out once per call;
 * - `auth-fetch`: `createAuthFetch` against a plain `fetch`;
 * - `concurrency`: 10,000 requests across one token expiry;
 * - `packages`: the npm packages each side pulls in.
 *
 * The cached-token figures are `deno bench` suites:
 * `bench/google_auth_bench.ts` and `bench/resolve_bench.ts`.
 *
 * Run with `deno run -A bench/peers.ts [--quick] [section ...]`; `deno task
 * bench` runs it after the suites. It prints a Markdown table at the end,
 * the one BENCHMARKS.md holds.
 *
 * @module
 */
// deno-lint-ignore-file no-console -- a script whose output is its report

import { authFetchOverhead } from "./peers/auth_fetch.ts";
import { clientCredentials } from "./peers/client_credentials.ts";
import { concurrency } from "./peers/concurrency.ts";
import { google } from "./peers/google.ts";
import { packages } from "./peers/packages.ts";
import { shellOut } from "./peers/shell_out.ts";
import { type Figure, markdownTable, type Section } from "./support/report.ts";

const SECTIONS: Section[] = [
  clientCredentials,
  google,
  shellOut,
  authFetchOverhead,
  concurrency,
  packages,
];

const quick = Deno.args.includes("--quick");
const asked = Deno.args.filter((arg) => !arg.startsWith("--"));
const unknown = asked.filter((name) => !SECTIONS.some((s) => s.name === name));
if (unknown.length > 0) {
  console.error(
    `Unknown section ${unknown.join(", ")}; choose from ${
      SECTIONS.map((s) => s.name).join(", ")
    }`,
  );
  Deno.exit(2);
}

const cores = navigator.hardwareConcurrency;
console.log(
  `Deno ${Deno.version.deno}, ${Deno.build.os}/${Deno.build.arch}, ${cores} cores${
    quick ? ", --quick" : ""
  }`,
);
const rows: { section: string; figure: Figure }[] = [];
for (const section of SECTIONS) {
  if (asked.length > 0 && !asked.includes(section.name)) continue;
  console.log(`\n${section.title}`);
  const started = performance.now();
  const figures = await section.run({
    quick,
    log: (line) => console.log(line),
  });
  for (const figure of figures) rows.push({ section: section.name, figure });
  const seconds = ((performance.now() - started) / 1000).toFixed(0);
  console.log(`  (${seconds} s)`);
}
console.log(`\n${markdownTable(rows)}`);
