/**
 * The test authorization server's process: panva's `oidc-provider` on
 * `127.0.0.1`, a port the system picks. Started by `startIdp()` in
 * `./idp.ts`, never by hand in a test.
 *
 * It reads its settings as JSON from its first argument, listens, and prints
 * one JSON line on stdout: `{"issuer": "http://127.0.0.1:PORT"}`. Besides
 * the provider's own routes it answers `GET /__sesame/stats` with the number
 * of token endpoint requests it has received. It exits on SIGTERM or when
 * its stdin closes, so it never outlives the process that started it.
 *
 * @module
 */

import {
  createServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import Provider from "oidc-provider";
import type { IdpServerSettings } from "./idp.ts";

type Handler = (request: IncomingMessage, response: ServerResponse) => unknown;

/** The scopes of the API: every scope but OpenID Connect's own. */
function apiScopes(scopes: string[]): string {
  return scopes.filter((s) => s !== "openid" && s !== "offline_access")
    .join(" ");
}
const STATS_PATH = "/__sesame/stats";

function createProvider(issuer: string, settings: IdpServerSettings) {
  const { clientIds, scopes } = settings;
  const confidential = {
    client_secret: settings.clientSecret,
    grant_types: ["client_credentials"],
    response_types: [],
    redirect_uris: [],
    scope: apiScopes(scopes),
  };
  return new Provider(issuer, {
    clients: [
      {
        ...confidential,
        client_id: clientIds.confidential,
        token_endpoint_auth_method: "client_secret_basic",
      },
      {
        ...confidential,
        client_id: clientIds.confidentialPost,
        token_endpoint_auth_method: "client_secret_post",
      },
      {
        client_id: clientIds.native,
        application_type: "native",
        token_endpoint_auth_method: "none",
        grant_types: [
          "authorization_code",
          "refresh_token",
          "urn:ietf:params:oauth:grant-type:device_code",
        ],
        response_types: ["code"],
        // A loopback redirect matches any port (RFC 8252 §7.3).
        redirect_uris: ["http://127.0.0.1/callback"],
        scope: scopes.join(" "),
      },
    ],
    scopes,
    cookies: { keys: [crypto.randomUUID()] },
    ttl: {
      AccessToken: settings.accessTokenTtlSeconds,
      ClientCredentials: settings.accessTokenTtlSeconds,
      DeviceCode: settings.deviceCodeTtlSeconds,
      RefreshToken: settings.refreshTokenTtlSeconds,
    },
    features: {
      devInteractions: { enabled: true },
      deviceFlow: { enabled: true },
      clientCredentials: { enabled: true },
      revocation: { enabled: true },
      // Client credentials yield a JWT access token only for a resource.
      resourceIndicators: {
        enabled: true,
        defaultResource: () => settings.resource,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: apiScopes(scopes),
          audience: settings.resource,
          accessTokenTTL: settings.accessTokenTtlSeconds,
          accessTokenFormat: "jwt",
        }),
      },
    },
    findAccount: (_ctx: unknown, sub: string) => ({
      accountId: sub,
      claims: () => ({ sub }),
    }),
  });
}

function isTokenRequest(request: IncomingMessage): boolean {
  return request.method === "POST" &&
    new URL(request.url ?? "/", "http://x").pathname === "/token";
}

async function main(): Promise<void> {
  const settings = JSON.parse(Deno.args[0] ?? "{}") as IdpServerSettings;
  let tokenRequests = 0;
  // The provider needs its issuer, which needs the port: listen first.
  const app: { handle?: Handler } = {};
  const server = createServer((request, response) => {
    if (request.url === STATS_PATH) {
      response.setHeader("content-type", "application/json");
      response.end(JSON.stringify({ tokenRequests }));
      return;
    }
    if (isTokenRequest(request)) tokenRequests++;
    app.handle!(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;
  app.handle = createProvider(issuer, settings).callback();

  const stop = () => {
    server.close();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGTERM", stop);
  const line = new TextEncoder().encode(JSON.stringify({ issuer }) + "\n");
  await Deno.stdout.write(line);
  // The parent holds our stdin open; when it goes, so do we.
  for await (const _ of Deno.stdin.readable) { /* wait for EOF */ }
  stop();
}

if (import.meta.main) await main();
