/**
 * A small Flyte-style platform for tests and the demo: it serves the two
 * metadata endpoints of Flyte's AuthMetadataService over HTTP and one
 * protected API route that verifies a bearer token's signature with `jose`.
 *
 * Requires `--allow-net`.
 *
 * @example A platform in front of the test authorization server
 * ```ts ignore
 * import { startIdp } from "./idp.ts";
 * import { startPlatform } from "./platform.ts";
 *
 * await using idp = await startIdp();
 * await using platform = await startPlatform({
 *   discoveryUrl: idp.discoveryUrl,
 *   clientId: idp.clients.native.clientId,
 *   redirectUri: idp.redirectUri,
 *   scopes: ["openid", "offline_access"],
 * });
 * const response = await fetch(platform.apiUrl);
 * console.assert(response.status === 401);
 * await response.body?.cancel();
 * ```
 *
 * @module
 */

import { createRemoteJWKSet, type JWTPayload, jwtVerify } from "jose";

/** An issuer whose tokens the platform's API accepts. */
export interface TrustedIssuer {
  /** The `iss` the tokens carry. */
  issuer: string;
  /** Where the issuer's public keys are. */
  jwksUri: string;
  /** The `aud` the tokens must carry, when checked. */
  audience?: string;
}

/** Options of {@linkcode startPlatform}. */
export interface PlatformOptions {
  /** The authorization server's OpenID Connect discovery document. */
  discoveryUrl: string;
  /** The public client the platform tells its users to use. */
  clientId: string;
  /** The redirect URI registered for that client. */
  redirectUri: string;
  /** The scopes the platform asks for. */
  scopes: string[];
  /** The audience the platform expects, when it names one. */
  audience?: string;
  /**
   * The header the platform reads the token from.
   *
   * @default {"authorization"}
   */
  headerKey?: string;
  /** More issuers to accept besides the authorization server. */
  trustedIssuers?: TrustedIssuer[];
}

/** A running platform. */
export interface Platform extends AsyncDisposable {
  /** The platform's base URL, `http://127.0.0.1:PORT`. */
  endpoint: string;
  /** The protected route: `GET` answers 200 with the caller, else 401. */
  apiUrl: string;
  /** How many API calls were accepted and rejected. */
  calls: { accepted: number; rejected: number };
  /** Stops the server. */
  close(): Promise<void>;
}

/**
 * Starts the platform on `127.0.0.1` with a port the system picks.
 *
 * @param options The authorization server, the public client and the
 * issuers to trust.
 * @returns The running platform.
 */
export async function startPlatform(
  options: PlatformOptions,
): Promise<Platform> {
  const metadata = await fetchJson(options.discoveryUrl);
  const issuers: TrustedIssuer[] = [
    {
      issuer: String(metadata.issuer),
      jwksUri: String(metadata.jwks_uri),
    },
    ...(options.trustedIssuers ?? []),
  ];
  const verify = createVerifier(issuers);
  const headerKey = options.headerKey ?? "authorization";
  const clientConfig = {
    client_id: options.clientId,
    redirect_uri: options.redirectUri,
    scopes: options.scopes,
    authorization_metadata_key: headerKey,
    service_http_endpoint: "",
    audience: options.audience ?? "",
  };
  const calls = { accepted: 0, rejected: 0 };

  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async function handlePlatformRequest(request) {
      const { pathname } = new URL(request.url);
      if (pathname === "/config/v1/flyte_client") {
        return Response.json(clientConfig);
      }
      if (pathname === "/.well-known/oauth-authorization-server") {
        return Response.json(metadata);
      }
      if (pathname !== "/api/v1/whoami") {
        return new Response("Not found", { status: 404 });
      }
      const caller = await verify(request.headers.get(headerKey));
      if (caller === undefined) {
        calls.rejected++;
        return Response.json({ error: "unauthenticated" }, {
          status: 401,
          headers: { "www-authenticate": 'Bearer error="invalid_token"' },
        });
      }
      calls.accepted++;
      return Response.json({ subject: caller.sub, issuer: caller.iss });
    },
  );
  const endpoint = `http://127.0.0.1:${server.addr.port}`;
  const close = () => server.shutdown();
  return {
    endpoint,
    apiUrl: `${endpoint}/api/v1/whoami`,
    calls,
    close,
    [Symbol.asyncDispose]: close,
  };
}

function createVerifier(issuers: TrustedIssuer[]) {
  const keySets = new Map(
    issuers.map((
      trusted,
    ) => [trusted.issuer, {
      trusted,
      keys: createRemoteJWKSet(new URL(trusted.jwksUri)),
    }]),
  );
  return async function verifyBearer(
    header: string | null,
  ): Promise<JWTPayload | undefined> {
    const token = /^Bearer (\S+)$/i.exec(header ?? "")?.[1];
    if (token === undefined) return undefined;
    for (const { trusted, keys } of keySets.values()) {
      try {
        const { payload } = await jwtVerify(token, keys, {
          issuer: trusted.issuer,
          audience: trusted.audience,
        });
        return payload;
      } catch {
        // Not this issuer's, or not valid: try the next one.
      }
    }
    return undefined;
  };
}

async function fetchJson(url: string): Promise<Record<string, unknown>> {
  const response = await fetch(url, {
    headers: { accept: "application/json" },
  });
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`GET ${url} answered ${response.status}`);
  }
  return await response.json();
}
