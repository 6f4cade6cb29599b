/**
 * The `gcp_id_token` plugin against shelling out for every token, the way
 * flytekit's external command mode runs `gcloud auth print-identity-token`:
 * a new process per call. sesame's own `CommandAuthenticator` caches, so
 * flytekit is modelled by a new `CommandAuthenticator` for every call.
 *
 * gcloud is not on these machines, so two commands stand in for it:
 * `cat` of a file holding an ID token, the cheapest program that prints
 * one (what remains is the cost of the spawn), and a Deno script that
 * signs an assertion and fetches a new ID token from the fake, as gcloud
 * does without its cache. Both print the token into a pipe that
 * `CommandAuthenticator` reads; nothing reaches the console.
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CommandAuthenticator } from "../../mod.ts";
import { GcpIdTokenAuthenticator } from "../../plugins/gcp_id_token.ts";
import {
  AUDIENCE,
  type FakeGoogle,
  startFakeGoogle,
} from "../../tests/support/fake_google.ts";
import type { Figure, Section, SectionOptions } from "../support/report.ts";
import { duration, interleave, median, times } from "../support/timing.ts";

const CALLERS = 32;
const CONFIG = fileURLToPath(new URL("../../deno.json", import.meta.url));
const LOCK = fileURLToPath(new URL("../../deno.lock", import.meta.url));
const PRINT_SCRIPT = fileURLToPath(
  new URL("../fresh/jose_first_token.ts", import.meta.url),
);

function plugin(google: FakeGoogle): GcpIdTokenAuthenticator {
  return new GcpIdTokenAuthenticator({}, undefined, undefined, {
    audience: AUDIENCE,
    credentialsFile: google.keyFile,
    env: {},
  });
}

/** The commands, by name: each prints an ID token on stdout. */
function commands(
  google: FakeGoogle,
  tokenFile: string,
  lock: string,
): Record<string, string[]> {
  return {
    cat: ["cat", tokenFile],
    deno: [
      "env",
      `GOOGLE_APPLICATION_CREDENTIALS=${google.keyFile}`,
      `SESAME_BENCH_AUDIENCE=${AUDIENCE}`,
      Deno.execPath(),
      "run",
      "--quiet",
      "--no-prompt",
      "--cached-only",
      `--config=${CONFIG}`,
      `--lock=${lock}`,
      "-A",
      PRINT_SCRIPT,
      "--print",
    ],
  };
}

/** A token through a new CommandAuthenticator: one spawn, as flytekit. */
async function tokenFromCommand(command: string[]): Promise<void> {
  const { accessToken } = await new CommandAuthenticator({ command })
    .getCredentials();
  if (accessToken.split(".").length !== 3) {
    throw new Error("The command printed something that is not a JWT");
  }
}

async function perToken(
  google: FakeGoogle,
  command: Record<string, string[]>,
  runs: number,
): Promise<Record<string, number>> {
  const warm = plugin(google);
  await warm.getCredentials();
  const samples = await interleave(
    {
      "plugin, new token": () => warm.refreshCredentials(),
      "plugin, cached": () => warm.getCredentials(),
      "command cat": () => tokenFromCommand(command.cat!),
      "command deno script": () => tokenFromCommand(command.deno!),
    },
    runs,
    3,
  );
  return Object.fromEntries(samples.map((s) => [s.name, median(s.times)]));
}

interface Burst {
  ms: number;
  tokenRequests: number;
}

async function burst(
  google: FakeGoogle,
  call: () => Promise<unknown>,
): Promise<Burst> {
  const before = google.issued;
  const start = performance.now();
  await Promise.all(Array.from({ length: CALLERS }, call));
  return {
    ms: performance.now() - start,
    tokenRequests: google.issued - before,
  };
}

