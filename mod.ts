/**
 * sesame: credentials for Flyte and any OAuth2-protected API, in Deno.
 *
 * Load a platform config, resolve its auth mode (built in, registered, or
 * discovered from `auth.plugins` in `deno.json`), and get a token that is
 * fetched, cached and refreshed for you.
 *
 * @example Getting a token from an external command
 * ```ts
 * import { getAuthenticator, StaticClientConfigStore } from "@sesame/auth";
 *
 * const authenticator = await getAuthenticator(
 *   { authMode: "external_process", command: ["echo", "a-token"] },
 *   new StaticClientConfigStore({
 *     tokenEndpoint: "https://idp.example.com/token",
 *     authorizationEndpoint: "https://idp.example.com/auth",
 *     redirectUri: "http://localhost:53593/callback",
 *     clientId: "flytectl",
 *   }),
 * );
 * const { accessToken } = await authenticator.getCredentials();
 * console.assert(accessToken === "a-token");
 * ```
 *
 * @module
 */

export type {
  Authenticator,
  Credentials,
  GetCredentialsOptions,
  RefreshCredentialsOptions,
} from "./src/authenticator.ts";
export {
  type ClientConfig,
  type ClientConfigStore,
  StaticClientConfigStore,
} from "./src/client_config.ts";
export {
  type AuthContext,
  type AuthEvent,
  type AuthModeSource,
  createAuthContext,
  createPlatformFetch,
  type DevicePrompt,
  type FetchLike,
} from "./src/context.ts";
export {
  AuthError,
  type AuthErrorCode,
  type AuthErrorOptions,
  CommandError,
  ConfigError,
  PluginContractError,
  PluginInitError,
  PluginLoadError,
  TokenRequestError,
  UnknownAuthModeError,
} from "./src/errors.ts";
export type { PlatformConfig } from "./src/platform_config.ts";

export {
  CachingAuthenticator,
  type CachingAuthenticatorOptions,
  type FetchCredentialsOptions,
} from "./src/authenticators/caching_authenticator.ts";
export {
  CommandAuthenticator,
  type CommandAuthenticatorOptions,
  getProxyAuthenticator,
} from "./src/authenticators/command_authenticator.ts";
export { ClientCredentialsAuthenticator } from "./src/authenticators/client_credentials_authenticator.ts";
export { DeviceCodeAuthenticator } from "./src/authenticators/device_code_authenticator.ts";
export { PkceAuthenticator } from "./src/authenticators/pkce_authenticator.ts";

export {
  type CredentialLock,
  type CredentialStore,
  MemoryCredentialStore,
} from "./src/store/credential_store.ts";

export type {
  AuthenticatorClass,
  AuthenticatorFactory,
  AuthenticatorPlugin,
} from "./src/resolve/plugin.ts";
export {
  BUILTIN_AUTH_MODES,
  isBuiltinAuthMode,
} from "./src/resolve/builtin_modes.ts";
export {
  AuthenticatorRegistry,
  registerAuthenticatorPlugin,
  registry,
} from "./src/resolve/registry.ts";
