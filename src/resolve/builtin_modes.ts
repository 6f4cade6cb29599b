/**
 * The built-in auth mode names, flytekit's, and the classes they make.
 *
 * @module
 */

import type { AuthenticatorClass } from "./plugin.ts";
import { ClientCredentialsAuthenticator } from "../authenticators/client_credentials_authenticator.ts";
import { CommandAuthenticator } from "../authenticators/command_authenticator.ts";
import { DeviceCodeAuthenticator } from "../authenticators/device_code_authenticator.ts";
import { PkceAuthenticator } from "../authenticators/pkce_authenticator.ts";

/**
 * The built-in mode names, lower-case, and the class each one constructs.
 * These names, and no others, are built in; they never read `deno.json`.
 *
 * @example Looking up the class of a mode
 * ```ts
 * import assert from "node:assert/strict";
 * import { BUILTIN_AUTH_MODES } from "@sesame/auth";
 *
 * assert.ok(BUILTIN_AUTH_MODES.get("deviceflow")?.name === "DeviceCodeAuthenticator");
 * ```
 */
export const BUILTIN_AUTH_MODES: ReadonlyMap<string, AuthenticatorClass> =
  new Map<string, AuthenticatorClass>([
    ["standard", PkceAuthenticator],
    ["pkce", PkceAuthenticator],
    ["basic", ClientCredentialsAuthenticator],
    ["client_credentials", ClientCredentialsAuthenticator],
    ["clientsecret", ClientCredentialsAuthenticator],
    ["external_process", CommandAuthenticator],
    ["externalcommand", CommandAuthenticator],
    ["deviceflow", DeviceCodeAuthenticator],
  ]);

/**
 * Tells whether a mode name is built in, in any case.
 *
 * @param mode The mode name.
 * @returns Whether it is built in.
 *
 * @example Telling built-in names apart
 * ```ts
 * import assert from "node:assert/strict";
 * import { isBuiltinAuthMode } from "@sesame/auth";
 *
 * assert.ok(isBuiltinAuthMode("ClientSecret"));
 * assert.ok(!isBuiltinAuthMode("gcp"));
 * ```
 */
export function isBuiltinAuthMode(mode: string): boolean {
  return BUILTIN_AUTH_MODES.has(mode.toLowerCase());
}