async function concurrent(
  google: FakeGoogle,
  command: Record<string, string[]>,
  rounds: number,
): Promise<Record<string, Burst[]>> {
  const results: Record<string, Burst[]> = { plugin: [], cat: [], deno: [] };
  for (let round = 0; round < rounds; round++) {
    // A new authenticator per round: 32 callers that find no token yet.
    const fresh = plugin(google);
    results.plugin!.push(await burst(google, () => fresh.getCredentials()));
    results.cat!.push(
      await burst(google, () => tokenFromCommand(command.cat!)),
    );
    results.deno!.push(
      await burst(google, () => tokenFromCommand(command.deno!)),
    );
  }
  return results;
}

function figures(
  single: Record<string, number>,
  bursts: Record<string, Burst[]>,
  runs: number,
): Figure[] {
  const fresh = single["plugin, new token"]!;
  const cat = single["command cat"]!;
  const script = single["command deno script"]!;
  const wall = (name: string) => median(bursts[name]!.map((b) => b.ms));
  const requests = (name: string) =>
    [...new Set(bursts[name]!.map((b) => b.tokenRequests))].join(", ");
  const pluginRequests = bursts.plugin!.map((b) => b.tokenRequests);
  return [
    {
      name: "per token: spawn floor (cat of a saved token) / plugin new token",
      value: times(cat / fresh),
      detail: `medians ${duration(cat)} vs ${duration(fresh)}; ${runs} each`,
    },
    {
      name:
        "per token: command fetching a new token (Deno script) / plugin new token",
      value: times(script / fresh),
      detail: `median ${
        duration(script)
      }; the plugin's figure includes the fake's signing, in this process`,
    },
    {
      name: "per call: spawn floor (cat) / plugin cached token",
      value: times(cat / single["plugin, cached"]!),
      detail: `plugin cached ${
        duration(single["plugin, cached"]!)
      } by performance.now(), an upper bound (deno bench: bench/google_auth_bench.ts)`,
    },
    {
      name: `${CALLERS} concurrent callers: token requests, plugin`,
      value: requests("plugin"),
      detail: `command: ${
        requests("deno")
      } (Deno script) and ${CALLERS} spawns each; ${pluginRequests.length} rounds`,
      target: "exactly 1",
      met: pluginRequests.every((count) => count === 1),
    },
    {
      name: `${CALLERS} concurrent callers: wall time, command (cat) / plugin`,
      value: times(wall("cat") / wall("plugin")),
      detail: `medians ${duration(wall("cat"))} vs ${duration(wall("plugin"))}`,
    },
    {
      name:
        `${CALLERS} concurrent callers: wall time, command (Deno script) / plugin`,
      value: times(wall("deno") / wall("plugin")),
      detail: `median ${duration(wall("deno"))}`,
    },
  ];
}

async function run(options: SectionOptions): Promise<Figure[]> {
  const runs = options.quick ? 8 : 30;
  const rounds = options.quick ? 2 : 5;
  const dir = await Deno.makeTempDir({ prefix: "sesame_shell_out_" });
  try {
    const lock = join(dir, "deno.lock");
    await Deno.copyFile(LOCK, lock);
    await using google = await startFakeGoogle();
    const tokenFile = join(dir, "id_token");
    const { accessToken } = await plugin(google).getCredentials();
    await Deno.writeTextFile(tokenFile, `${accessToken}\n`, { mode: 0o600 });
    const command = commands(google, tokenFile, lock);

    const single = await perToken(google, command, runs);
    for (const [name, ms] of Object.entries(single)) {
      options.log(`  per token, ${name.padEnd(22)} median ${duration(ms)}`);
    }
    const bursts = await concurrent(google, command, rounds);
    for (const [name, results] of Object.entries(bursts)) {
      const ms = median(results.map((b) => b.ms));
      options.log(
        `  ${CALLERS} callers, ${name.padEnd(7)} median ${duration(ms)}`,
      );
    }
    return figures(single, bursts, runs);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The section, for `bench/peers.ts`. */
export const shellOut: Section = {
  name: "command",
  title: "gcp_id_token against shelling out once per call",
  run,
};
