/**
 * A Connect interceptor that sends credentials with every call.
 *
 * @module
 */

import type { Authenticator, Credentials } from "../authenticator.ts";
import type { AuthEvent } from "../context.ts";
import { checkAuthenticator, emitRetry } from "./_shared.ts";

/**
 * What the interceptor reads of a Connect request; a `UnaryRequest` and a
 * `StreamRequest` of `@connectrpc/connect` both have it.
 */
export interface InterceptedRequest {
  /** `true` for a streaming call, which is never replayed. */
  readonly stream: boolean;
  /** The method's URL. */
  readonly url: string;
  /** Aborted when the call is cancelled. */
  readonly signal: AbortSignal;
  /** The request headers, where the token goes. */
  readonly header: Headers;
}

/**
 * A Connect interceptor: assignable to the `Interceptor` type of
 * `@connectrpc/connect`, and spelled out so that it needs none of that
 * package's types.
 */
export type AuthInterceptor = <Request extends InterceptedRequest, Response>(
  next: (request: Request) => Promise<Response>,
) => (request: Request) => Promise<Response>;

/** Options of {@linkcode createAuthInterceptor}. */
export interface AuthInterceptorOptions {
  /** Adds its token in `proxy-authorization`, for a proxy in front of the platform. */
  proxyAuthenticator?: Authenticator;
  /**
   * Receives a `retry` event when a call is replayed; must not throw.
   *
   * @param event What happened.
   */
  onEvent?(event: AuthEvent): void;
}

/**
 * Builds a Connect interceptor that sets `<headerKey>: Bearer <token>` (and
 * the proxy token in `proxy-authorization`) on each call, and replays a
 * unary call once, after `refreshCredentials({ rejected })`, when it fails
 * with `Code.Unauthenticated`.
 *
 * > [!NOTE]
 * > Streaming calls get the header but are never replayed: their input
 * > messages can be read only once.
 *
 * Requires whatever the authenticators need.
 *
 * @param authenticator Gives the platform's credentials.
 * @param options A proxy authenticator and an event sink.
 * @returns The interceptor, for a transport's `interceptors`.
 * @throws {TypeError} When an authenticator is not one.
 *
 * @example Adding it to a transport
 * ```ts
 * import assert from "node:assert/strict";
 * import { createRouterTransport } from "@connectrpc/connect";
 * import { createAuthInterceptor, type Authenticator } from "@sesame/auth";
 *
 * const authenticator: Authenticator = {
 *   headerKey: "authorization",
 *   getCredentials: () => Promise.resolve({ accessToken: "a-token" }),
 *   refreshCredentials: () => Promise.resolve({ accessToken: "a-token" }),
 * };
 * const transport = createRouterTransport(() => {}, {
 *   transport: { interceptors: [createAuthInterceptor(authenticator)] },
 * });
 * assert.ok(typeof transport.unary === "function");
 * ```
 */
export function createAuthInterceptor(
  authenticator: Authenticator,
  options: AuthInterceptorOptions = {},
): AuthInterceptor {
  checkAuthenticator(authenticator, "createAuthInterceptor() authenticator");
  const { proxyAuthenticator, onEvent } = options ?? {};
  if (proxyAuthenticator !== undefined) {
    checkAuthenticator(
      proxyAuthenticator,
      "createAuthInterceptor() options.proxyAuthenticator",
    );
  }
  const setToken = (header: Headers, credentials: Credentials) =>
    header.set(authenticator.headerKey, `Bearer ${credentials.accessToken}`);

  return (next) =>
    async function authInterceptor(request) {
      const { signal } = request;
      const [credentials, proxy] = await Promise.all([
        authenticator.getCredentials({ signal }),
        proxyAuthenticator?.getCredentials({ signal }),
      ]);
      setToken(request.header, credentials);
      if (proxy) {
        request.header.set(
          proxyAuthenticator!.headerKey,
          `Bearer ${proxy.accessToken}`,
        );
      }
      try {
        return await next(request);
      } catch (error) {
        if (request.stream || !isUnauthenticated(error)) throw error;
        emitRetry(onEvent, request.url, "Code.Unauthenticated");
        const fresh = await authenticator.refreshCredentials({
          rejected: credentials,
          signal,
        });
        setToken(request.header, fresh);
        return await next(request);
      }
    };
}

/** `Code.Unauthenticated`, the same number in Connect and gRPC. */
const UNAUTHENTICATED = 16;

/**
 * Matched by shape rather than with `ConnectError.from`, so that importing
 * sesame does not load `@connectrpc/connect` for users who never use it.
 */
function isUnauthenticated(error: unknown): boolean {
  return error instanceof Error && error.name === "ConnectError" &&
    (error as { code?: unknown }).code === UNAUTHENTICATED;
}
