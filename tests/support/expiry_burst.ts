/**
 * Many requests through `createAuthFetch` across one token expiry, for the
 * concurrency test and benchmark: a `ClientCredentialsAuthenticator` on an
 * injected clock gets tokens from a local token endpoint that counts them,
 * workers send the requests to a local API that checks each token, and the
 * clock jumps past the token's expiry when half the requests have started.
 *
 * Requires `--allow-net`.
 *
 * @module
 */

import {
  ClientCredentialsAuthenticator,
  createAuthFetch,
  MemoryCredentialStore,
} from "../../mod.ts";
import { serveFakeOAuth, tokenJson } from "./fake_oauth_server.ts";

const LIFETIME_S = 3600;

/** Options of {@linkcode runExpiryBurst}. */
export interface ExpiryBurstOptions {
  /** How many API requests to send in all. */
  requests: number;
  /** How many requests are in flight at once. */
  concurrency: number;
  /**
   * Called after every `sampleEvery` requests, and at the start and end:
   * to sample memory, say.
   */
  onSample?: () => void;
  /**
   * How many requests between two samples.
   *
   * @default {100}
   */
  sampleEvery?: number;
}

/** What one burst cost and saw. */
export interface ExpiryBurstResult {
  /** Token requests the token endpoint received. */
  tokenRequests: number;
  /** API requests answered 200 with a token the endpoint issued. */
  accepted: number;
  /** API requests answered 401. */
  rejected: number;
  /** API requests per token, in the order the tokens were issued. */
  perToken: number[];
}

/**
 * Runs the burst and stops both servers.
 *
 * @param options The number of requests, the concurrency and a sampler.
 * @returns The counts.
 */
export async function runExpiryBurst(
  options: ExpiryBurstOptions,
): Promise<ExpiryBurstResult> {
  let time = Date.UTC(2030, 0, 1);
  const issued: string[] = [];
  await using tokenEndpoint = serveFakeOAuth(() => {
    const token = `burst-token-${issued.length + 1}`;
    issued.push(token);
    return tokenJson({
      access_token: token,
      token_type: "Bearer",
      expires_in: LIFETIME_S,
    });
  });
  const perToken = new Map<string, number>();
  let rejected = 0;
  await using api = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    function handleApi(request) {
      const token = request.headers.get("authorization")?.slice(7) ?? "";
      if (!issued.includes(token)) {
        rejected++;
        return new Response("unauthenticated", { status: 401 });
      }
      perToken.set(token, (perToken.get(token) ?? 0) + 1);
      return new Response("ok");
    },
  );
  const origin = `http://127.0.0.1:${api.addr.port}`;
  const authenticator = new ClientCredentialsAuthenticator(
    {
      endpoint: origin,
      clientId: "burst-client",
      clientCredentialsSecret: "burst-client-secret",
      tokenUrl: tokenEndpoint.tokenEndpoint,
    },
    undefined,
    { credentialStore: new MemoryCredentialStore(), now: () => time },
  );
  const authFetch = createAuthFetch(authenticator, { origin });

  const every = options.sampleEvery ?? 100;
  const half = Math.floor(options.requests / 2);
  let started = 0;
  options.onSample?.();
  async function worker(): Promise<void> {
    while (started < options.requests) {
      const index = started++;
      if (index === half) time += (LIFETIME_S + 1) * 1000;
      const response = await authFetch(`${origin}/api/v1/projects`);
      await response.body?.cancel();
      if (index % every === 0) options.onSample?.();
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  options.onSample?.();

  return {
    tokenRequests: tokenEndpoint.requests.length,
    accepted: [...perToken.values()].reduce((sum, count) => sum + count, 0),
    rejected,
    perToken: issued.map((token) => perToken.get(token) ?? 0),
  };
}
