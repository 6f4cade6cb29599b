/**
 * sesame: credentials for Flyte and any OAuth2-protected API, in Deno.
 *
 * Load a platform config, resolve its auth mode (built in, registered, or
 * discovered from `auth.plugins` in `deno.json`), and get a token that is
 * fetched, cached and refreshed for you.
 *
 * @example Getting a token from an external command
 * ```ts
 * import assert from "node:assert/strict";
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
 * assert.ok(accessToken === "a-token");
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
  type RemoteClientConfig,
  RemoteClientConfigStore,
  type RemoteClientConfigStoreOptions,
} from "./src/config/remote_client_config_store.ts";
export {
  OidcClientConfigStore,
  type OidcClientConfigStoreOptions,
} from "./src/config/oidc_client_config_store.ts";
export {
  type AuthContext,
  type AuthEvent,
  type AuthModeSource,
  createAuthContext,
  createPlatformFetch,
  type DevicePrompt,
  type FetchLike,
  type PlatformFetch,
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
export {
  ClientCredentialsAuthenticator,
  type ClientCredentialsAuthenticatorOptions,
} from "./src/authenticators/client_credentials_authenticator.ts";
export {
  DeviceCodeAuthenticator,
  type DeviceCodeAuthenticatorOptions,
} from "./src/authenticators/device_code_authenticator.ts";
export {
  PkceAuthenticator,
  type PkceAuthenticatorOptions,
} from "./src/authenticators/pkce_authenticator.ts";

export {
  type CredentialLock,
  type CredentialStore,
  credentialStoreKey,
  MemoryCredentialStore,
} from "./src/store/credential_store.ts";
export {
  FileCredentialStore,
  type FileCredentialStoreOptions,
} from "./src/store/file_credential_store.ts";

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
export {
  type AuthModeListing,
  type AuthModeResolution,
  DEFAULT_AUTH_MODE,
  getAuthenticator,
  listAuthModes,
  resolveAuthMode,
  type ResolveOptions,
} from "./src/resolve/resolver.ts";

export {
  type LoadedPlatformConfig,
  loadPlatformConfig,
  type LoadPlatformConfigOptions,
  loadPlatformConfigWithSources,
  type PlatformConfigSetting,
  type PlatformConfigSource,
  type PlatformConfigSources,
} from "./src/config/load_platform_config.ts";
export {
  type AuthFetchOptions,
  createAuthFetch,
} from "./src/transport/auth_fetch.ts";
export {
  type AuthInterceptor,
  type AuthInterceptorOptions,
  createAuthInterceptor,
  type InterceptedRequest,
} from "./src/transport/auth_interceptor.ts";
