/**
 * What a plugin is: a factory or a class that makes an
 * {@linkcode Authenticator} from a config, a client config store and a
 * context.
 *
 * @module
 */

import type { Authenticator } from "../authenticator.ts";
import type { ClientConfigStore } from "../client_config.ts";
import type { AuthContext } from "../context.ts";
import type { PlatformConfig } from "../platform_config.ts";

/**
 * A function that makes an authenticator. A factory written for two
 * arguments keeps working.
 *
 * @example A factory plugin
 * ```ts
 * import type { AuthenticatorFactory } from "@sesame/auth";
 *
 * const factory: AuthenticatorFactory = (config) => ({
 *   headerKey: "authorization",
 *   getCredentials: () => Promise.resolve({ accessToken: config.clientId ?? "" }),
 *   refreshCredentials: () => Promise.resolve({ accessToken: config.clientId ?? "" }),
 * });
 * ```
 */
export type AuthenticatorFactory = (
  config: PlatformConfig,
  store: ClientConfigStore,
  context: AuthContext,
) => Authenticator | Promise<Authenticator>;

/**
 * A class whose instances are authenticators; it is called with `new`.
 *
 * @example A class plugin
 * ```ts
 * import {
 *   type AuthContext,
 *   type AuthenticatorClass,
 *   CachingAuthenticator,
 *   type Credentials,
 *   type PlatformConfig,
 * } from "@sesame/auth";
 *
 * class Fixed extends CachingAuthenticator {
 *   constructor(config: PlatformConfig, _store: unknown, context: AuthContext) {
 *     super({ headerKey: config.authorizationHeader, context });
 *   }
 *
 *   protected fetchCredentials(): Promise<Credentials> {
 *     return Promise.resolve({ accessToken: "t" });
 *   }
 * }
 * const plugin: AuthenticatorClass = Fixed;
 * ```
 */
export type AuthenticatorClass = new (
  config: PlatformConfig,
  store: ClientConfigStore,
  context: AuthContext,
) => Authenticator;

/** A plugin: a factory or a class. */
export type AuthenticatorPlugin = AuthenticatorFactory | AuthenticatorClass;
