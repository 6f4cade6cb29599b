/**
 * Issue 3's overhead figure: a `ClientCredentialsAuthenticator` token fetch
 * (`refreshCredentials()`, a fresh request every time) against the raw
 * HTTP round trip of the same grant (a plain `fetch` POST whose JSON is
 * read) to the same server, first the real test authorization server
 * (oidc-provider, in a child process), then a minimal local token endpoint
 * in this process, where the server's own work is smallest and the
 * overhead shows most.
 *
 * @module
 */

import * as oauth from "oauth4webapi";
import {
  ClientCredentialsAuthenticator,
  MemoryCredentialStore,
  type PlatformConfig,
} from "../../mod.ts";
import {
  serveFakeOAuth,
  tokenJson,
} from "../../tests/support/fake_oauth_server.ts";
import { startIdp } from "../../tests/support/idp.ts";
import type { Figure, Section, SectionOptions } from "../support/report.ts";
import { duration, ratioRounds, spread, times } from "../support/timing.ts";

const TARGET = 1.2;
const SCOPE = "api:read";

interface Server {
  tokenEndpoint: string;
  clientId: string;
  clientSecret: string;
  tokenRequests(): Promise<number>;
}

/** The grant exactly as the authenticator sends it, made by hand. */
async function rawGrant(server: Server): Promise<void> {
  const basic = btoa(
    `${encodeURIComponent(server.clientId)}:${
      encodeURIComponent(server.clientSecret)
    }`,
  );
  const response = await fetch(server.tokenEndpoint, {
    method: "POST",
    headers: {
      authorization: `Basic ${basic}`,
      "content-type": "application/x-www-form-urlencoded;charset=UTF-8",
      accept: "application/json",
    },
    body: new URLSearchParams({
      grant_type: "client_credentials",
      scope: SCOPE,
    }),
  });
  const json = await response.json();
  if (!response.ok || typeof json.access_token !== "string") {
    throw new Error(`The raw grant failed with status ${response.status}`);
  }
}

/** The same grant through oauth4webapi alone, the library sesame builds on. */
async function oauth4webapiGrant(server: Server): Promise<void> {
  const as = {
    issuer: new URL(server.tokenEndpoint).origin,
    token_endpoint: server.tokenEndpoint,
  };
  const client = { client_id: server.clientId };
  const response = await oauth.clientCredentialsGrantRequest(
    as,
    client,
    oauth.ClientSecretBasic(server.clientSecret),
    new URLSearchParams({ scope: SCOPE }),
    { [oauth.allowInsecureRequests]: true },
  );
  await oauth.processClientCredentialsResponse(as, client, response);
}

async function measure(
  label: string,
  server: Server,
  counts: { rounds: number; iterations: number; warmup: number },
  options: SectionOptions,
): Promise<Figure> {
  const config: PlatformConfig = {
    endpoint: "flyte.example.com",
    clientId: server.clientId,
    clientCredentialsSecret: server.clientSecret,
    tokenUrl: server.tokenEndpoint,
    scopes: [SCOPE],
  };
  const authenticator = new ClientCredentialsAuthenticator(config, undefined, {
    credentialStore: new MemoryCredentialStore(),
  });
  const before = await server.tokenRequests();
  const { medians, ratios } = await ratioRounds({
    "raw fetch POST": () => rawGrant(server),
    "oauth4webapi alone": () => oauth4webapiGrant(server),
    "refreshCredentials()": () => authenticator.refreshCredentials(),
  }, {
    ...counts,
    numerator: "refreshCredentials()",
    denominator: "raw fetch POST",
  });
  const sent = (await server.tokenRequests()) - before;
  const expected = 3 * (counts.rounds * counts.iterations + counts.warmup);
  if (sent !== expected) {
    throw new Error(
      `Expected ${expected} token requests at ${label}, saw ${sent}`,
    );
  }
  const raw = medians["raw fetch POST"]!;
  const sesame = medians["refreshCredentials()"]!;
  const library = medians["oauth4webapi alone"]!;
  const ratio = sesame / raw;
  options.log(`  ${label}: ${times(ratio)} (${spread(ratios)})`);
  return {
    name: `client credentials fetch / raw round trip, ${label}`,
    value: times(ratio),
    detail: `medians ${duration(sesame)} vs ${
      duration(raw)
    } (oauth4webapi alone ${duration(library)}), ${
      counts.rounds * counts.iterations
    } each; ${spread(ratios)}`,
    target: `< ${TARGET}×`,
    met: ratio < TARGET,
  };
}

async function run(options: SectionOptions): Promise<Figure[]> {
  const figures: Figure[] = [];
  {
    await using idp = await startIdp();
    const server: Server = {
      tokenEndpoint: idp.tokenEndpoint,
      ...idp.clients.confidential,
      tokenRequests: () => idp.tokenRequests(),
    };
    const iterations = options.quick ? 40 : 200;
    figures.push(
      await measure("test IdP (oidc-provider)", server, {
        rounds: 3,
        iterations,
        warmup: 20,
      }, options),
    );
  }
  {
    let issued = 0;
    await using local = serveFakeOAuth(() =>
      tokenJson({
        access_token: `local-access-token-${++issued}`,
        token_type: "Bearer",
        expires_in: 3600,
      })
    );
    const server: Server = {
      tokenEndpoint: local.tokenEndpoint,
      clientId: "bench-client",
      clientSecret: "bench-client-secret",
      tokenRequests: () => Promise.resolve(local.requests.length),
    };
    const iterations = options.quick ? 200 : 1000;
    figures.push(
      await measure("minimal local endpoint", server, {
        rounds: 3,
        iterations,
        warmup: 100,
      }, options),
    );
  }
  return figures;
}

/** The section, for `bench/peers.ts`. */
export const clientCredentials: Section = {
  name: "client-credentials",
  title: "Client credentials: token fetch against the raw HTTP round trip",
  run,
};
