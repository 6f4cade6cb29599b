/**
 * The platform config: where the platform is and how to authenticate to it,
 * with the same fields as flytekit's `PlatformConfig` in camelCase.
 *
 * @module
 */

/**
 * Where a platform is and how to authenticate to it. Every field is optional
 * so that a plugin can read only what it needs.
 *
 * @example A client-credentials config
 * ```ts
 * import type { PlatformConfig } from "@sesame/auth";
 *
 * const config: PlatformConfig = {
 *   endpoint: "flyte.example.com",
 *   authMode: "client_credentials",
 *   clientId: "ci-bot",
 *   clientCredentialsSecret: Deno.env.get("FLYTE_CLIENT_SECRET"),
 * };
 * ```
 */
export interface PlatformConfig {
  /** The platform's host and port, or URL (`dns:///` is stripped). */
  endpoint?: string;
  /** Use plain HTTP instead of TLS. */
  insecure?: boolean;
  /** Skip TLS verification; Deno honours it only through its own flags. */
  insecureSkipVerify?: boolean;
  /** A PEM file of extra root certificates to trust. */
  caCertFilePath?: string;
  /** The console's URL, when it differs from the endpoint. */
  consoleEndpoint?: string;
  /** The program and arguments that print a token, for `external_process`. */
  command?: string[];
  /** The program and arguments that print a proxy token. */
  proxyCommand?: string[];
  /** The OAuth client id. */
  clientId?: string;
  /** The OAuth client secret, for client credentials. */
  clientCredentialsSecret?: string;
  /** Scopes to ask for; the server's defaults when absent. */
  scopes?: string[];
  /** The auth mode name; `"standard"` when absent. */
  authMode?: string;
  /** The audience to ask the token for. */
  audience?: string;
  /** An HTTP proxy for every request sesame makes. */
  httpProxyUrl?: string;
  /** A token endpoint to use instead of the one discovered. */
  tokenUrl?: string;
  /** The header to send the token in, instead of the server's. */
  authorizationHeader?: string;
}
