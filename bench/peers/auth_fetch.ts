/**
 * What `createAuthFetch` adds to a loopback request: a plain `fetch`
 * against `authFetch` with a cached token, to the same local server, taken
 * in turn many times; the figure is the ratio of the median latencies.
 *
 * Twice: with the server in another process, as a platform on the same
 * machine would be, and in this process, where the request is fastest and
 * the overhead weighs most. The authenticator holds a cached token.
 *
 * @module
 */

import {
  CachingAuthenticator,
  createAuthFetch,
  type Credentials,
} from "../../mod.ts";
import { startLoopbackServer } from "../support/loopback.ts";
import type { Figure, Section, SectionOptions } from "../support/report.ts";
import { duration, ratioRounds, spread, times } from "../support/timing.ts";

const TARGET = 1.05;
const TOKEN = "bench-access-token";
const BY_HAND = { authorization: `Bearer ${TOKEN}` };

class Cached extends CachingAuthenticator {
  protected fetchCredentials(): Promise<Credentials> {
    return Promise.resolve({
      accessToken: TOKEN,
      expiresAt: Date.now() + 3600_000,
    });
  }
}

async function measure(
  label: string,
  url: string,
  options: SectionOptions,
): Promise<Figure> {
  const authenticator = new Cached();
  await authenticator.getCredentials();
  const authFetch = createAuthFetch(authenticator, { origin: url });
  const iterations = options.quick ? 500 : 3000;
  const rounds = 3;
  const { medians, ratios } = await ratioRounds({
    "fetch": async () => await (await fetch(url)).text(),
    "fetch + header by hand": async () =>
      await (await fetch(url, { headers: BY_HAND })).text(),
    "authFetch": async () => await (await authFetch(url)).text(),
  }, {
    rounds,
    iterations,
    warmup: 200,
    numerator: "authFetch",
    denominator: "fetch",
  });
  const ratio = medians.authFetch! / medians.fetch!;
  const byHand = medians["fetch + header by hand"]!;
  options.log(`  ${label}: ${times(ratio)} (${spread(ratios)})`);
  return {
    name: `loopback request median latency, authFetch / fetch, ${label}`,
    value: times(ratio),
    detail: `medians ${duration(medians.authFetch!)} vs ${
      duration(medians.fetch!)
    } (+${
      duration(medians.authFetch! - medians.fetch!)
    }); the same header by hand ${times(byHand / medians.fetch!)}; ${
      rounds * iterations
    } each; ${spread(ratios)}`,
    target: `< ${TARGET}× (under 5% added)`,
    met: ratio < TARGET,
  };
}

async function run(options: SectionOptions): Promise<Figure[]> {
  const figures: Figure[] = [];
  {
    await using server = await startLoopbackServer();
    figures.push(
      await measure(
        "server in another process",
        `${server.origin}/api`,
        options,
      ),
    );
  }
  let authorized = 0;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (request) => {
      if (request.headers.get("authorization") === `Bearer ${TOKEN}`) {
        authorized++;
      }
      return new Response("ok");
    },
  );
  try {
    const url = `http://127.0.0.1:${server.addr.port}/api`;
    figures.push(await measure("server in this process", url, options));
  } finally {
    await server.shutdown();
  }
  if (authorized === 0) throw new Error("authFetch sent no token");
  return figures;
}

/** The section, for `bench/peers.ts`. */
export const authFetchOverhead: Section = {
  name: "auth-fetch",
  title: "createAuthFetch against a plain fetch, loopback",
  run,
};
